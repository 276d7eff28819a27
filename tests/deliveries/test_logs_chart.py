"""The 24 h chart: one grouped query, 24 clock hours, readable without colour."""

import re
from datetime import UTC, datetime

from deliveries import charts
from deliveries.services import success_rates
from tests.deliveries.logs_factories import make_attempt

NOW = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)


def at(hour, minute=0, day=14):
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def test_hourly_counts_are_24_clock_hours_ending_with_the_current_one(make_webhook,
                                                                       django_assert_num_queries):
    hook = make_webhook("https://a.example/")
    make_attempt(hook, started_at=at(14, 5), succeeded=True)
    make_attempt(hook, started_at=at(14, 59), succeeded=True)
    make_attempt(hook, started_at=at(14, 30), succeeded=False)
    make_attempt(hook, started_at=at(15, 10), succeeded=False)
    make_attempt(hook, started_at=at(16, 10, day=13), succeeded=True)  # the first hour
    make_attempt(hook, started_at=at(15, 10, day=13), succeeded=True)  # before the window
    make_attempt(hook, started_at=at(15, 0), succeeded=False, trigger="test")  # tests excluded
    with django_assert_num_queries(1):
        hours = charts.hourly_counts(hook.pk, NOW)
    assert len(hours) == 24
    assert hours[0].start == at(16, day=13) and hours[-1].start == at(15)
    assert (hours[0].succeeded, hours[0].failed) == (1, 0)
    assert (hours[-2].succeeded, hours[-2].failed) == (2, 1)  # 14:00–15:00
    assert (hours[-1].succeeded, hours[-1].failed) == (0, 1)
    assert sum(h.total for h in hours) == 5


def test_the_rate_of_last_24h_matches_the_lists_success_rate(make_webhook):
    hook = make_webhook("https://a.example/")
    make_attempt(hook, started_at=at(15, 45, day=13), succeeded=False)  # in 24 h, not charted
    make_attempt(hook, started_at=at(10), succeeded=True)
    make_attempt(hook, started_at=at(11), succeeded=True)
    make_attempt(hook, started_at=at(15, 20, day=13), succeeded=True)  # older than 24 h
    last = charts.last_24h(hook.pk, NOW)
    expected = success_rates([hook.pk], now=NOW)[hook.pk]
    assert (last.rate.attempts, last.rate.succeeded) == (expected.attempts, expected.succeeded)
    assert (last.rate.attempts, last.rate.succeeded, last.rate.percent) == (3, 2, 67)
    assert sum(h.total for h in last.hours) == 2


def test_the_svg_has_a_titled_bar_per_hour_a_hatched_failure_pattern_and_a_legend(make_webhook):
    hook = make_webhook("https://a.example/")
    for minute in range(12):
        make_attempt(hook, started_at=at(14, minute), succeeded=True)
    for minute in range(3):
        make_attempt(hook, started_at=at(14, 30 + minute), succeeded=False)
    svg = str(charts.chart_svg(hook, now=NOW))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(re.findall(r'<g class="bar"', svg)) == 24
    assert "<title>14:00–15:00: 12 succeeded, 3 failed</title>" in svg
    assert "<title>03:00–04:00: 0 succeeded, 0 failed</title>" in svg
    assert f'<pattern id="chart-{hook.pk}-hatch"' in svg
    assert f'fill="url(#chart-{hook.pk}-hatch)"' in svg  # failures: hatched, not colour alone
    assert ">Succeeded</text>" in svg and ">Failed (hatched)</text>" in svg
    labels = re.findall(r'text-anchor="middle" font-size="10" fill="#5f6b7a">(\d\d:\d\d)<', svg)
    assert labels == ["18:00", "00:00", "06:00", "12:00"]
    assert 'role="img"' in svg
    assert ('aria-label="Deliveries per hour over the last 24 hours (UTC): 12 succeeded, '
            '3 failed. Busiest hour 14:00–15:00 with 15 attempts.') in svg


def test_an_empty_day_says_so(make_webhook):
    hook = make_webhook("https://a.example/")
    svg = str(charts.chart_svg(hook, now=NOW))
    assert 'aria-label="Deliveries per hour over the last 24 hours: no attempts."' in svg
    assert svg.count('class="none"') == 24


def test_the_y_axis_rounds_up_to_a_readable_number():
    assert [charts.nice_ceiling(n) for n in (0, 3, 7, 12, 51, 180, 1001)] == [
        4, 4, 8, 20, 60, 200, 2000,
    ]
