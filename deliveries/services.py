"""How events enter the delivery engine. Other apps call only these functions.

publish() stores events and their deliveries in one transaction (the outbox), then wakes the
workers after commit. Redis only carries "drain webhook X"; if it is down the sweeper wakes
the workers later, so nothing accepted is lost and no producer ever waits on Redis.
"""

import contextlib
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from deliveries.models import Delivery, Event
from subscriptions import catalog
from subscriptions.models import Webhook

log = logging.getLogger("deliveries")

QUEUE_NAME = "default"
# Marks "a drain of webhook X is queued" so a burst of events enqueues one job, not thousands.
WAKE_MARK_KEY = "hookshot:drain-queued:{}"
WAKE_MARK_SECONDS = 60
# A note from a drain job that found its webhook busy: "drain it again when you are done".
DRAIN_AGAIN_KEY = "hookshot:drain-again:{}"
# Marks "a drain of webhook X is scheduled" (a batched webhook's next batch).
SCHEDULED_MARK_KEY = "hookshot:drain-scheduled:{}"


@dataclass
class EventInput:
    type: str
    payload: dict
    name: str = ""
    event_id: str | None = None


@dataclass
class PublishResult:
    events: list[Event] = field(default_factory=list)
    duplicates: int = 0
    deliveries: int = 0


def publish(workspace, type: str, payload: dict, *, name: str = "", event_id=None) -> Event:
    """Store one event and fan it out to the workspace's matching webhooks."""
    return publish_many(workspace, [EventInput(type, payload, name, event_id)]).events[0]


def publish_many(workspace, items: list[EventInput]) -> PublishResult:
    """Store events (idempotent on event_id) and one pending Delivery per matching enabled
    webhook, in one transaction with bulk inserts; wake the workers after commit.

    Returns the events in input order; an event_id seen before returns the stored event and
    creates nothing."""
    for _ in range(3):
        try:
            return _publish_many(workspace, items)
        except IntegrityError:
            # A concurrent request stored one of these event ids first: go again, and this
            # time it is found as a duplicate.
            continue
    raise RuntimeError("publish_many: event ids kept colliding")


def _publish_many(workspace, items: list[EventInput]) -> PublishResult:
    result = PublishResult()
    with transaction.atomic():
        given_ids = [item.event_id for item in items if item.event_id]
        existing = {
            e.event_id: e for e in Event.objects.filter(workspace=workspace, event_id__in=given_ids)
        }
        now = timezone.now()
        new_events: list[Event] = []
        ordered: list[Event] = []
        seen_in_batch: dict[str, Event] = {}
        for item in items:
            if item.event_id and item.event_id in existing:
                ordered.append(existing[item.event_id])
                result.duplicates += 1
                continue
            if item.event_id and item.event_id in seen_in_batch:
                ordered.append(seen_in_batch[item.event_id])
                result.duplicates += 1
                continue
            event = Event(
                workspace=workspace,
                type=item.type,
                name=item.name or "",
                payload=item.payload,
                received_at=now,
            )
            if item.event_id:
                event.event_id = item.event_id
                seen_in_batch[item.event_id] = event
            new_events.append(event)
            ordered.append(event)
        Event.objects.bulk_create(new_events)

        webhooks = list(
            Webhook.objects.live()
            .managed_in_settings()  # chatbot steps' webhooks fire only from their flow
            .filter(workspace=workspace, status=Webhook.Status.ENABLED)
            .only("id", "topics", "event_names")
        )
        deliveries = [
            Delivery(
                workspace=workspace,
                webhook=webhook,
                event=event,
                event_type=event.type,
                next_attempt_at=now,
                created_at=now,
            )
            for event in new_events
            if event.type not in catalog.EXCLUDED_SYSTEM_EVENTS
            for webhook in webhooks
            if webhook.matches(event.type, event.name)
        ]
        Delivery.objects.bulk_create(deliveries, batch_size=1000)
        wake_after_commit({d.webhook_id for d in deliveries})
    result.events = ordered
    result.deliveries = len(deliveries)
    return result


def send(webhook: Webhook, type: str, payload: dict, *, name: str = "") -> Delivery:
    """Deliver one event to one webhook, whatever its topics (chatbot flows use this)."""
    with transaction.atomic():
        event = Event.objects.create(
            workspace_id=webhook.workspace_id, type=type, name=name, payload=payload
        )
        delivery = Delivery.objects.create(
            workspace_id=webhook.workspace_id, webhook=webhook, event=event, event_type=type
        )
        wake_after_commit({webhook.pk})
    return delivery


def send_test(webhook: Webhook, type: str) -> Delivery:
    """Send the catalog's sample of `type` through the real path, marked as a test.
    Test deliveries are attempted once and never retried."""
    spec = catalog.get(type)
    payload = spec.sample() if spec else {"event_name": type, "test": True}
    with transaction.atomic():
        delivery = Delivery.objects.create(
            workspace_id=webhook.workspace_id,
            webhook=webhook,
            event=None,
            event_type=type,
            payload=payload,
            is_test=True,
            next_trigger=Delivery.Trigger.TEST,
        )
        wake_after_commit({webhook.pk})
    return delivery


def resend(delivery: Delivery) -> Delivery:
    """Attempt a delivery again now, with the same webhook-id (a new attempt, trigger resend)."""
    with transaction.atomic():
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            next_trigger=Delivery.Trigger.RESEND,
            lease_expires_at=None,
        )
        wake_after_commit({delivery.webhook_id})
    delivery.refresh_from_db()
    return delivery


