"""drain(webhook_id): deliver a webhook's due deliveries, on an RQ worker.

One drain per webhook at a time (a lease on the webhook row), many webhooks in parallel
across workers. A drain claims due deliveries in chunks (a lease on each row, so a dead
worker's claim expires and another worker takes over with the same webhook-id), sends them over
one keep-alive session, then writes the attempts and outcomes in bulk. Why a job per webhook
and not per delivery: see DESIGN.md, "The delivery path".
"""

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import Q
from django.utils import timezone

from deliveries import formats, http, retry, signing
from deliveries.models import Attempt, Delivery
from deliveries.notifications import notify_auto_disabled
from subscriptions import services as subscription_services
from subscriptions.models import Webhook
from subscriptions.placeholders import fill_placeholders

log = logging.getLogger("deliveries")

ACTIVE = [Delivery.Status.PENDING, Delivery.Status.SENDING]
# Give other webhooks a turn: a drain stops after this long and wakes itself again.
TIME_BUDGET_SECONDS = 20
# A receiver failing this many times in a row within one drain is treated as down for now:
# the rest of the claimed deliveries go back to the queue unattempted, and the worker moves on.
CONSECUTIVE_FAILURES_TO_PAUSE = 5
PAUSE_AFTER_FAILURES = timedelta(seconds=30)
FIRST_CHUNK = 10
MAX_CHUNK = 200
REQUEST_BODY_LOG_LIMIT = 64 * 1024
MASK = "••••••••"

_session = None


def _http_session():
    """One keep-alive session per worker process (SimpleWorker runs jobs in-process)."""
    global _session
    if _session is None:
        _session = http.new_session()
    return _session


@dataclass
class DrainResult:
    webhook_id: int
    sent: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: str = ""
    more: bool = False
    paused: bool = False  # the receiver looked down; the rest waits for a later drain
    lease_released: bool = False  # by the last chunk's write
    # Batched webhooks: seconds until the next batch may go, when deliveries are waiting.
    next_batch_in: float | None = None
    errors: list[str] = field(default_factory=list)


def drain(webhook_id: int, *, time_budget: float = TIME_BUDGET_SECONDS) -> DrainResult:
    """Send what is due for one webhook, then make sure whatever comes next gets a drain.

    Wake-ups cost one job each, so none is wasted: a delivery stored while this drain runs
    queued a job of its own (the wake mark is cleared first thing here); a job that found the
    webhook busy left a note (ask_for_another_drain) that the holder reads after releasing
    it; a batched webhook's next batch is scheduled for when its interval ends; retries that
    come due later are the sweeper's."""
    from deliveries.services import (
        ask_for_another_drain,
        clear_wake_mark,
        take_another_drain_request,
        wake,
        wake_later,
    )

    drop_broken_connections()
    result = DrainResult(webhook_id)
    clear_wake_mark(webhook_id)
    webhook = _load_webhook(webhook_id)
    if webhook is None:
        return result
    # The lease covers the first chunk's requests from the start, so the first claim need
    # not extend it (one UPDATE less per job: most jobs send one chunk).
    lease_until = timezone.now() + _webhook_lease_for(webhook, _chunk_limit(webhook, FIRST_CHUNK))
    if not _acquire_webhook_lease(webhook_id, lease_until):
        # Leave the note, then try once more: if the holder released the webhook before it
        # could see the note, the lease is free now and this job drains it itself.
        ask_for_another_drain(webhook_id)
        if not _acquire_webhook_lease(webhook_id, lease_until):
            result.skipped = "another drain holds this webhook"
            return result
    try:
        deadline = time.monotonic() + time_budget
        progressed = _drain_until(webhook, deadline, result)
        if progressed and not result.paused and time.monotonic() >= deadline:
            result.more = True
    finally:
        if not result.lease_released:
            _release_webhook_lease(webhook_id)
    # Read the note even when draining again anyway: a stale one would cost a job later.
    asked = take_another_drain_request(webhook_id)
    if result.more or asked:
        wake([webhook_id])
    elif result.next_batch_in is not None:
        wake_later(webhook_id, result.next_batch_in)
    return result


