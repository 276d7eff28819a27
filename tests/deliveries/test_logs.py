"""The logs page: columns, filters, keyset pagination, header, permissions."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deliveries import logs
from tests.deliveries.logs_factories import make_attempt, make_attempts, make_delivery

NOW = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)


def logs_url(hook, query=""):
    return f"/w/acme/settings/integrations/webhooks/{hook.pk}/logs/{query}"


def row_ids(html):
    return [int(pk) for pk in re.findall(r'data-attempt="(\d+)"', html)]


def cursor_link(html, rel):
    match = re.search(rf'rel="{rel}" href="\?([^"]*)"', html)
    return match and "?" + match.group(1).replace("&amp;", "&")


@pytest.fixture
def hook(make_webhook):
    return make_webhook("https://receiver.example.com/hooks", name="Orders hook")


def test_the_page_lists_attempts_newest_first_with_every_column(alice_client, hook):
    delivery = make_delivery(hook, status="pending", event_type="content.viewed")
    first = make_attempt(hook, delivery, started_at=NOW - timedelta(minutes=5), succeeded=False,
                         status=None, error_kind="timeout", error_message="Timed out after 30 s",
                         duration_ms=30001)
    second = make_attempt(hook, delivery, started_at=NOW - timedelta(minutes=4), succeeded=True,
                          trigger="retry", duration_ms=1234)
    html = alice_client.get(logs_url(hook)).content.decode()

    assert row_ids(html) == [second.pk, first.pk]
    start, end = html.index(f'data-attempt="{second.pk}"'), html.index(f'data-attempt="{first.pk}"')
    newest = html[start:end]
    assert "14 Mar, 15:26:00" in newest
    assert "content.viewed" in newest
    assert delivery.message_id in newest
    assert "#2" in newest
    assert "↻ Retry" in newest
    assert "HTTP 200" in newest
    assert "1,234 ms" in newest
    oldest = html[html.index(f'data-attempt="{first.pk}"'):]
    assert "Timeout" in oldest and "#1" in oldest and "30,001 ms" in oldest


def test_the_trigger_column_tells_event_retry_resend_and_test_apart(alice_client, hook):
    for trigger in ["event", "retry", "resend", "test"]:
        make_attempt(hook, trigger=trigger)
    html = alice_client.get(logs_url(hook)).content.decode()
    for label in [">Event<", "↻ Retry", "↺ Resend", ">Test<"]:
        assert label in html


def test_the_header_shows_name_status_url_chart_rate_and_retention(alice_client, hook, settings):
    settings.WEBHOOKS_LOG_RETENTION_DAYS = 14
    now = timezone.now()
    make_attempts(hook, 3, start=now - timedelta(minutes=1), succeeded=True)
    make_attempt(hook, started_at=now - timedelta(minutes=2), succeeded=False)
    html = alice_client.get(logs_url(hook)).content.decode()
    assert "<h1" in html and "Orders hook" in html
    assert '<span class="badge badge-ok">Enabled</span>' in html
    assert "https://receiver.example.com/hooks" in html
    assert 'class="hourly-chart"' in html and html.count('<g class="bar"') == 24
    assert 'data-success-rate="75"' in html  # 3 of 4
    assert "3 of 4 attempts" in html
    assert "Logs are kept for 14 days." in html


def test_fifty_a_page_with_older_and_newer_links_and_nothing_skipped(alice_client, hook):
    attempts = make_attempts(hook, 120, start=NOW)
    newest_first = [a.pk for a in attempts]  # make_attempts goes back in time

    page1 = alice_client.get(logs_url(hook)).content.decode()
    assert row_ids(page1) == newest_first[:50]
    assert cursor_link(page1, "prev") is None
    older = cursor_link(page1, "next")

    page2 = alice_client.get(logs_url(hook, older)).content.decode()
    assert row_ids(page2) == newest_first[50:100]
    page3 = alice_client.get(logs_url(hook, cursor_link(page2, "next"))).content.decode()
    assert row_ids(page3) == newest_first[100:]
    assert cursor_link(page3, "next") is None

    back = alice_client.get(logs_url(hook, cursor_link(page3, "prev"))).content.decode()
    assert row_ids(back) == newest_first[50:100]
    top = alice_client.get(logs_url(hook, cursor_link(back, "prev"))).content.decode()
    assert row_ids(top) == newest_first[:50]
    assert cursor_link(top, "prev") is None  # back at the top, a first page again


def test_rows_sharing_one_timestamp_are_neither_skipped_nor_repeated(hook):
    same = [make_attempt(hook, started_at=NOW) for _ in range(7)]
    seen, cursor = [], None
    while True:
        page = logs.page(hook.pk, logs.LogFilters(), cursor, size=3)
        seen += [a.pk for a in page.attempts]
        if not page.older:
            break
        cursor = logs.Cursor.decode(page.older)
    assert seen == sorted((a.pk for a in same), reverse=True)


def test_paging_never_uses_offset_nor_counts_the_table(alice_client, hook):
    attempts = make_attempts(hook, 60, start=NOW)
    cursor = logs.Cursor(attempts[49].started_at, attempts[49].pk).encode()
    with CaptureQueriesContext(connection) as queries:
        alice_client.get(logs_url(hook, f"?cursor={cursor}"))
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert not any("OFFSET" in s for s in sql)
    page_queries = [s for s in sql if "ORDER BY" in s and "DELIVERIES_ATTEMPT" in s
                    and "STARTED_AT" in s and "COUNT(" not in s]
    assert len(page_queries) == 1 and "LIMIT 51" in page_queries[0]
    # The only COUNT is the chart's, grouped and bounded to the last 24 hours.
    counts = [s for s in sql if "COUNT(" in s]
    assert len(counts) == 1 and "GROUP BY" in counts[0] and "STARTED_AT\" >=" in counts[0]


def test_a_page_runs_a_fixed_number_of_queries(alice_client, hook, django_assert_max_num_queries):
    make_attempts(hook, 5, start=NOW)
    with django_assert_max_num_queries(8):
        alice_client.get(logs_url(hook))
    make_attempts(hook, 100, start=NOW - timedelta(hours=1))
    with django_assert_max_num_queries(8):
        alice_client.get(logs_url(hook))


def test_a_broken_cursor_shows_the_newest_page_with_a_note(alice_client, hook):
    newest = make_attempts(hook, 3, start=NOW)[0]
    html = alice_client.get(logs_url(hook, "?cursor=not-a-cursor")).content.decode()
    assert row_ids(html)[0] == newest.pk
    assert "That page link has expired" in html


def test_cursors_round_trip_to_the_microsecond():
    cursor = logs.Cursor(datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 42, newer=True)
    assert logs.Cursor.decode(cursor.encode()) == cursor
    assert logs.Cursor.decode("bz0xLjIuMw") is None  # "o=1.2.3"
    assert logs.Cursor.decode("") is None


# --- filters ------------------------------------------------------------------------------------


def test_the_failed_filter_shows_failures_only(alice_client, hook):
    ok = make_attempt(hook, started_at=NOW, succeeded=True)
    failed = make_attempt(hook, started_at=NOW - timedelta(minutes=1), succeeded=False)
    assert row_ids(alice_client.get(logs_url(hook, "?result=failed")).content.decode()) == [
        failed.pk
    ]
    assert row_ids(alice_client.get(logs_url(hook, "?result=succeeded")).content.decode()) == [
        ok.pk
    ]


def test_the_event_type_filter_offers_the_webhooks_topics(alice_client, hook):
    viewed = make_attempt(hook, started_at=NOW, event_type="content.viewed")
    make_attempt(hook, started_at=NOW, event_type="form.submitted")
    html = alice_client.get(logs_url(hook, "?event_type=content.viewed")).content.decode()
    assert row_ids(html) == [viewed.pk]
    assert '<option value="content.viewed" selected>' in html
    assert '<option value="form.submitted">' in html


def test_the_date_range_is_inclusive_and_in_utc(alice_client, hook):
    inside = make_attempt(hook, started_at=datetime(2025, 3, 14, 10, 0, 59, tzinfo=UTC))
    make_attempt(hook, started_at=datetime(2025, 3, 14, 10, 1, 0, tzinfo=UTC))
    make_attempt(hook, started_at=datetime(2025, 3, 14, 8, 59, 59, tzinfo=UTC))
    query = "?since=2025-03-14T09:00&until=2025-03-14T10:00"
    assert row_ids(alice_client.get(logs_url(hook, query)).content.decode()) == [inside.pk]


def test_a_message_id_finds_every_attempt_of_that_delivery(alice_client, hook):
    delivery = make_delivery(hook, status="failed")
    attempts = [make_attempt(hook, delivery, started_at=NOW - timedelta(minutes=i),
                             succeeded=False) for i in range(3)]
    make_attempts(hook, 5, start=NOW)
    html = alice_client.get(logs_url(hook, f"?message_id={delivery.message_id}")).content.decode()
    assert row_ids(html) == [a.pk for a in attempts]


def test_a_malformed_message_id_is_explained_and_ignored(alice_client, hook):
    make_attempts(hook, 2, start=NOW)
    html = alice_client.get(logs_url(hook, "?message_id=order-42")).content.decode()
    assert "A message id looks like msg_" in html
    assert len(row_ids(html)) == 2


def test_from_after_to_is_refused(alice_client, hook):
    html = alice_client.get(
        logs_url(hook, "?since=2025-03-14T10:00&until=2025-03-14T09:00")
    ).content.decode()
    assert "“To” must be after “From”." in html


def test_filters_stay_in_the_pagination_links(alice_client, hook):
    make_attempts(hook, 55, start=NOW, succeeded=False)
    html = alice_client.get(logs_url(hook, "?result=failed&event_type=")).content.decode()
    older = cursor_link(html, "next")
    assert older.startswith("?result=failed&cursor=")
    assert len(row_ids(alice_client.get(logs_url(hook, older)).content.decode())) == 5


def test_no_match_says_so(alice_client, hook):
    make_attempts(hook, 2, start=NOW, succeeded=True)
    html = alice_client.get(logs_url(hook, "?result=failed")).content.decode()
    assert "No attempts match these filters" in html


# --- access -------------------------------------------------------------------------------------


def test_members_read_the_logs_and_outsiders_get_404(bob_client, charlie_client, hook):
    attempt = make_attempt(hook)
    assert bob_client.get(logs_url(hook)).status_code == 200
    assert bob_client.get(logs_url(hook, f"{attempt.pk}/")).status_code == 200
    assert charlie_client.get(logs_url(hook)).status_code == 404
    assert charlie_client.get(logs_url(hook, f"{attempt.pk}/")).status_code == 404
    # Through charlie's own workspace slug too.
    assert charlie_client.get(
        f"/w/globex/settings/integrations/webhooks/{hook.pk}/logs/"
    ).status_code == 404


def test_members_see_no_admin_actions(bob_client, hook):
    make_attempt(hook)
    html = bob_client.get(logs_url(hook)).content.decode()
    assert "Retry failed…" not in html
    assert "Send test event" not in html


def test_deleted_webhooks_have_no_logs(alice_client, hook):
    from subscriptions.services import soft_delete

    soft_delete(hook)
    assert alice_client.get(logs_url(hook)).status_code == 404


def test_an_attempt_of_another_webhook_is_404(alice_client, hook, make_webhook):
    other = make_webhook("https://other.example.com/")
    attempt = make_attempt(other)
    assert alice_client.get(logs_url(hook, f"{attempt.pk}/")).status_code == 404


def test_the_logs_need_a_login(client, hook):
    response = client.get(logs_url(hook))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_the_page_query_reads_only_row_columns(hook):
    make_attempt(hook, response_body="x" * 1000)
    page = logs.page(hook.pk, logs.LogFilters())
    deferred = page.attempts[0].get_deferred_fields()
    assert {"response_body", "request_body", "request_headers"} <= deferred

