"""What the screens, the API and the admin do to webhooks. Views parse and call these."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from subscriptions.models import SigningKey, Webhook

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