def drop_broken_connections() -> None:
    """What Django does around every web request, for jobs: close a database connection that
    failed or outlived CONN_MAX_AGE, so the next query reconnects. A worker lives for days, and
    without this a connection broken by a database outage fails every later job until the
    worker is restarted. Connections inside a transaction (a caller's, or a test's) are left."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()


def _load_webhook(webhook_id) -> Webhook | None:
    """The webhook as a drain needs it, or None when it is gone or deleted."""
    # Not joined with its connector: the connector's secret is decrypted when the first
    # request is built, inside _guarded, so a secret that cannot be decrypted fails attempts
    # (shown in the logs, retried) instead of every drain job of the webhook.
    webhook = Webhook.objects.filter(pk=webhook_id).first()
    return None if webhook is None or webhook.is_deleted else webhook


def _chunk_limit(webhook, chunk_size: int) -> int:
    return chunk_size if webhook.mode == Webhook.Mode.SINGLE else webhook.batch_size


def _drain_until(webhook, deadline, result: DrainResult) -> bool:
    """Claim and send chunks until nothing is due or the deadline passes. True if it sent.

    ``webhook`` was loaded just before the lease was taken; each later chunk loads it again,
    so a webhook disabled or deleted meanwhile stops the drain."""
    progressed = False
    chunk_size = FIRST_CHUNK
    consecutive_failures = 0
    next_send_at = 0.0
    first = True
    while time.monotonic() < deadline:
        if not first:
            webhook = _load_webhook(webhook.pk)
            if webhook is None:
                return progressed
        limit = _chunk_limit(webhook, chunk_size)
        claimed = _claim(webhook, limit, extend_lease=not first)
        first = False
        if not claimed:
            _schedule_next_batch(webhook, result)
            return progressed
        progressed = True
        outcomes: list[_Outcome] = []
        credentials = _Credentials(webhook)
        if webhook.mode == Webhook.Mode.BATCHED and not claimed[0].is_test:
            send = partial(_send_batch, webhook, claimed, credentials)
            outcomes = _guarded(webhook, claimed, send)
        else:
            for index, delivery in enumerate(claimed):
                if webhook.rate_limit_per_second:
                    wait = next_send_at - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    next_send_at = time.monotonic() + 1 / webhook.rate_limit_per_second
                [outcome] = _guarded(
                    webhook, [delivery], partial(_send_one, webhook, delivery, credentials)
                )
                outcomes.append(outcome)
                consecutive_failures = 0 if outcome.ok else consecutive_failures + 1
                stop = (
                    (webhook.ordered and not outcome.ok)
                    or outcome.decision.outcome == retry.OUTCOME_DISABLE_WEBHOOK
                    or consecutive_failures >= CONSECUTIVE_FAILURES_TO_PAUSE
                    or time.monotonic() >= deadline
                )
                if stop:
                    _release_unattempted(webhook, claimed[index + 1 :], outcome)
                    break
        # The usual end: everything claimed was sent and nothing more was due at the claim.
        # The webhook's lease is then released by _record's UPDATE of the webhook row.
        done = (
            len(claimed) < limit
            and len(outcomes) == len(claimed)
            and webhook.mode == Webhook.Mode.SINGLE
            and consecutive_failures < CONSECUTIVE_FAILURES_TO_PAUSE
            and not (webhook.ordered and outcomes and not outcomes[-1].ok)
            and not any(o.decision.outcome == retry.OUTCOME_DISABLE_WEBHOOK for o in outcomes)
        )
        _record(webhook, outcomes, release_lease=done)
        result.lease_released = done
        for outcome in outcomes:
            result.sent += 1
            if outcome.ok:
                result.succeeded += 1
            else:
                result.failed += 1
        if any(o.decision.outcome == retry.OUTCOME_DISABLE_WEBHOOK for o in outcomes):
            return progressed
        if consecutive_failures >= CONSECUTIVE_FAILURES_TO_PAUSE:
            result.paused = True
            _pause(webhook)
            return progressed
        if webhook.ordered and outcomes and not outcomes[-1].ok:
            return progressed
        if webhook.mode == Webhook.Mode.BATCHED:
            _schedule_next_batch(webhook, result)
            return progressed  # one batch per interval
        if len(claimed) < limit:
            # Everything due at the claim was sent. What was stored since has a job of its own
            # queued (see drain()), so a further claim here would almost always find nothing.
            return progressed
        # Grow the chunk while the receiver answers quickly: fewer claim round trips.
        if outcomes and all(o.ok for o in outcomes):
            chunk_size = min(MAX_CHUNK, chunk_size * 2)
    return progressed


def _schedule_next_batch(webhook, result: DrainResult) -> None:
    """A batched webhook with deliveries waiting gets its next drain when its interval ends."""
    if webhook.mode != Webhook.Mode.BATCHED or not webhook.is_enabled:
        return
    left = _batch_interval_left(webhook, timezone.now())
    if left > 0 and _has_due(webhook.pk):
        result.next_batch_in = left


# --- claiming -----------------------------------------------------------------------------


def _lease_margin() -> timedelta:
    """WEBHOOKS_LEASE_SECONDS: how long a claim outlives the longest its requests could take.

    A worker killed mid-drain holds its webhook for twice this and its claimed deliveries for
    the requests' timeouts plus this; then another worker takes them over (same webhook-id)."""
    return timedelta(seconds=settings.WEBHOOKS_LEASE_SECONDS)


