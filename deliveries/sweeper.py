"""The sweeper: the scheduled safety net of the outbox (every few seconds, rq cron).

Wakes a drain for every webhook with deliveries that are due (retries whose time came,
deliveries whose wake-up was lost because Redis was down or flushed) or whose lease expired
(a worker died mid-drain), and auto-disables webhooks that have failed for too long.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from deliveries.models import Delivery
from deliveries.notifications import notify_auto_disabled
from subscriptions import services as subscription_services
from subscriptions.models import Webhook

log = logging.getLogger("deliveries")


@dataclass
class SweepResult:
    woken: int
    auto_disabled: int


def sweep(now=None) -> SweepResult:
    from deliveries.drain import drop_broken_connections
    from deliveries.services import wake

    drop_broken_connections()  # recover from a database outage by itself, as drain() does
    now = now or timezone.now()
    due = Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Delivery.Status.SENDING, lease_expires_at__lt=now)
    )
    webhook_ids = sorted(set(due.values_list("webhook_id", flat=True)[:10000]))
    # A webhook being drained is left alone: its drain takes what is due, and one left over
    # (a job that found it busy) has asked it to drain again. Its lease expires if it died.
    live = list(
        Webhook.objects.filter(pk__in=webhook_ids, deleted_at__isnull=True)
        .filter(Q(drain_lease_until__isnull=True) | Q(drain_lease_until__lt=now))
        .values_list("pk", "status")
    )
    enabled = [pk for pk, status in live if status == Webhook.Status.ENABLED]
    # Disabled webhooks only get their test deliveries.
    with_tests = set(
        due.filter(
            webhook_id__in=[pk for pk, s in live if s != Webhook.Status.ENABLED], is_test=True
        ).values_list("webhook_id", flat=True)
    )
    # Not forced: a webhook whose drain is already queued gets no second job (the queue
    # would grow by one job per due webhook every sweep while the workers are busy).
    woken = wake(enabled + sorted(with_tests)) if (enabled or with_tests) else 0
    return SweepResult(woken=woken, auto_disabled=auto_disable_failing(now))


def auto_disable_failing(now=None) -> int:
    """Webhooks whose every attempt failed for WEBHOOKS_AUTO_DISABLE_AFTER_DAYS turn off."""
    now = now or timezone.now()
    days = settings.WEBHOOKS_AUTO_DISABLE_AFTER_DAYS
    count = 0
    for webhook in Webhook.objects.live().filter(
        status=Webhook.Status.ENABLED, failing_since__lt=now - timedelta(days=days)
    ):
        last = f" Last error: {webhook.last_error}." if webhook.last_error else ""
        reason = f"Every delivery failed for {days} days.{last}"
        if subscription_services.auto_disable(webhook, reason):
            count += 1
            notify_auto_disabled(webhook)
            log.warning("auto-disabled webhook=%s: %s", webhook.pk, reason)
    return count
