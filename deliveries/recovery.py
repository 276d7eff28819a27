"""Getting failed deliveries delivered after all: resend one, retry all failed since a time,
replay what failed during an outage.

A failed delivery retried here goes back to pending with its attempt count and message id
(webhook-id) unchanged; its next attempt is logged with the trigger "resend". Bulk retries run
as an RQ job (jobs.retry_failed_since) in batches of 1,000 and report their progress in Redis,
so the page can show a progress line; the database stays the source of truth (a lost progress
key loses the progress line, never a delivery).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from deliveries.models import Attempt, Delivery
from subscriptions.models import Webhook

log = logging.getLogger("deliveries")

BATCH_SIZE = 1000
# The confirm page counts at most this many (then says "more than"): the count stays bounded.
COUNT_LIMIT = 100_000
PROGRESS_KEY = "hookshot:retry-failed:{}"
LATEST_KEY = "hookshot:retry-failed:latest:{}"
PROGRESS_TTL = 24 * 3600
# After a webhook is switched back on, its logs page offers the replay for this long.
REPLAY_OFFER_FOR = timedelta(days=7)
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)  # "since the start" for a webhook never successful


class RecoveryError(Exception):
    """Something the user should be told in words (e.g. the queue is unreachable)."""


# --- resend one -----------------------------------------------------------------------------


def can_resend(delivery: Delivery) -> bool:
    """A delivery a worker is sending right now is left alone (it would be sent twice)."""
    return delivery.status != Delivery.Status.SENDING


def resend(delivery: Delivery) -> Delivery:
    from deliveries import services

    if not can_resend(delivery):
        raise RecoveryError("This delivery is being sent right now; wait for its result.")
    return services.resend(delivery)


# --- retry all failed since -------------------------------------------------------------------


def failed_since(webhook_id: int, since: datetime, until: datetime | None = None):
    """The webhook's failed deliveries created at or after `since` (and before `until`);
    test sends are not retried. Served by delivery_failed_idx."""
    qs = Delivery.objects.filter(
        webhook_id=webhook_id,
        status=Delivery.Status.FAILED,
        is_test=False,
        created_at__gte=since,
    )
    if until is not None:
        qs = qs.filter(created_at__lt=until)
    return qs


def count_failed_since(webhook_id: int, since: datetime, until: datetime | None = None) -> int:
    """How many would be retried, counted up to COUNT_LIMIT + 1 (the count reads the index
    range and stops there)."""
    return failed_since(webhook_id, since, until).order_by()[: COUNT_LIMIT + 1].count()


@dataclass
class Progress:
    job_key: str
    webhook_id: int
    state: str  # queued, running, done, failed
    done: int
    total: int
    since: str
    started_at: str = ""
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        return min(99, round(100 * self.done / self.total)) if self.total else 0

    @property
    def since_datetime(self) -> datetime | None:
        return parse_datetime(self.since) if self.since else None


def _redis():
    from deliveries.services import fail_fast_redis

    return fail_fast_redis()


def save_progress(progress: Progress) -> None:
    from redis.exceptions import RedisError

    try:
        _redis().set(
            PROGRESS_KEY.format(progress.job_key),
            json.dumps(progress.__dict__),
            ex=PROGRESS_TTL,
        )
    except RedisError as exc:  # the progress line is a courtesy; the work goes on
        log.warning("retry progress not saved (%s)", exc)


def get_progress(job_key: str) -> Progress | None:
    from redis.exceptions import RedisError

    try:
        raw = _redis().get(PROGRESS_KEY.format(job_key))
    except RedisError:
        return None
    if not raw:
        return None
    try:
        return Progress(**json.loads(raw))
    except (TypeError, ValueError):
        return None


def latest_progress(webhook_id: int) -> Progress | None:
    """The webhook's most recent bulk retry (for 24 h), or None; never raises."""
    from redis.exceptions import RedisError

    from deliveries.services import redis_backing_off

    if redis_backing_off():
        return None
    try:
        job_key = _redis().get(LATEST_KEY.format(webhook_id))
    except RedisError:
        return None
    return get_progress(job_key.decode()) if job_key else None