def _webhook_lease_for(webhook, limit: int) -> timedelta:
    """How long a drain holds its webhook for a chunk of `limit`: past the deliveries' own
    lease (_delivery_lease_for), so that a takeover never finds a delivery still claimed."""
    return 2 * _lease_margin() + _delivery_lease_for(webhook, limit)


def _delivery_lease_for(webhook, limit: int) -> timedelta:
    return timedelta(seconds=webhook.timeout_seconds * min(limit, 20)) + _lease_margin()


def _acquire_webhook_lease(webhook_id, until) -> bool:
    now = timezone.now()
    return bool(
        Webhook.objects.filter(pk=webhook_id)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .update(drain_lease_until=until)
    )


def _release_webhook_lease(webhook_id) -> None:
    Webhook.objects.filter(pk=webhook_id).update(drain_lease_until=None)


def _has_due(webhook_id) -> bool:
    """Is there work a drain could do now? The same rule as _claim: a webhook that is not
    enabled only gets its test deliveries (else a drain of it would wake itself forever)."""
    now = timezone.now()
    deliveries = Delivery.objects.filter(webhook_id=webhook_id)
    webhook = Webhook.objects.filter(pk=webhook_id).only("status", "deleted_at").first()
    if webhook is None or webhook.is_deleted:
        return False
    if not webhook.is_enabled:
        deliveries = deliveries.filter(is_test=True)
    return _due(deliveries, now).exists()


def _due(queryset, now):
    """Pending and due, or claimed by a worker whose lease expired (it died mid-drain)."""
    return queryset.filter(
        Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
    )


