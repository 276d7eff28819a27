"""The webhook's last 24 hours as an inline SVG: successes and failures per hour.

Server-rendered, no JavaScript and no chart library: 24 stacked bars (one per clock hour, UTC,
the last one being the hour in progress). Readable without colour: failures are hatched as well
as red, the legend names both, every bar has a <title> ("14:00–15:00: 12 succeeded, 3
failed") and the whole chart an aria-label summary. Test sends are left out, as in the list's
success rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from deliveries.models import Attempt, Delivery
from deliveries.services import SuccessRate

HOURS = 24

# Geometry, in SVG user units (the SVG scales to its container's width).
WIDTH, HEIGHT = 720, 168
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 50
OK_COLOUR = "#1a9a5c"
ERR_COLOUR = "#c8321f"
ERR_SOFT = "#fbd9d4"


@dataclass(frozen=True)
class HourCount:
    start: datetime
    succeeded: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed

    @property
    def label(self) -> str:
        end = self.start + timedelta(hours=1)
        return f"{self.start:%H:%M}–{end:%H:%M}"


def first_hour(now: datetime) -> datetime:
    now = now.astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)


def _counts_since(webhook_id: int, since: datetime) -> dict[datetime, list[int]]:
    """{hour: [succeeded, failed]} of the webhook's attempts since `since`, tests left out:
    one grouped query (TruncHour works on SQLite and PostgreSQL)."""
    rows = (
        Attempt.objects.filter(webhook_id=webhook_id, started_at__gte=since)
        .exclude(trigger=Delivery.Trigger.TEST)
        .annotate(hour=TruncHour("started_at", tzinfo=UTC))
        .values("hour", "succeeded")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[datetime, list[int]] = {}
    for row in rows:
        hour = row["hour"]
        hour = hour.replace(tzinfo=UTC) if timezone.is_naive(hour) else hour.astimezone(UTC)
        pair = counts.setdefault(hour, [0, 0])
        pair[0 if row["succeeded"] else 1] += row["n"]
    return counts


def _hours(counts, now) -> list[HourCount]:
    start = first_hour(now)
    hours = []
    for i in range(HOURS):
        hour = start + timedelta(hours=i)
        ok, failed = counts.get(hour, (0, 0))
        hours.append(HourCount(hour, ok, failed))
    return hours


def hourly_counts(webhook_id: int, now: datetime | None = None) -> list[HourCount]:
    """24 clock hours (UTC), oldest first, the last one containing `now`; one grouped query."""
    now = now or timezone.now()
    return _hours(_counts_since(webhook_id, first_hour(now)), now)


@dataclass(frozen=True)
class Last24h:
    hours: list[HourCount]
    rate: SuccessRate  # over exactly the last 24 h, as services.success_rates() counts it


def last_24h(webhook_id: int, now: datetime | None = None) -> Last24h:
    """The chart's 24 clock hours and the 24 h success rate, from one grouped query.

    The query starts at now - 24 h (the success rate's window); the chart shows the clock
    hours from first_hour(now), so the part-hour before that counts in the rate only."""
    now = now or timezone.now()
    counts = _counts_since(webhook_id, now - timedelta(hours=24))
    ok = sum(pair[0] for pair in counts.values())
    failed = sum(pair[1] for pair in counts.values())
    return Last24h(_hours(counts, now), SuccessRate(ok + failed, ok))


def nice_ceiling(value: int) -> int:
    """The y-axis top: 2, 4, 6, 8 or 10 times a power of ten, at least `value` (and at least
    4), so the middle gridline is a whole number too."""
    value = max(value, 4)
    magnitude = 1
    while True:
        for step in (2, 4, 6, 8, 10):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def summary(hours: list[HourCount]) -> str:
    ok = sum(h.succeeded for h in hours)
    failed = sum(h.failed for h in hours)
    if not ok and not failed:
        return "Deliveries per hour over the last 24 hours: no attempts."
    text = (
        f"Deliveries per hour over the last 24 hours (UTC): {ok:,} succeeded, {failed:,} failed."
    )
    busiest = max(hours, key=lambda h: h.total)
    text += f" Busiest hour {busiest.label} with {busiest.total:,} attempts."
    worst = max(hours, key=lambda h: h.failed)
    if worst.failed:
        text += f" Most failures {worst.label}: {worst.failed:,}."
    return text


def render_svg(hours: list[HourCount], *, chart_id: str = "chart") -> SafeString:
    """The SVG for `hours` (any number of bars); every text in it is escaped."""
    top = nice_ceiling(max((h.total for h in hours), default=0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(hours), 1)
    bar_w = slot * 0.68
    base_y = TOP + plot_h
    hatch = f"{escape(chart_id)}-hatch"

    parts = [
        f'<svg class="hourly-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(summary(hours))}" xmlns="http://www.w3.org/2000/svg" '
        f'preserveAspectRatio="xMidYMid meet">',
        "<defs>",
        f'<pattern id="{hatch}" patternUnits="userSpaceOnUse" width="6" height="6" '
        f'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{ERR_SOFT}"/>'
        f'<rect width="3" height="6" fill="{ERR_COLOUR}"/></pattern>',
        "</defs>",
    ]
    # Grid: 0, half and top, labelled on the left.
    for value in (0, top // 2, top):
        y = base_y - plot_h * value / top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#e3e6eb" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 3.5:.1f}" text-anchor="end" font-size="10" '
            f'fill="#5f6b7a">{value:,}</text>'
        )
    for i, hour in enumerate(hours):
        x = LEFT + i * slot + (slot - bar_w) / 2
        ok_h = plot_h * hour.succeeded / top
        err_h = plot_h * hour.failed / top
        title = escape(f"{hour.label}: {hour.succeeded:,} succeeded, {hour.failed:,} failed")
        parts.append(f'<g class="bar" data-hour="{hour.start:%H}"><title>{title}</title>')
        # A full-height transparent target, so every hour shows its title on hover.
        parts.append(
            f'<rect x="{LEFT + i * slot:.1f}" y="{TOP}" width="{slot:.1f}" height="{plot_h}" '
            f'fill="transparent"/>'
        )
        if hour.succeeded:
            parts.append(
                f'<rect class="ok" x="{x:.1f}" y="{base_y - ok_h:.1f}" width="{bar_w:.1f}" '
                f'height="{ok_h:.1f}" fill="{OK_COLOUR}"/>'
            )
        if hour.failed:
            parts.append(
                f'<rect class="failed" x="{x:.1f}" y="{base_y - ok_h - err_h:.1f}" '
                f'width="{bar_w:.1f}" height="{err_h:.1f}" fill="url(#{hatch})" '
                f'stroke="{ERR_COLOUR}" stroke-width="1"/>'
            )
        if not hour.total:
            parts.append(
                f'<rect class="none" x="{x:.1f}" y="{base_y - 1:.1f}" width="{bar_w:.1f}" '
                f'height="1" fill="#cfd4dc"/>'
            )
        parts.append("</g>")
        if hour.start.hour % 6 == 0:
            cx = LEFT + i * slot + slot / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{base_y + 15}" text-anchor="middle" font-size="10" '
                f'fill="#5f6b7a">{hour.start:%H:%M}</text>'
            )
    # Legend: words as well as swatches.
    ly = HEIGHT - 12
    parts.append(
        f'<g class="legend" font-size="11" fill="#1f2430">'
        f'<rect x="{LEFT}" y="{ly - 9}" width="11" height="11" fill="{OK_COLOUR}"/>'
        f'<text x="{LEFT + 16}" y="{ly}">Succeeded</text>'
        f'<rect x="{LEFT + 96}" y="{ly - 9}" width="11" height="11" fill="url(#{hatch})" '
        f'stroke="{ERR_COLOUR}" stroke-width="1"/>'
        f'<text x="{LEFT + 112}" y="{ly}">Failed (hatched)</text>'
        f'<text x="{WIDTH - RIGHT}" y="{ly}" text-anchor="end" fill="#5f6b7a">'
        f"Attempts per hour, UTC</text></g>"
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - numbers and escaped text only


def chart_svg(webhook, now=None) -> SafeString:
    """The webhook page's chart (safe to output as is)."""
    return render_svg(hourly_counts(webhook.pk, now), chart_id=f"chart-{webhook.pk}")