def start_retry_failed_since(webhook: Webhook, since: datetime,
                             until: datetime | None = None) -> Progress:
    """Queue the bulk retry as a background job; returns its progress (state queued).

    Raises RecoveryError when the queue (Redis) cannot be reached: nothing was changed then."""
    from redis.exceptions import RedisError

    from deliveries import jobs
    from deliveries.services import QUEUE_NAME

    job_key = uuid.uuid4().hex
    progress = Progress(
        job_key=job_key,
        webhook_id=webhook.pk,
        state="queued",
        done=0,
        total=count_failed_since(webhook.pk, since, until),
        since=since.isoformat(),
        started_at=timezone.now().isoformat(),
    )
    try:
        from rq import Queue

        conn = _redis()
        pipe = conn.pipeline()
        pipe.set(PROGRESS_KEY.format(job_key), json.dumps(progress.__dict__), ex=PROGRESS_TTL)
        pipe.set(LATEST_KEY.format(webhook.pk), job_key, ex=PROGRESS_TTL)
        pipe.execute()
        Queue(QUEUE_NAME, connection=conn).enqueue(
            jobs.retry_failed_since,
            webhook.pk,
            since.isoformat(),
            job_key,
            until.isoformat() if until else None,
            job_timeout=3600,
            result_ttl=3600,
            failure_ttl=7 * 86400,
        )
    except RedisError as exc:
        log.warning("retry-failed-since not queued, Redis unavailable (%s)", exc)
        raise RecoveryError(
            "The job queue is unreachable right now, so nothing was retried. Try again in a "
            "minute; if it keeps failing, tell your operator."
        )
    return progress