def _claim(webhook: Webhook, limit: int, *, extend_lease: bool = True) -> list[Delivery]:
    """Lease up to `limit` due deliveries of the webhook, oldest first.

    Disabled webhooks only get their test deliveries. Ordered webhooks never skip a delivery
    that is not due yet: the claim stops at the first one (FIFO hold-back). Batched webhooks
    send at most one batch per interval. The webhook's own lease is extended to cover the
    chunk, unless the caller just took it for that long."""
    now = timezone.now()
    lease_for = _delivery_lease_for(webhook, limit)
    if extend_lease:
        Webhook.objects.filter(pk=webhook.pk).update(
            drain_lease_until=now + _webhook_lease_for(webhook, limit)
        )
    with transaction.atomic():
        candidates = Delivery.objects.filter(webhook=webhook, status__in=ACTIVE)
        if not webhook.is_enabled:
            candidates = candidates.filter(is_test=True)
        if webhook.ordered and webhook.is_enabled:
            # The oldest unfinished deliveries in order; stop at the first one not due.
            rows = list(
                _lock(candidates.filter(is_test=False).order_by("id"), skip_locked=False)[:limit]
            )
            claimed = []
            for d in rows:
                due = (d.status == Delivery.Status.PENDING and d.next_attempt_at <= now) or (
                    d.status == Delivery.Status.SENDING
                    and d.lease_expires_at
                    and d.lease_expires_at < now
                )
                if not due:
                    break
                claimed.append(d)
            if not claimed:
                claimed = list(_lock(_due(candidates.filter(is_test=True), now).order_by("id"))[:1])
        else:
            if webhook.mode == Webhook.Mode.BATCHED and webhook.is_enabled:
                tests = list(_lock(_due(candidates.filter(is_test=True), now).order_by("id"))[:1])
                if tests:
                    claimed = tests
                elif _batch_interval_left(webhook, now) > 0:
                    claimed = []
                else:
                    claimed = list(
                        _lock(_due(candidates, now).order_by("next_attempt_at", "id"))[:limit]
                    )
            else:
                claimed = list(
                    _lock(_due(candidates, now).order_by("next_attempt_at", "id"))[:limit]
                )
        if claimed:
            Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
                status=Delivery.Status.SENDING, lease_expires_at=now + lease_for
            )
    return claimed


def _lock(queryset, *, skip_locked=True):
    # PostgreSQL: rows another worker is claiming are skipped, not waited for. SQLite has no
    # row locks (and one writer at a time), and Django ignores select_for_update there.
    # Ordered webhooks wait instead (skip_locked=False): skipping the oldest row while some
    # other transaction holds it (a resend, a retry being recorded) would send the rows
    # behind it first.
    # The event is loaded in the same query (one SELECT per delivery otherwise); only the
    # delivery rows are locked.
    queryset = queryset.select_related("event")
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=skip_locked, of=("self",))
    return queryset


def _batch_interval_left(webhook: Webhook, now) -> float:
    if webhook.last_delivery_at is None:
        return 0
    return webhook.batch_interval_seconds - (now - webhook.last_delivery_at).total_seconds()


def _release_unattempted(webhook, deliveries, last_outcome) -> None:
    """Claimed but not attempted (ordered hold-back, receiver down, time up): back to pending.

    Ordered webhooks keep their place in line; others wait a little when the receiver looks
    down, so the next drain does not hammer it."""
    if not deliveries:
        return
    update = {"status": Delivery.Status.PENDING, "lease_expires_at": None}
    if not webhook.ordered and not last_outcome.ok:
        update["next_attempt_at"] = timezone.now() + PAUSE_AFTER_FAILURES
    Delivery.objects.filter(
        pk__in=[d.pk for d in deliveries], status=Delivery.Status.SENDING
    ).update(**update)


def _pause(webhook) -> None:
    """The receiver failed several times in a row: its other due deliveries wait a little
    (the sweeper wakes the webhook again), instead of each failing against it right now."""
    now = timezone.now()
    Delivery.objects.filter(
        webhook=webhook,
        status=Delivery.Status.PENDING,
        is_test=False,
        next_attempt_at__lt=now + PAUSE_AFTER_FAILURES,
    ).update(next_attempt_at=now + PAUSE_AFTER_FAILURES)


# --- sending ------------------------------------------------------------------------------


