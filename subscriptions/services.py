"""What the screens, the API and the admin do to webhooks. Views parse and call these."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from subscriptions.models import Connector, SigningKey, Webhook
from subscriptions.placeholders import fill_placeholders

KEY_GRACE_CHOICES = (0, 24)  # hours the old key keeps signing after a reset


@transaction.atomic
def create_webhook(webhook: Webhook, headers: list[tuple[str, str]] | None = None) -> Webhook:
    """Save a new webhook with its headers and a fresh signing key."""
    webhook.save()
    replace_headers(webhook, headers or [])
    SigningKey.objects.create(webhook=webhook)
    return webhook


def replace_headers(webhook: Webhook, headers: list[tuple[str, str]]) -> None:
    webhook.headers.all().delete()
    webhook.headers.bulk_create(
        [
            webhook.headers.model(webhook=webhook, name=name, value=value, position=i)
            for i, (name, value) in enumerate(headers)
        ]
    )


@transaction.atomic
def rotate_signing_key(webhook: Webhook, grace_hours: int = 0) -> SigningKey:
    """Make a new current key. The old one stops at once (grace 0) or signs alongside the new
    one for `grace_hours`, so receivers can switch without dropping a delivery."""
    if grace_hours not in KEY_GRACE_CHOICES:
        raise ValueError(f"grace_hours must be one of {KEY_GRACE_CHOICES}")
    now = timezone.now()
    # Lock the webhook so two concurrent resets cannot both leave a "current" key.
    Webhook.objects.select_for_update().filter(pk=webhook.pk).first()
    expires = now + timedelta(hours=grace_hours) if grace_hours else now
    webhook.signing_keys.filter(expires_at__isnull=True).update(expires_at=expires)
    # Keys whose grace ended are useless; keep the table small.
    webhook.signing_keys.filter(expires_at__lte=now).delete()
    return SigningKey.objects.create(webhook=webhook, created_at=now)


def set_enabled(webhook: Webhook, enabled: bool) -> Webhook:
    status = Webhook.Status.ENABLED if enabled else Webhook.Status.DISABLED
    if webhook.status != status:
        webhook.status = status
        webhook.status_changed_at = timezone.now()
        webhook.disabled_reason = ""
        if enabled:
            webhook.failing_since = None
            webhook.failure_warning_sent_at = None
        webhook.save(
            update_fields=[
                "status", "status_changed_at", "disabled_reason", "failing_since",
                "failure_warning_sent_at", "updated_at",
            ]
        )
    return webhook


def auto_disable(webhook: Webhook, reason: str) -> bool:
    """Turn a failing webhook off; True when this call changed it (callers send the notice)."""
    changed = Webhook.objects.filter(pk=webhook.pk, status=Webhook.Status.ENABLED).update(
        status=Webhook.Status.AUTO_DISABLED,
        status_changed_at=timezone.now(),
        disabled_reason=reason[:300],
    )
    return bool(changed)


def soft_delete(webhook: Webhook) -> None:
    """Deleted webhooks get nothing new; pending deliveries are cancelled. Restorable."""
    from deliveries.services import cancel_pending

    with transaction.atomic():
        webhook.deleted_at = timezone.now()
        webhook.save(update_fields=["deleted_at", "updated_at"])
        cancel_pending(webhook)


def restore(webhook: Webhook) -> Webhook:
    """Bring a deleted webhook back (disabled, so the admin chooses when it receives again).
    Raises ValueError when a live webhook has taken its name meanwhile."""
    name_taken = (
        Webhook.objects.live()
        .filter(workspace=webhook.workspace, name__iexact=webhook.name)
        .exists()
    )
    if name_taken:
        raise ValueError(
            f"A webhook named '{webhook.name}' exists already: rename it before restoring this one."
        )
    webhook.deleted_at = None
    webhook.status = Webhook.Status.DISABLED
    webhook.status_changed_at = timezone.now()
    webhook.save(update_fields=["deleted_at", "status", "status_changed_at", "updated_at"])
    return webhook


@transaction.atomic
def save_webhook(webhook: Webhook, headers: list[tuple[str, str]]) -> Webhook:
    """Save a new or edited webhook and its header rows together: nothing is saved half."""
    if webhook.pk is None:
        return create_webhook(webhook, headers)
    webhook.save()
    replace_headers(webhook, headers)
    return webhook


def set_status_from_checkbox(webhook: Webhook, enabled: bool) -> None:
    """The form's Enabled box. Unticked leaves an auto-disabled webhook as it is (with its
    reason); ticked enables it whatever its state."""
    if enabled or webhook.status == Webhook.Status.ENABLED:
        set_enabled(webhook, enabled)


# --- test requests ---------------------------------------------------------------------------

PROBE_BODY_CHARS = 500


@dataclass
class ProbeResult:
    """What a test GET to a webhook's URL got back (nothing is stored)."""

    url: str
    status_code: int | None = None
    duration_ms: int | None = None
    body: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def answered(self) -> bool:
        return self.status_code is not None


def probe_url(webhook: Webhook) -> str:
    """The webhook's URL with its placeholders filled from its first topic's sample event."""
    from subscriptions.validation import sample_payload

    return fill_placeholders(webhook.url, sample_payload(webhook.topics))


def probe(webhook: Webhook, *, timeout: float) -> ProbeResult:
    """GET the webhook's URL, with its custom headers and its connector's credentials, the way
    eSputnik checks an endpoint before saving it. Never raises for a network failure: the
    result carries the short human error instead. Stores nothing."""
    from deliveries import http

    url = probe_url(webhook)
    headers = webhook.header_dict() if webhook.pk else {}
    if webhook.connector_id:
        headers.update(webhook.connector.auth_headers())
    try:
        response = http.request("GET", url, headers=headers, timeout=timeout)
    except http.OutgoingRequestError as exc:
        return ProbeResult(url=url, error=exc.message)
    return ProbeResult(
        url=url,
        status_code=response.status_code,
        duration_ms=response.duration_ms,
        body=response.body[:PROBE_BODY_CHARS],
    )


# --- connectors --------------------------------------------------------------------------------


def delete_connector(connector: Connector) -> None:
    """Delete a connector no live webhook uses. Raises ValueError naming the webhooks that
    still use it. Deleted webhooks that used it lose it (restoring them leaves their
    authentication empty, and restore leaves them disabled, so nothing is sent without it)."""
    users = list(connector.webhooks.live().order_by("name").values_list("name", flat=True))
    if users:
        raise ValueError(f"Used by {', '.join(users)}: remove it from them first.")
    with transaction.atomic():
        connector.webhooks.deleted().update(connector=None)
        connector.delete()
