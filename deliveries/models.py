from django.db import models
from django.db.models import Q
from django.utils import timezone
from ulid import ULID

from workspaces.models import Workspace


def new_message_id() -> str:
    return f"msg_{ULID()}"


def new_event_id() -> str:
    return f"evt_{ULID()}"


class Event(models.Model):
    """An event the product posted. Stored before anything else happens (the outbox)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    # The producer's idempotency key, or one we made: posting the same id twice is a no-op.
    event_id = models.CharField(max_length=200, default=new_event_id)
    type = models.CharField(max_length=150)
    name = models.CharField(max_length=200, blank=True)  # the custom event's name
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "event_id"], name="event_unique_id"),
        ]
        indexes = [models.Index(fields=["workspace", "-received_at"], name="event_recent_idx")]

    def __str__(self):
        return f"{self.type} {self.event_id}"


class Delivery(models.Model):
    """One event on its way to one webhook: the outbox row the workers claim."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Trigger(models.TextChoices):
        EVENT = "event", "Event"
        RETRY = "retry", "Retry"
        RESEND = "resend", "Manual resend"
        TEST = "test", "Test"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    webhook = models.ForeignKey(
        "subscriptions.Webhook", on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=150)
    # Only for test deliveries, which have no Event row.
    payload = models.JSONField(null=True, blank=True)
    # webhook-id: the same on every retry and resend, so receivers can dedupe.
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    is_test = models.BooleanField(default=False)
    # What the next attempt is recorded as (event, retry, resend, test).
    next_trigger = models.CharField(
        max_length=10, choices=Trigger.choices, default=Trigger.EVENT
    )
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A claim by a worker; once expired, another worker may take the delivery over.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # drain(): a webhook's due deliveries, oldest first.
            models.Index(
                fields=["webhook", "next_attempt_at", "id"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_claim_idx",
            ),
            # The sweeper: due or lease-expired deliveries of any webhook.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "sending"]),
                name="delivery_due_idx",
            ),
            models.Index(fields=["webhook", "-created_at"], name="delivery_recent_idx"),
        ]

    def __str__(self):
        return self.message_id

    @property
    def event_payload(self):
        return self.payload if self.event_id is None else self.event.payload

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED}


class Attempt(models.Model):
    """One HTTP request of a delivery and what came back: the delivery log."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    # Denormalised so the logs page reads one table per webhook (keyset pagination).
    webhook = models.ForeignKey(
        "subscriptions.Webhook", on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField()
    trigger = models.CharField(max_length=10, choices=Delivery.Trigger.choices)
    event_type = models.CharField(max_length=150)
    started_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    succeeded = models.BooleanField(default=False)
    request_method = models.CharField(max_length=8)
    request_url = models.TextField()
    request_headers = models.JSONField(default=dict)  # secrets masked before saving
    request_body = models.TextField(blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    response_body = models.TextField(blank=True)
    response_truncated = models.BooleanField(default=False)
    error_kind = models.CharField(max_length=20, blank=True)
    error_message = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            # Logs page: newest first per webhook, keyset on (started_at, id).
            models.Index(fields=["webhook", "-started_at", "-id"], name="attempt_log_idx"),
            models.Index(fields=["delivery", "number"], name="attempt_delivery_idx"),
            # Retention purge: oldest first.
            models.Index(fields=["started_at"], name="attempt_age_idx"),
        ]

    def __str__(self):
        return f"{self.delivery_id} #{self.number}"

    @property
    def result_label(self) -> str:
        if self.response_status is not None:
            return f"HTTP {self.response_status}"
        return self.error_message or self.error_kind or "—"