@dataclass
class _Outcome:
    delivery: Delivery
    attempt: Attempt
    decision: retry.RetryDecision

    @property
    def ok(self) -> bool:
        return self.decision.outcome == retry.OUTCOME_SUCCEEDED


def _payload(delivery: Delivery):
    return delivery.payload if delivery.event_id is None else delivery.event.payload


class _Credentials:
    """A chunk's signing keys and custom headers, decrypted once, on first use: inside
    _guarded, so a value that cannot be decrypted fails attempts rather than the job."""

    def __init__(self, webhook):
        self.webhook = webhook
        self._value = None

    def get(self) -> tuple[list[str], dict[str, str]]:
        if self._value is None:
            self._value = (self.webhook.valid_keys(), self.webhook.header_dict())
        return self._value


def _send_one(webhook, delivery, credentials: _Credentials) -> list[_Outcome]:
    keys, custom_headers = credentials.get()
    payload = _payload(delivery)
    url = fill_placeholders(webhook.url, payload if isinstance(payload, dict) else {})
    if webhook.method == Webhook.Method.GET:
        body, content_type = b"", None
        params = _query_params(payload, webhook.extra_body)
    else:
        body, content_type = formats.render(
            webhook.format, delivery.event_type, payload, extra_body=webhook.extra_body
        )
        params = None
    return _send(webhook, [delivery], url, body, content_type, params, keys, custom_headers)


def _send_batch(webhook, deliveries, credentials: _Credentials) -> list[_Outcome]:
    keys, custom_headers = credentials.get()
    items = [(d.event_type, _payload(d)) for d in deliveries]
    body, content_type = formats.render_batch(webhook.format, items, extra_body=webhook.extra_body)
    url = fill_placeholders(webhook.url, {})
    return _send(webhook, deliveries, url, body, content_type, None, keys, custom_headers)


def _query_params(payload, extra_body) -> dict:
    """GET webhooks send the event's top-level fields as query parameters."""
    merged = {**(extra_body or {}), **(payload if isinstance(payload, dict) else {})}
    return {
        key: value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        for key, value in merged.items()
    }


def _send(webhook, deliveries, url, body, content_type, params, keys, custom_headers):
    """One HTTP request for one delivery (or one batch); an outcome per delivery."""
    first = deliveries[0]
    headers = dict(custom_headers)
    if webhook.connector_id:
        headers.update(webhook.connector.auth_headers())
    if content_type:
        headers["Content-Type"] = content_type
    headers["User-Agent"] = http.USER_AGENT
    timestamp = int(time.time())
    if keys:
        headers.update(signing.signature_headers(first.message_id, timestamp, body, keys))
    started_at = timezone.now()
    status_code = None
    retry_after = None
    response = None
    error = None
    try:
        response = http.request(
            webhook.method,
            url,
            headers=headers,
            body=body or None,
            params=params,
            timeout=webhook.timeout_seconds,
            session=_http_session(),
        )
        status_code = response.status_code
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
        duration_ms = response.duration_ms
    except http.OutgoingRequestError as exc:
        error = exc
        duration_ms = int((timezone.now() - started_at).total_seconds() * 1000)
    now = timezone.now()
    outcomes = []
    secret_headers = _secret_header_names(webhook, custom_headers)
    logged_headers = {
        name: (MASK if name.lower() in secret_headers else value) for name, value in headers.items()
    }
    request_body = body[:REQUEST_BODY_LOG_LIMIT].decode("utf-8", errors="replace")
    for delivery in deliveries:
        attempts_made = delivery.attempt_count + 1
        decision = _decide(webhook, delivery, status_code, retry_after, now)
        attempt = Attempt(
            delivery=delivery,
            webhook=webhook,
            number=attempts_made,
            trigger=delivery.next_trigger,
            event_type=delivery.event_type,
            started_at=started_at,
            duration_ms=duration_ms,
            succeeded=decision.outcome == retry.OUTCOME_SUCCEEDED,
            request_method=webhook.method,
            request_url=url
            if not params
            else f"{url}{'&' if '?' in url else '?'}{urlencode(params)}",
            request_headers=logged_headers,
            request_body=request_body,
            response_status=status_code,
            response_headers=dict(response.headers) if response else {},
            response_body=response.body if response else "",
            response_truncated=response.truncated if response else False,
            error_kind=error.kind if error else "",
            error_message=(error.message if error else "")[:300],
        )
        outcomes.append(_Outcome(delivery, attempt, decision))
    log.info(
        "attempt message_id=%s webhook=%s status=%s error=%s duration_ms=%s deliveries=%s",
        first.message_id,
        webhook.pk,
        status_code,
        error.kind if error else "-",
        duration_ms,
        len(deliveries),
    )
    return outcomes


