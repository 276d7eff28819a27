"""Who wakes a drain, and how often: every job in the queue costs a worker its overhead, so
none may be wasted, and no delivery may be left without one.

- The sweeper wakes a webhook whose drain is not already queued or running.
- A drain job that finds its webhook busy leaves a note; the busy drain drains again after.
- A batched webhook's next batch is a job scheduled for the end of its interval.
- An ordered webhook's claim waits for a locked row instead of skipping it (PostgreSQL).
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rq import Queue
from rq.registry import ScheduledJobRegistry

from deliveries import drain as drain_module
from deliveries.drain import drain
from deliveries.models import Delivery
from deliveries.services import EventInput, ask_for_another_drain, publish, publish_many, wake
from deliveries.sweeper import sweep
from subscriptions.models import Webhook
from tests.deliveries.conftest import received
from webhooks_site.redis import get_connection


@pytest.fixture
def queue():
    q = Queue("default", connection=get_connection())
    q.empty()
    return q


def drain_jobs(queue):
    return sorted(job.args[0] for job in queue.get_jobs())


def test_the_sweeper_does_not_queue_a_second_drain_for_a_webhook_already_queued(
    make_webhook, acme, queue, django_capture_on_commit_callbacks
):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    with django_capture_on_commit_callbacks(execute=True):
        publish(acme, "form.submitted", {})  # its wake-up queues one drain
    assert drain_jobs(queue) == [hook.pk]

    assert sweep().woken == 0
    assert sweep().woken == 0
    assert drain_jobs(queue) == [hook.pk]


def test_the_sweeper_leaves_a_webhook_being_drained_alone_until_its_lease_expires(
    make_webhook, acme, queue
):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    publish(acme, "form.submitted", {})
    queue.empty()
    get_connection().flushdb()  # the wake-up was lost
    Webhook.objects.filter(pk=hook.pk).update(
        drain_lease_until=timezone.now() + timedelta(seconds=30))
    assert sweep().woken == 0

    # The drain died: once its lease expires the sweeper wakes the webhook.
    Webhook.objects.filter(pk=hook.pk).update(
        drain_lease_until=timezone.now() - timedelta(seconds=1))
    assert sweep().woken == 1
    assert drain_jobs(queue) == [hook.pk]


def test_a_drain_that_finds_its_webhook_busy_asks_the_holder_to_drain_again(
    make_webhook, httpserver, allow_private, acme, queue
):
    httpserver.expect_request("/w").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/w"), topics=["form.submitted"])
    Webhook.objects.filter(pk=hook.pk).update(
        drain_lease_until=timezone.now() + timedelta(seconds=30))
    publish(acme, "form.submitted", {"n": 1})
    queue.empty()

    busy = drain(hook.pk)
    assert busy.skipped and busy.sent == 0
    assert drain_jobs(queue) == []

    # The holder finishes: it releases the webhook and, seeing the note, queues a drain.
    Webhook.objects.filter(pk=hook.pk).update(drain_lease_until=None)
    finished = drain(hook.pk)
    assert finished.sent == 1
    assert drain_jobs(queue) == [hook.pk]


def test_without_a_note_a_finished_drain_queues_nothing(
    make_webhook, httpserver, allow_private, acme, queue
):
    httpserver.expect_request("/w").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/w"), topics=["form.submitted"])
    publish_many(acme, [EventInput("form.submitted", {"n": n}) for n in range(3)])
    queue.empty()
    get_connection().flushdb()

    assert drain(hook.pk).sent == 3
    assert drain_jobs(queue) == []
    # A note left while it ran would have queued one (the control).
    publish(acme, "form.submitted", {"n": 3})
    queue.empty()
    ask_for_another_drain(hook.pk)
    assert drain(hook.pk).sent == 1
    assert drain_jobs(queue) == [hook.pk]
    assert len(received(httpserver)) == 4


def test_a_delivery_stored_while_a_drain_runs_gets_a_job_of_its_own(
    make_webhook, acme, queue, django_capture_on_commit_callbacks
):
    """drain() clears the wake mark before it claims: a wake-up after that queues a job."""
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    wake([hook.pk])
    assert drain_jobs(queue) == [hook.pk]
    queue.empty()
    with django_capture_on_commit_callbacks(execute=True):
        publish(acme, "form.submitted", {})
    assert drain_jobs(queue) == []  # the mark says a drain is queued (the control)
    drain(hook.pk)  # it clears the mark on the way in
    with django_capture_on_commit_callbacks(execute=True):
        publish(acme, "form.submitted", {})
    assert drain_jobs(queue) == [hook.pk]


def test_a_batched_webhook_schedules_its_next_batch_for_the_end_of_its_interval(
    make_webhook, httpserver, allow_private, acme, queue
):
    httpserver.expect_request("/b").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/b"), topics=["form.submitted"], mode="batched",
                        batch_size=2, batch_interval_seconds=60)
    publish_many(acme, [EventInput("form.submitted", {"n": n}) for n in range(3)])
    queue.empty()
    registry = ScheduledJobRegistry(queue=queue)

    before = timezone.now()
    assert drain(hook.pk).sent == 2
    [job_id] = registry.get_job_ids()
    assert queue.fetch_job(job_id).args == (hook.pk,)
    when = registry.get_scheduled_time(job_id)
    assert before + timedelta(seconds=55) < when < before + timedelta(seconds=61)
    assert drain_jobs(queue) == []  # nothing queued to spin on meanwhile

    # Asked again before the interval ends (a new event's wake-up): still one scheduled job.
    publish(acme, "form.submitted", {"n": 3})
    assert drain(hook.pk).sent == 0
    assert registry.get_job_ids() == [job_id]


def test_a_batched_webhook_with_nothing_left_schedules_nothing(
    make_webhook, httpserver, allow_private, acme, queue
):
    httpserver.expect_request("/b").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/b"), topics=["form.submitted"], mode="batched",
                        batch_size=5, batch_interval_seconds=60)
    publish_many(acme, [EventInput("form.submitted", {"n": n}) for n in range(3)])
    assert drain(hook.pk).sent == 3
    assert ScheduledJobRegistry(queue=queue).get_job_ids() == []


@pytest.mark.django_db(transaction=True)
def test_an_ordered_claim_waits_for_a_locked_oldest_row_instead_of_skipping_it(
    make_webhook, acme
):
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) exist on PostgreSQL only; CI runs this")
    hook = make_webhook("https://a.example/", topics=["form.submitted"], ordered=True)
    publish_many(acme, [EventInput("form.submitted", {"n": n}) for n in range(3)])
    oldest, *_ = Delivery.objects.order_by("id")
    locked = threading.Event()
    release = threading.Event()

    def hold_the_oldest_row():
        # Another transaction (a resend, say) holds the oldest delivery for a moment.
        from django.db import connections

        try:
            with transaction.atomic():
                Delivery.objects.select_for_update().get(pk=oldest.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_the_oldest_row)
    holder.start()
    assert locked.wait(10)
    claimed = []
    claimer = threading.Thread(
        target=lambda: claimed.extend(drain_module._claim(Webhook.objects.get(pk=hook.pk), 10)))
    claimer.start()
    claimer.join(1)
    assert claimer.is_alive(), "the claim skipped the locked row instead of waiting for it"
    release.set()
    holder.join(10)
    claimer.join(10)
    assert [d.event.payload["n"] for d in claimed] == [0, 1, 2]
