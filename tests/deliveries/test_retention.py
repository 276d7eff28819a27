"""Retention: old logs go in batches; pending work and recent rows stay."""

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from deliveries import retention
from deliveries.models import Attempt, Delivery, Event
from tests.deliveries.logs_factories import make_attempt, make_delivery

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


def deletes(queries, table):
    return [q for q in queries.captured_queries
            if q["sql"].startswith("DELETE") and f'"{table}"' in q["sql"].split("WHERE")[0]]


def test_old_attempts_finished_deliveries_and_lone_events_are_purged_in_batches(make_webhook):
    hook = make_webhook("https://a.example/")
    old_done = [make_attempt(hook, started_at=OLD - timedelta(minutes=i)) for i in range(7)]
    recent = make_attempt(hook, started_at=RECENT)
    # A pending delivery keeps its row (and its event) even with an old attempt purged.
    pending = make_delivery(hook, status="pending", created_at=OLD)
    make_attempt(hook, pending, started_at=OLD, succeeded=False)
    # A finished delivery whose newest attempt is recent keeps everything.
    mixed = make_delivery(hook, status="succeeded", created_at=OLD)
    make_attempt(hook, mixed, started_at=OLD, succeeded=False)
    mixed_recent = make_attempt(hook, mixed, started_at=RECENT, succeeded=True)
    lone_event = Event.objects.create(workspace=hook.workspace, type="form.submitted",
                                      payload={}, received_at=OLD)
    recent_event = Event.objects.create(workspace=hook.workspace, type="form.submitted",
                                        payload={}, received_at=RECENT)

    with CaptureQueriesContext(connection) as queries:
        result = retention.purge(now=NOW, batch_size=3)

    assert (result.attempts, result.deliveries, result.events) == (9, 7, 8)
    assert retention.PurgeResult(9, 7, 8).total == 24
    # 9 old attempts in batches of 3, 7 deliveries, 8 events: never one giant DELETE.
    assert len(deletes(queries, "deliveries_attempt")) >= 3
    assert len(deletes(queries, "deliveries_delivery")) == 3
    assert len(deletes(queries, "deliveries_event")) == 3
    assert result.batches == 3 + 3 + 3

    assert set(Attempt.objects.values_list("pk", flat=True)) == {recent.pk, mixed_recent.pk}
    assert set(Delivery.objects.values_list("pk", flat=True)) == {
        recent.delivery_id, pending.pk, mixed.pk
    }
    assert not Delivery.objects.filter(pk__in=[a.delivery_id for a in old_done]).exists()
    assert not Event.objects.filter(pk=lone_event.pk).exists()
    assert Event.objects.filter(pk=recent_event.pk).exists()
    assert Event.objects.filter(pk=pending.event_id).exists()


def test_the_retention_setting_decides_the_cutoff(make_webhook, settings):
    hook = make_webhook("https://a.example/")
    make_attempt(hook, started_at=NOW - timedelta(days=8))
    settings.WEBHOOKS_LOG_RETENTION_DAYS = 10
    assert retention.purge_old(now=NOW) == 0
    settings.WEBHOOKS_LOG_RETENTION_DAYS = 7
    assert retention.purge_old(now=NOW) == 3  # the attempt, its delivery, its event
    assert not Attempt.objects.exists()


def test_the_cron_job_purges(make_webhook):
    from deliveries import jobs

    hook = make_webhook("https://a.example/")
    make_attempt(hook, started_at=datetime.now(UTC) - timedelta(days=40))
    assert jobs.purge_old_logs() == {"attempts": 1, "deliveries": 1, "events": 1}


def test_the_purge_is_scheduled_hourly_and_the_warning_every_five_minutes():
    import importlib

    from rq import cron

    import webhooks_site.cron as site_cron

    registered = []
    original = cron.register

    def spy(func, queue_name, **kwargs):
        registered.append((func.__module__ + "." + func.__name__, kwargs.get("interval")))

    cron.register = spy
    try:
        importlib.reload(site_cron)
    finally:
        cron.register = original
    assert ("deliveries.jobs.purge_old_logs", 3600) in registered
    assert ("deliveries.jobs.warn_failing_webhooks", 300) in registered
