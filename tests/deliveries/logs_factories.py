"""Tiny factories for the delivery logs tests: deliveries and attempts as the drain writes them."""

from datetime import timedelta

from django.utils import timezone

from deliveries.models import Attempt, Delivery, Event


def make_delivery(webhook, *, status="succeeded", created_at=None, is_test=False,
                  event_type="form.submitted", with_event=True, **fields) -> Delivery:
    created_at = created_at or timezone.now()
    event = None
    if with_event and not is_test:
        event = Event.objects.create(
            workspace_id=webhook.workspace_id, type=event_type, payload={"n": 1},
            received_at=created_at,
        )
    return Delivery.objects.create(
        workspace_id=webhook.workspace_id,
        webhook=webhook,
        event=event,
        event_type=event_type,
        payload={"n": 1} if event is None else None,
        status=status,
        is_test=is_test,
        created_at=created_at,
        **fields,
    )


def make_attempt(webhook, delivery=None, *, started_at=None, succeeded=True, status=None,
                 trigger="event", event_type=None, number=None, **fields) -> Attempt:
    delivery = delivery or make_delivery(
        webhook,
        status="succeeded" if succeeded else "failed",
        event_type=event_type or "form.submitted",
        created_at=started_at,
    )
    number = number or delivery.attempts.count() + 1
    if status is None and not fields.get("error_kind"):
        status = 200 if succeeded else 500
    attempt = Attempt.objects.create(
        delivery=delivery,
        webhook=webhook,
        number=number,
        trigger=trigger,
        event_type=event_type or delivery.event_type,
        started_at=started_at or timezone.now(),
        duration_ms=fields.pop("duration_ms", 42),
        succeeded=succeeded,
        request_method="POST",
        request_url=webhook.url,
        request_headers=fields.pop(
            "request_headers",
            {"Content-Type": "application/json", "Authorization": "••••••••",
             "webhook-id": delivery.message_id},
        ),
        request_body=fields.pop("request_body", '{"payload": {"n": 1}}'),
        response_status=status,
        **fields,
    )
    Delivery.objects.filter(pk=delivery.pk).update(
        attempt_count=max(delivery.attempt_count, number),
        last_attempt_at=attempt.started_at,
        last_status_code=status,
        last_error=attempt.error_message or ("" if succeeded else f"HTTP {status}"),
    )
    return attempt


def make_attempts(webhook, count, *, start=None, step=timedelta(minutes=1), **fields):
    """`count` attempts, one a `step` apart, the newest at `start` (default now)."""
    start = start or timezone.now()
    return [make_attempt(webhook, started_at=start - i * step, **fields) for i in range(count)]