def cancel_pending(webhook: Webhook) -> int:
    return Delivery.objects.filter(
        webhook=webhook, status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING]
    ).update(status=Delivery.Status.CANCELLED, lease_expires_at=None)


# --- waking the workers -------------------------------------------------------------------

_redis_down_until = 0.0
REDIS_BACKOFF_SECONDS = 5.0


def wake_after_commit(webhook_ids) -> None:
    ids = sorted(set(webhook_ids))
    if ids:
        # robust=True: a failing wake-up must not stop the transaction's other callbacks;
        # the sweeper catches whatever was not woken.
        transaction.on_commit(lambda: wake(ids), robust=True)


def redis_backing_off() -> bool:
    """True for a few seconds after a Redis call failed: callers on a request path skip Redis
    meanwhile, so an outage costs one request one short timeout, not every request."""
    return time.monotonic() < _redis_down_until


def note_redis_failure() -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + REDIS_BACKOFF_SECONDS


def wake(webhook_ids, *, force: bool = False) -> int:
    """Enqueue a drain job per webhook, at most one queued per webhook (unless force).

    Never slow: Redis calls use sub-second timeouts and no retries, and after a failure
    wake() skips Redis for a few seconds. Returns how many jobs were enqueued."""
    if not webhook_ids or redis_backing_off():
        return 0
    from redis.exceptions import RedisError

    from deliveries import jobs

    try:
        conn = fail_fast_redis()
        queue = _queue(conn)
        enqueued = 0
        for webhook_id in webhook_ids:
            mark = WAKE_MARK_KEY.format(webhook_id)
            if conn.set(mark, 1, nx=True, ex=WAKE_MARK_SECONDS) or force:
                try:
                    queue.enqueue(jobs.drain, webhook_id, result_ttl=0, failure_ttl=86400)
                except RedisError:
                    # A mark without its job would hold back every wake-up for a minute.
                    with contextlib.suppress(RedisError):
                        conn.delete(mark)
                    raise
                enqueued += 1
        return enqueued
    except RedisError as exc:
        note_redis_failure()
        log.warning("wake skipped, Redis unavailable (%s); the sweeper will catch up", exc)
        return 0


def wake_later(webhook_id, seconds: float) -> bool:
    """Schedule one drain of the webhook in `seconds` (the workers run RQ's scheduler).
    Several asks before then share the one job."""
    from datetime import timedelta

    from redis.exceptions import RedisError

    from deliveries import jobs

    if redis_backing_off():
        return False
    try:
        conn = fail_fast_redis()
        mark = SCHEDULED_MARK_KEY.format(webhook_id)
        if not conn.set(mark, 1, nx=True, px=max(1, int(seconds * 1000))):
            return False
        _queue(conn).enqueue_in(
            timedelta(seconds=seconds), jobs.drain, webhook_id, result_ttl=0, failure_ttl=86400
        )
        return True
    except RedisError as exc:
        note_redis_failure()
        log.warning("scheduling skipped, Redis unavailable (%s); the sweeper will catch up", exc)
        return False


def clear_wake_mark(webhook_id) -> None:
    """Called when a drain starts: events arriving from now on need a new drain job."""
    from redis.exceptions import RedisError

    with contextlib.suppress(RedisError):
        fail_fast_redis().delete(WAKE_MARK_KEY.format(webhook_id))


def ask_for_another_drain(webhook_id) -> None:
    """A drain job found the webhook busy: the drain holding it drains again after."""
    from redis.exceptions import RedisError

    with contextlib.suppress(RedisError):
        fail_fast_redis().set(DRAIN_AGAIN_KEY.format(webhook_id), 1, ex=WAKE_MARK_SECONDS)


def take_another_drain_request(webhook_id) -> bool:
    """Was another drain asked for while this one held the webhook? (Clears the note.)
    With Redis down the answer is no: a wake-up could not be queued anyway, and the
    sweeper finds what is due."""
    from redis.exceptions import RedisError

    try:
        return bool(fail_fast_redis().delete(DRAIN_AGAIN_KEY.format(webhook_id)))
    except RedisError:
        return False


_connections: dict[str, object] = {}


def fail_fast_redis():
    """Redis for wake-ups and counters: sub-second timeouts, no retries, never blocks a request."""
    import redis
    from redis.retry import Retry

    url = settings.REDIS_URL
    if url not in _connections:
        from redis.backoff import NoBackoff

        _connections[url] = redis.Redis.from_url(
            # A frozen Redis accepts connections and never answers: the read timeout is what
            # bounds a request then, so it stays well under a second.
            url, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
        )
    return _connections[url]


def _queue(conn):
    from rq import Queue

    return Queue(QUEUE_NAME, connection=conn)


# --- what the screens show ----------------------------------------------------------------


@dataclass
class SuccessRate:
    attempts: int
    succeeded: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.succeeded / self.attempts) if self.attempts else None


def success_rates(webhook_ids, *, hours: int = 24, now=None) -> dict[int, SuccessRate]:
    """Share of successful attempts per webhook over the last `hours` (tests excluded),
    in one grouped query (the list page shows it for every row)."""
    from datetime import timedelta

    from django.db.models import Count, Q

    from deliveries.models import Attempt

    since = (now or timezone.now()) - timedelta(hours=hours)
    rows = (
        Attempt.objects.filter(webhook_id__in=list(webhook_ids), started_at__gte=since)
        .exclude(trigger=Delivery.Trigger.TEST)
        .values("webhook_id")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(succeeded=True)))
    )
    return {row["webhook_id"]: SuccessRate(row["total"], row["ok"]) for row in rows}