def _decide(webhook, delivery, status_code, retry_after, now) -> retry.RetryDecision:
    if delivery.is_test:
        # Tests show the receiver's answer once; they never retry or disable anything.
        outcome = (
            retry.OUTCOME_SUCCEEDED
            if status_code and 200 <= status_code < 300
            else retry.OUTCOME_FAILED
        )
        return retry.RetryDecision(outcome, None, "test delivery")
    return retry.decide(
        attempts_made=delivery.attempt_count + 1,
        max_attempts=webhook.max_attempts,
        policy=webhook.retry_policy,
        status_code=status_code,
        retry_after_header=retry_after,
        now=now,
    )


# The exception's type only: its message could quote a payload or a credential.
INTERNAL_ERROR_MESSAGE = "Internal error ({}): nothing was sent; the worker's log has the details."


def _guarded(webhook, deliveries, send) -> list[_Outcome]:
    """send() -> outcomes, or, if it raises something unexpected (a bug, a secret the current
    FIELD_ENCRYPTION_KEY cannot decrypt), a failed attempt per delivery: logged on the logs
    page and retried by the policy like any failure. A crashed job would instead leave the
    deliveries claimed until their lease expired, then crash again, with nothing to show."""
    try:
        return send()
    except Exception as exc:
        log.exception(
            "internal error webhook=%s message_ids=%s",
            webhook.pk,
            ",".join(d.message_id for d in deliveries),
        )
        now = timezone.now()
        return [
            _Outcome(
                delivery,
                Attempt(
                    delivery=delivery,
                    webhook=webhook,
                    number=delivery.attempt_count + 1,
                    trigger=delivery.next_trigger,
                    event_type=delivery.event_type,
                    started_at=now,
                    request_method=webhook.method,
                    request_url=webhook.url,
                    error_kind="internal",
                    error_message=INTERNAL_ERROR_MESSAGE.format(type(exc).__name__)[:300],
                ),
                _decide(webhook, delivery, None, None, now),
            )
            for delivery in deliveries
        ]


def _secret_header_names(webhook, custom_headers) -> set[str]:
    """Headers whose values never reach the log: auth, the connector's, and custom ones
    (customers put API keys in them)."""
    names = {"authorization", "proxy-authorization", "cookie"}
    names.update(name.lower() for name in custom_headers)
    if webhook.connector_id:
        names.update(webhook.connector.auth_header_names())
    return names


# --- recording ----------------------------------------------------------------------------


