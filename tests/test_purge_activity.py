"""The hourly purge of what is neither a delivery log nor configuration: the management API's
audit log and chatbot conversations, kept as long as the delivery logs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.models import ApiCall
from chatflows.models import ChatMessage, Conversation
from webhooks_site import jobs

pytestmark = pytest.mark.django_db


def test_old_api_calls_and_idle_conversations_go_recent_ones_stay(acme, settings):
    from chatflows import services
    from chatflows.models import Campaign

    settings.WEBHOOKS_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)
    calls = ApiCall.objects.bulk_create(
        ApiCall(workspace=acme, method="GET", path=f"/api/v1/c{i}", status_code=200,
                created_at=old if i < 3 else recent)
        for i in range(5)
    )
    campaign = services.create_campaign(Campaign(workspace=acme, campaign_id="1", name="C"))
    idle = Conversation.objects.create(campaign=campaign, phone_number="+1", last_message_at=old)
    ChatMessage.objects.create(conversation=idle, direction="in", text="hi", created_at=old)
    active = Conversation.objects.create(campaign=campaign, phone_number="+2",
                                         started_at=old, last_message_at=recent)

    assert jobs.purge_old_activity(now=now) == {"api_calls": 3, "conversations": 1}

    assert set(ApiCall.objects.values_list("pk", flat=True)) == {c.pk for c in calls[3:]}
    assert list(Conversation.objects.values_list("pk", flat=True)) == [active.pk]
    assert not ChatMessage.objects.filter(conversation_id=idle.pk).exists()
    assert jobs.purge_old_activity(now=now) == {"api_calls": 0, "conversations": 0}


def test_deleting_in_batches_goes_through_every_batch(acme):
    ApiCall.objects.bulk_create(
        ApiCall(workspace=acme, method="GET", path="/x", status_code=200) for _ in range(7)
    )
    assert jobs.delete_in_batches(ApiCall.objects.all(), batch_size=3) == 7
    assert not ApiCall.objects.exists()


def test_the_activity_purge_is_scheduled_hourly():
    import importlib

    from rq import cron

    import webhooks_site.cron as site_cron

    registered = []
    original = cron.register
    cron.register = lambda func, queue_name, **kw: registered.append(
        (func.__module__ + "." + func.__name__, kw.get("interval")))
    try:
        importlib.reload(site_cron)
    finally:
        cron.register = original
    assert ("webhooks_site.jobs.purge_old_activity", 3600) in registered
