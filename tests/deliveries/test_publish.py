"""publish(): one transaction stores events and their deliveries, then wakes workers."""

import math

import pytest
from django.db import connection

from deliveries.models import Delivery, Event
from deliveries.services import EventInput, publish, publish_many
from subscriptions.models import Webhook

FORM = {"formName": "Contact us", "email": "jane@example.com"}


def test_an_event_goes_to_every_enabled_webhook_subscribed_to_its_type(make_webhook, acme):
    subscribed = make_webhook("https://a.example/hook", topics=["form.submitted"])
    other_topic = make_webhook("https://b.example/hook", topics=["content.viewed"])
    disabled = make_webhook("https://c.example/hook", topics=["form.submitted"],
                            status=Webhook.Status.DISABLED)
    deleted = make_webhook("https://d.example/hook", topics=["form.submitted"])
    deleted.deleted_at = deleted.created_at
    deleted.save()

    event = publish(acme, "form.submitted", FORM)

    deliveries = Delivery.objects.filter(event=event)
    assert [d.webhook for d in deliveries] == [subscribed]
    assert deliveries[0].status == "pending"
    assert deliveries[0].message_id.startswith("msg_")
    assert not Delivery.objects.filter(webhook__in=[other_topic, disabled, deleted]).exists()


def test_custom_events_match_by_name(make_webhook, acme):
    hook = make_webhook("https://a.example/", topics=["custom"], event_names=["Added To Cart"])
    publish(acme, "custom", {"x": 1}, name="Added To Cart")
    publish(acme, "custom", {"x": 1}, name="Checkout")
    assert Delivery.objects.filter(webhook=hook).count() == 1


def test_the_same_event_id_is_accepted_once(make_webhook, acme):
    make_webhook("https://a.example/", topics=["form.submitted"])
    first = publish(acme, "form.submitted", FORM, event_id="order-1")
    again = publish_many(acme, [EventInput("form.submitted", FORM, event_id="order-1"),
                                EventInput("form.submitted", FORM, event_id="order-1")])
    assert [e.pk for e in again.events] == [first.pk, first.pk]
    assert again.duplicates == 2
    assert Event.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_event_ids_are_per_workspace(make_webhook, acme, globex):
    publish(acme, "form.submitted", FORM, event_id="same")
    publish(globex, "form.submitted", FORM, event_id="same")
    assert Event.objects.count() == 2


def test_fan_out_to_a_thousand_webhooks_is_a_bulk_insert(acme, django_assert_max_num_queries):
    Webhook.objects.bulk_create(
        [Webhook(workspace=acme, name=f"h{i}", url="https://a.example/", topics=["form.submitted"])
         for i in range(1000)]
    )
    # Inserts are batched by 1,000 rows, or fewer where the database caps the parameters of
    # one statement (SQLite): the count depends on deliveries, never one per webhook.
    fields = [f for f in Delivery._meta.concrete_fields if not f.primary_key]
    per_statement = min(1000, connection.ops.bulk_batch_size(fields, [None] * 3000))
    insert_statements = math.ceil(3000 / per_statement)
    with django_assert_max_num_queries(6 + insert_statements):
        result = publish_many(acme, [EventInput("form.submitted", FORM) for _ in range(3)])
    assert result.deliveries == 3000
    assert Delivery.objects.count() == 3000


@pytest.mark.django_db(transaction=True)
def test_workers_are_woken_after_commit_with_one_job_per_webhook(make_webhook, acme):
    from rq import Queue

    from webhooks_site.redis import get_connection

    queue = Queue("default", connection=get_connection())
    queue.empty()
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    get_connection().delete(f"hookshot:drain-queued:{hook.pk}")
    publish_many(acme, [EventInput("form.submitted", FORM) for _ in range(5)])
    publish(acme, "form.submitted", FORM)
    jobs = queue.get_jobs()
    assert [(j.func_name, j.args) for j in jobs] == [("deliveries.jobs.drain", (hook.pk,))]
    queue.empty()


def test_the_success_rate_counts_the_last_24_hours_without_tests(make_webhook):
    from datetime import timedelta

    from django.utils import timezone

    from deliveries.models import Attempt
    from deliveries.services import send, success_rates

    hook = make_webhook("https://a.example/")
    idle = make_webhook("https://b.example/")
    delivery = send(hook, "form.submitted", FORM)
    now = timezone.now()

    def attempt(ok, trigger="event", age=timedelta(hours=1)):
        Attempt.objects.create(delivery=delivery, webhook=hook, number=1, trigger=trigger,
                               event_type="form.submitted", started_at=now - age, succeeded=ok,
                               request_method="POST", request_url="https://a.example/")

    attempt(True)
    attempt(True)
    attempt(False)
    attempt(False, trigger="test")
    attempt(False, age=timedelta(hours=25))
    rates = success_rates([hook.pk, idle.pk], now=now)
    assert (rates[hook.pk].attempts, rates[hook.pk].succeeded, rates[hook.pk].percent) == (3, 2, 67)
    assert idle.pk not in rates