def _record(webhook: Webhook, outcomes: list[_Outcome], *, release_lease=False) -> None:
    """Write the attempts and outcomes of one chunk in a few statements (and release the
    webhook's drain lease with them when this was the drain's last chunk)."""
    if not outcomes:
        return
    now = timezone.now()
    updated = []
    disable_reason = ""
    for outcome in outcomes:
        d = outcome.delivery
        attempt = outcome.attempt
        d.attempt_count = attempt.number
        d.last_attempt_at = attempt.started_at
        d.last_status_code = attempt.response_status
        d.last_error = attempt.error_message or (
            "" if outcome.ok else f"HTTP {attempt.response_status}"
        )
        d.lease_expires_at = None
        kind = outcome.decision.outcome
        if kind == retry.OUTCOME_SUCCEEDED:
            d.status = Delivery.Status.SUCCEEDED
        elif kind == retry.OUTCOME_RETRY:
            d.status = Delivery.Status.PENDING
            d.next_attempt_at = outcome.decision.next_attempt_at
            d.next_trigger = Delivery.Trigger.RETRY
        else:
            d.status = Delivery.Status.FAILED
            if kind == retry.OUTCOME_DISABLE_WEBHOOK:
                disable_reason = "The endpoint answered 410 Gone: it asked us to stop sending."
        updated.append(d)
    real = [o for o in outcomes if not o.delivery.is_test]
    last = outcomes[-1].attempt
    with transaction.atomic():
        Attempt.objects.bulk_create([o.attempt for o in outcomes])
        _update_deliveries(updated)
        webhook_update = {
            "last_delivery_at": last.started_at,
            "last_status_code": last.response_status,
            "last_error": last.error_message
            or ("" if last.succeeded else f"HTTP {last.response_status}"),
            "last_succeeded": last.succeeded,
        }
        if release_lease:
            webhook_update["drain_lease_until"] = None
        if real:
            if any(o.ok for o in real):
                webhook_update["failing_since"] = None
                Webhook.objects.filter(pk=webhook.pk).update(**webhook_update)
            else:
                Webhook.objects.filter(pk=webhook.pk).update(**webhook_update)
                Webhook.objects.filter(pk=webhook.pk, failing_since__isnull=True).update(
                    failing_since=real[0].attempt.started_at
                )
        else:
            Webhook.objects.filter(pk=webhook.pk).update(**webhook_update)
    if disable_reason and subscription_services.auto_disable(webhook, disable_reason):
        notify_auto_disabled(webhook)
    webhook.last_delivery_at = now if webhook.mode == Webhook.Mode.BATCHED else last.started_at


# What _record changes on each delivery; lease_expires_at is cleared on all of them.
RECORDED_FIELDS = (
    "status",
    "attempt_count",
    "last_attempt_at",
    "last_status_code",
    "last_error",
    "next_attempt_at",
    "next_trigger",
)


def _update_deliveries(deliveries: list[Delivery]) -> None:
    """Write the outcome of a chunk's deliveries in one UPDATE ... FROM (VALUES ...).

    Django's bulk_update builds a CASE WHEN per field and row (1,600 of them for a chunk of
    200), and compiling that took more time than sending the requests. Both PostgreSQL and
    SQLite (3.33 and later) name a VALUES list's columns column1, column2, ..."""
    if not deliveries:
        return
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 33):
        Delivery.objects.bulk_update(deliveries, [*RECORDED_FIELDS, "lease_expires_at"])
        return
    meta = Delivery._meta
    fields = [meta.pk] + [meta.get_field(name) for name in RECORDED_FIELDS]
    quote = connection.ops.quote_name

    def column(index, field):
        value = f"v.column{index + 1}"
        # PostgreSQL types a VALUES column from its contents; a column of NULLs would be text.
        if connection.vendor == "postgresql":
            value = f"CAST({value} AS {field.cast_db_type(connection)})"
        return value

    assignments = ", ".join(
        f"{quote(field.column)} = {column(i, field)}" for i, field in enumerate(fields) if i
    )
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(meta.db_table)
    # Only quoted names from the model and placeholders go into the text; values are params.
    values = ", ".join([row] * len(deliveries))
    cleared = quote("lease_expires_at")
    pk = quote(meta.pk.column)
    sql = f"UPDATE {table} SET {assignments}, {cleared} = NULL FROM (VALUES {values}) AS v WHERE {table}.{pk} = {column(0, meta.pk)}"  # noqa: E501, S608
    params = [
        field.get_db_prep_value(getattr(delivery, field.attname), connection)
        for delivery in deliveries
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
