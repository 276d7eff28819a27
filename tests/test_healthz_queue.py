"""/healthz "queue": the default queue's depth and how late the oldest due delivery is."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rq import Queue

from deliveries.models import Delivery
from subscriptions.models import Webhook
from subscriptions.services import create_webhook
from webhooks_site import health


@pytest.fixture
def own_redis(settings, tmp_path):
    """A Redis of this test's own, so the queue depth is exactly what the test put there."""
    from webhooks_site.redis import embedded_url, start_embedded_redis

    server = start_embedded_redis(tmp_path)
    settings.REDIS_URL = embedded_url(tmp_path)
    yield server
    server.shutdown()


def hook(acme, name, status="enabled"):
    webhook = create_webhook(Webhook(workspace=acme, name=name, url="https://a.example/",
                                     topics=["form.submitted"]))
    Webhook.objects.filter(pk=webhook.pk).update(status=status)
    return webhook


def pending(webhook, due_seconds_ago, status="pending"):
    return Delivery.objects.create(
        workspace_id=webhook.workspace_id, webhook=webhook, event_type="form.submitted",
        payload={}, status=status,
        next_attempt_at=timezone.now() - timedelta(seconds=due_seconds_ago),
    )


def test_healthz_reports_queue_depth_and_the_oldest_due_delivery(client, acme, own_redis):
    enabled = hook(acme, "On")
    off = hook(acme, "Off", status="auto_disabled")
    pending(enabled, 90)
    pending(enabled, 30)
    pending(enabled, -600)  # not due yet
    pending(enabled, 5000, status="succeeded")
    pending(off, 86400)  # waits on purpose until its webhook is switched on
    queue = Queue("default", connection=health._redis_connection())
    queue.enqueue("webhooks_site.jobs.heartbeat")
    queue.enqueue("webhooks_site.jobs.heartbeat")

    body = client.get("/healthz").json()
    assert body["queue"]["ok"] is True
    assert body["queue"]["depth"] == 2
    assert 90 <= body["queue"]["oldest_due_seconds"] <= 95
    for key in ("database", "redis", "workers", "status"):
        assert key in body  # the existing report is unchanged


def test_an_empty_queue_reports_zeros(client, db, own_redis):
    body = client.get("/healthz").json()
    assert body["queue"] == {"ok": True, "depth": 0, "oldest_due_seconds": 0}


def test_with_redis_down_the_queue_is_not_ok_but_the_backlog_is_still_told(client, acme,
                                                                            own_redis):
    pending(hook(acme, "On"), 120)
    own_redis.shutdown()
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 503
    assert body["queue"]["ok"] is False and body["queue"]["depth"] is None
    assert body["queue"]["error"] == "Redis is unreachable"
    assert 120 <= body["queue"]["oldest_due_seconds"] <= 125


def test_the_oldest_due_delivery_is_one_bounded_query(acme, django_assert_num_queries):
    pending(hook(acme, "On"), 10)
    with django_assert_num_queries(1) as queries:
        assert health.oldest_due_seconds() >= 10
    sql = queries.captured_queries[0]["sql"]
    assert "ORDER BY" in sql and "LIMIT 1" in sql