def _as_datetime(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return parsed


def retry_failed_since(webhook_id: int, since, job_key: str = "", until=None,
                       batch_size: int = BATCH_SIZE) -> int:
    """Reset the webhook's failed deliveries created since `since` (before `until`, or before
    this call) to pending, batch by batch, and wake its drain. Returns how many were reset.

    Deliveries created after the call started are not touched, so a retry that fails again
    meanwhile is not picked up twice. Progress is written to Redis after every batch."""
    from deliveries.services import wake

    since = _as_datetime(since)
    until = _as_datetime(until) or timezone.now()
    progress = (get_progress(job_key) if job_key else None) or Progress(
        job_key=job_key, webhook_id=webhook_id, state="running", done=0,
        total=count_failed_since(webhook_id, since, until), since=since.isoformat(),
    )
    progress.state = "running"
    if job_key:
        save_progress(progress)
    # A disabled webhook's drain sends nothing but tests: its deliveries wait for the switch.
    enabled = Webhook.objects.filter(
        pk=webhook_id, status=Webhook.Status.ENABLED, deleted_at__isnull=True
    ).exists()
    done = 0
    last = None  # keyset (created_at, id) of the last row handled
    try:
        while True:
            batch = failed_since(webhook_id, since, until)
            if last is not None:
                batch = batch.filter(created_at__gte=last[0]).exclude(
                    created_at=last[0], id__lte=last[1]
                )
            rows = list(batch.order_by("created_at", "id").values_list("created_at", "id")[
                :batch_size
            ])
            if not rows:
                break
            with transaction.atomic():
                changed = Delivery.objects.filter(
                    pk__in=[pk for _, pk in rows], status=Delivery.Status.FAILED
                ).update(
                    status=Delivery.Status.PENDING,
                    next_attempt_at=timezone.now(),
                    next_trigger=Delivery.Trigger.RESEND,
                    lease_expires_at=None,
                )
            done += changed
            last = rows[-1]
            progress.done = done
            progress.total = max(progress.total, done)
            if job_key:
                save_progress(progress)
            if enabled:
                # The first batch can be on its way while the next ones are reset.
                wake([webhook_id])
    except Exception as exc:
        progress.state, progress.error = "failed", str(exc)[:200]
        if job_key:
            save_progress(progress)
        raise
    progress.state = "done"
    progress.total = done
    if job_key:
        save_progress(progress)
    log.info("retry failed since webhook=%s since=%s reset=%s", webhook_id, since, done)
    return done


# --- replay after an outage -----------------------------------------------------------------


@dataclass(frozen=True)
class ReplayOffer:
    """Deliveries that failed while the webhook was down: created in [since, until)."""

    since: datetime
    until: datetime
    count: int
    still_disabled: bool


def outage_window(webhook: Webhook, now=None) -> tuple[datetime, datetime] | None:
    """When the webhook's last outage started and ended, or None.

    While it is auto-disabled: from failing_since (or the moment it was turned off) to now.
    Once switched back on, set_enabled() has cleared failing_since, so the start is read from
    the log instead: the last successful attempt before it was switched on (attempts are never
    changed afterwards). The offer lasts REPLAY_OFFER_FOR after the switch."""
    now = now or timezone.now()
    if webhook.deleted_at is not None:
        return None
    if webhook.status == Webhook.Status.AUTO_DISABLED:
        return (webhook.failing_since or webhook.status_changed_at, now)
    if webhook.status != Webhook.Status.ENABLED:
        return None
    enabled_at = webhook.status_changed_at
    if enabled_at is None or now - enabled_at > REPLAY_OFFER_FOR:
        return None
    # Cheap first: no failed delivery before the switch, no outage to replay.
    if not failed_since(webhook.pk, BEGINNING, enabled_at).exists():
        return None
    last_ok = (
        Attempt.objects.filter(webhook_id=webhook.pk, succeeded=True, started_at__lt=enabled_at)
        .exclude(trigger=Delivery.Trigger.TEST)
        .order_by("-started_at", "-id")
        .values_list("started_at", flat=True)
        .first()
    )
    return (last_ok or BEGINNING, enabled_at)


def replay_offer(webhook: Webhook, now=None) -> ReplayOffer | None:
    """What the logs page (and the toggle's message) offers to replay, or None."""
    window = outage_window(webhook, now)
    if window is None:
        return None
    since, until = window
    count = count_failed_since(webhook.pk, since, until)
    if not count:
        return None
    return ReplayOffer(
        since=since,
        until=until,
        count=count,
        still_disabled=webhook.status == Webhook.Status.AUTO_DISABLED,
    )


def replay_after_outage(webhook: Webhook) -> Progress | None:
    """Retry what failed during the outage, in the background. An auto-disabled webhook is
    switched back on first (one click: "Re-enable and replay"). None when there is nothing
    to replay (an auto-disabled webhook is still switched on)."""
    from subscriptions import services as subscription_services

    offer = replay_offer(webhook)
    if webhook.status == Webhook.Status.AUTO_DISABLED:
        subscription_services.set_enabled(webhook, True)
    if offer is None:
        return None
    return start_retry_failed_since(webhook, offer.since, offer.until)


def replay_message(webhook: Webhook, was_auto_disabled: bool):
    """The flash message for the list's toggle (and the edit form's Enabled box) when it has
    just switched an auto-disabled webhook back on: a link to replay what failed meanwhile.
    None when there is nothing to offer. Safe HTML (the name is escaped)."""
    from django.urls import reverse
    from django.utils.html import format_html

    if not was_auto_disabled or webhook.status != Webhook.Status.ENABLED:
        return None
    offer = replay_offer(webhook)
    if offer is None:
        return None
    url = reverse("webhook_logs", args=[webhook.workspace.slug, webhook.pk]) + "#replay"
    plural = "y" if offer.count == 1 else "ies"
    return format_html(
        "Webhook “{}” is back on. <a href=\"{}\">Replay the {} deliver{} that failed while it "
        "was down</a>.",
        webhook.name, url, f"{offer.count:,}", plural,
    )
