from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.models import Delivery
from deliveries.services import publish
from deliveries.sweeper import auto_disable_failing, sweep
from subscriptions.models import Webhook


@pytest.fixture
def queue():
    from rq import Queue

    from webhooks_site.redis import get_connection

    q = Queue("default", connection=get_connection())
    q.empty()
    yield q
    q.empty()


def test_the_sweeper_wakes_webhooks_with_due_or_abandoned_deliveries(make_webhook, acme, queue):
    due = make_webhook("https://a.example/", topics=["form.submitted"])
    later = make_webhook("https://b.example/", topics=["content.viewed"])
    abandoned = make_webhook("https://c.example/", topics=["message.read"])
    publish(acme, "form.submitted", {})
    publish(acme, "content.viewed", {})
    publish(acme, "message.read", {})
    now = timezone.now()
    Delivery.objects.filter(webhook=later).update(next_attempt_at=now + timedelta(minutes=5))
    Delivery.objects.filter(webhook=abandoned).update(
        status="sending", lease_expires_at=now - timedelta(seconds=1)
    )
    queue.empty()

    result = sweep()

    assert result.woken == 2
    assert sorted(j.args[0] for j in queue.get_jobs()) == sorted([due.pk, abandoned.pk])


def test_disabled_webhooks_are_not_woken_for_real_deliveries(make_webhook, acme, queue):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    publish(acme, "form.submitted", {})
    Webhook.objects.filter(pk=hook.pk).update(status="disabled")
    queue.empty()
    assert sweep().woken == 0


def test_a_webhook_failing_for_five_days_is_auto_disabled_with_the_reason(make_webhook, settings):
    settings.WEBHOOKS_AUTO_DISABLE_AFTER_DAYS = 5
    failing = make_webhook("https://a.example/", name="failing")
    recent = make_webhook("https://b.example/", name="recent")
    now = timezone.now()
    Webhook.objects.filter(pk=failing.pk).update(
        failing_since=now - timedelta(days=5, minutes=1), last_error="Connection refused")
    Webhook.objects.filter(pk=recent.pk).update(failing_since=now - timedelta(days=4))

    assert auto_disable_failing(now) == 1
    failing.refresh_from_db()
    recent.refresh_from_db()
    assert failing.status == "auto_disabled"
    assert failing.disabled_reason == (
        "Every delivery failed for 5 days. Last error: Connection refused.")
    assert recent.status == "enabled"
