"""Emails to a workspace's admins about a failing webhook (SPEC "Auto-disable").

- warn_failing_webhooks(now): cron, every few minutes. One warning when a webhook's failures
  start (it has been failing for WARN_AFTER), at most one per webhook per 24 hours, recorded in
  Webhook.failure_warning_sent_at.
- notify_auto_disabled(webhook): the notice when a webhook is turned off, with the reason.
  Called by whoever auto-disables it (the sweeper, the drain's 410 path) when
  subscriptions.services.auto_disable() returned True.

Admins only (members are not asked to fix what they cannot change), each their own message.
Sending never raises into the caller: a broken mail server is logged, and the delivery engine
carries on.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Webhook
from workspaces.models import Membership

log = logging.getLogger("deliveries")

# A blip that recovers within minutes is not worth an email: warn once it has lasted this long.
WARN_AFTER = timedelta(minutes=10)
WARNING_INTERVAL = timedelta(hours=24)
SMTP_TIMEOUT = 10  # seconds; the sweeper and the workers must not hang on a mail server


def admin_emails(workspace_id: int) -> list[str]:
    users = get_user_model().objects.filter(
        memberships__workspace_id=workspace_id,
        memberships__role=Membership.Role.ADMIN,
        is_active=True,
    ).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def logs_url(webhook: Webhook) -> str:
    path = reverse("webhook_logs", args=[webhook.workspace.slug, webhook.pk])
    return settings.SITE_URL.rstrip("/") + path


def last_error(webhook: Webhook) -> str:
    if webhook.last_error:
        return webhook.last_error
    if webhook.last_status_code:
        return f"HTTP {webhook.last_status_code}"
    return "no successful response"


def _send(webhook: Webhook, subject: str, template: str, context: dict) -> int:
    """One message per admin; returns how many were sent (0 on any mail error)."""
    recipients = admin_emails(webhook.workspace_id)
    if not recipients:
        return 0
    body = render_to_string(template, {"webhook": webhook, "workspace": webhook.workspace,
                                       "logs_url": logs_url(webhook), **context})
    messages = [EmailMessage(subject, body, to=[to]) for to in recipients]
    try:
        connection = get_connection(timeout=SMTP_TIMEOUT)
        return connection.send_messages(messages) or 0
    except Exception:  # SMTP, DNS, TLS...: report, never break the caller
        log.exception("could not email the admins of webhook=%s", webhook.pk)
        return 0


def _needs_warning(now):
    """Failing for WARN_AFTER, no warning for this run of failures, none in the last 24 h."""
    return Q(
        deleted_at__isnull=True,
        status=Webhook.Status.ENABLED,
        failing_since__isnull=False,
        failing_since__lte=now - WARN_AFTER,
    ) & (
        Q(failure_warning_sent_at__isnull=True)
        | Q(
            failure_warning_sent_at__lt=F("failing_since"),
            failure_warning_sent_at__lte=now - WARNING_INTERVAL,
        )
    )


def warn_failing_webhooks(now=None) -> int:
    """Send the "is failing" warning where it is due; returns how many webhooks were warned."""
    now = now or timezone.now()
    warned = 0
    days = settings.WEBHOOKS_AUTO_DISABLE_AFTER_DAYS
    for webhook in Webhook.objects.filter(_needs_warning(now)).select_related("workspace"):
        previous = webhook.failure_warning_sent_at
        # Claim the warning first: two cron runs at once send it once.
        claimed = Webhook.objects.filter(_needs_warning(now), pk=webhook.pk).update(
            failure_warning_sent_at=now
        )
        if not claimed:
            continue
        sent = _send(
            webhook,
            f"Webhook “{webhook.name}” is failing",
            "deliveries/email/failing_warning.txt",
            {
                "error": last_error(webhook),
                "days": days,
                "disable_at": webhook.failing_since + timedelta(days=days),
            },
        )
        if sent:
            warned += 1
        else:
            # Nothing went out: let the next run try again.
            Webhook.objects.filter(pk=webhook.pk, failure_warning_sent_at=now).update(
                failure_warning_sent_at=previous
            )
    return warned


def notify_auto_disabled(webhook: Webhook) -> int:
    """Tell the admins the webhook was turned off and why; returns how many emails went out."""
    try:
        webhook = Webhook.objects.select_related("workspace").get(pk=webhook.pk)
    except Webhook.DoesNotExist:
        return 0
    if webhook.status != Webhook.Status.AUTO_DISABLED:
        return 0
    return _send(
        webhook,
        f"Webhook “{webhook.name}” was turned off",
        "deliveries/email/auto_disabled.txt",
        {"reason": webhook.disabled_reason or "It kept failing.", "error": last_error(webhook)},
    )
