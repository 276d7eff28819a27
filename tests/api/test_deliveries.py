"""Test events, deliveries and the delivery log: POST /webhooks/{id}/test, GET
/deliveries/{id}, GET /webhooks/{id}/attempts, GET /attempts/{id}, POST
/deliveries/{id}/resend, POST /webhooks/{id}/recover."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deliveries.drain import drain
from deliveries.models import Attempt, Delivery
from subscriptions import validation
from tests.api.conftest import errors_of
from tests.subscriptions.factories import make_webhook

T0 = datetime(2024, 6, 18, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver(httpserver, settings):
    """A real local endpoint (on 127.0.0.1, so private networks are allowed)."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    httpserver.expect_request("/hook").respond_with_data("thanks", status=200)
    return httpserver


def make_attempt(
    webhook,
    *,
    number=1,
    ok=True,
    started_at=T0,
    event_type="content.viewed",
    delivery=None,
    **fields,
) -> Attempt:
    delivery = delivery or Delivery.objects.create(
        workspace=webhook.workspace,
        webhook=webhook,
        event_type=event_type,
        status="succeeded" if ok else "failed",
        attempt_count=number,
    )
    return Attempt.objects.create(
        delivery=delivery,
        webhook=webhook,
        number=number,
        trigger="event",
        event_type=event_type,
        started_at=started_at,
        duration_ms=12,
        succeeded=ok,
        request_method="POST",
        request_url=webhook.url,
        request_headers={"Authorization": "Bearer ••••••••••••abcd"},
        request_body='{"payload": {}}',
        response_status=200 if ok else 500,
        response_body="thanks" if ok else "boom",
        **fields,
    )


def test_a_test_event_is_sent_for_real_and_its_outcome_and_attempt_can_be_read(api, acme, receiver):
    webhook = make_webhook(acme, url=receiver.url_for("/hook"), topics=["form.submitted"])
    response = api.post(f"/webhooks/{webhook.pk}/test", {"type": "form.submitted"})
    assert response.status_code == 202, response.content
    delivery = response.json()
    assert delivery["is_test"] is True and delivery["status"] == "pending"
    assert delivery["webhook"] == webhook.pk and delivery["event_type"] == "form.submitted"

    drain(webhook.pk)  # what the worker does

    outcome = api.get(f"/deliveries/{delivery['id']}").json()
    assert outcome["status"] == "succeeded" and outcome["last_status_code"] == 200
    assert outcome["attempt_count"] == 1 and outcome["next_attempt_at"] is None
    [request] = [r for r, _ in receiver.log]
    assert request.headers["webhook-id"] == delivery["message_id"]

    attempts = api.get(f"/webhooks/{webhook.pk}/attempts").json()["data"]
    assert [(a["delivery"], a["trigger"], a["status_code"], a["succeeded"]) for a in attempts] == [
        (delivery["id"], "test", 200, True)
    ]
    detail = api.get(f"/attempts/{attempts[0]['id']}").json()
    assert detail["response_body"] == "thanks" and detail["response_truncated"] is False
    assert json.loads(detail["request_body"]) == json.loads(request.get_data())
    assert detail["request_headers"]["webhook-id"] == delivery["message_id"]


def test_a_test_event_must_be_one_of_the_webhooks_topics_as_on_the_screen(api, alice_client, acme):
    webhook = make_webhook(acme, topics=["content.viewed"])
    response = api.post(f"/webhooks/{webhook.pk}/test", {"type": "form.submitted"})
    assert response.status_code == 400
    assert errors_of(response) == [("type", validation.TEST_TYPE_MESSAGE)]
    page = alice_client.post(
        reverse("webhook_send_test", args=["acme", webhook.pk]), {"type": "form.submitted"}
    )
    assert validation.TEST_TYPE_MESSAGE.replace("'", "&#x27;") in page.content.decode()
    assert Delivery.objects.count() == 0


def test_the_attempts_log_is_newest_first_and_paginated(api, acme):
    webhook = make_webhook(acme)
    attempts = [make_attempt(webhook, started_at=T0 + timedelta(minutes=i)) for i in range(5)]
    # Two attempts at the very same instant are both listed, by id.
    twin = make_attempt(webhook, started_at=attempts[2].started_at)
    expected = [attempts[4], attempts[3], twin, attempts[2], attempts[1], attempts[0]]

    seen, cursor = [], ""
    while True:
        data = api.get(f"/webhooks/{webhook.pk}/attempts?limit=4{cursor}").json()
        seen += [a["id"] for a in data["data"]]
        if not data["next_cursor"]:
            break
        cursor = f"&cursor={data['next_cursor']}"
    assert seen == [a.pk for a in expected]


def test_the_attempts_log_filters_as_the_logs_page(api, acme):
    webhook = make_webhook(acme, topics=["content.viewed", "form.submitted"])
    ok = make_attempt(webhook, ok=True, started_at=T0)
    failed = make_attempt(webhook, ok=False, started_at=T0 + timedelta(hours=1))
    form = make_attempt(webhook, event_type="form.submitted", started_at=T0 + timedelta(hours=2))
    retry = make_attempt(
        webhook, number=2, delivery=failed.delivery, started_at=T0 + timedelta(hours=3), ok=False
    )
    other = make_webhook(acme)
    make_attempt(other)

    def ids(query):
        response = api.get(f"/webhooks/{webhook.pk}/attempts?{query}")
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["data"]]

    assert ids("result=succeeded") == [form.pk, ok.pk]
    assert ids("result=failed") == [retry.pk, failed.pk]
    assert ids("event_type=form.submitted") == [form.pk]
    assert ids("since=2024-06-18T13:00:00Z&until=2024-06-18T14:59:59Z") == [form.pk, failed.pk]
    assert ids("since=2024-06-18T13:00:00Z&until=2024-06-18T15:00:00Z") == [
        retry.pk,
        form.pk,
        failed.pk,
    ]  # both ends included, as on the logs page
    assert ids(f"message_id={failed.delivery.message_id}") == [retry.pk, failed.pk]
    assert errors_of(api.get(f"/webhooks/{webhook.pk}/attempts?result=maybe")) == [
        ("result", "Select a valid choice. maybe is not one of the available choices.")
    ]


def test_a_malformed_message_id_gets_the_logs_pages_message(api, alice_client, acme):
    from deliveries.logs import LogFilterForm

    webhook = make_webhook(acme)
    response = api.get(f"/webhooks/{webhook.pk}/attempts?message_id=nope")
    form = LogFilterForm({"message_id": "nope"})
    assert not form.is_valid()
    assert errors_of(response) == [("message_id", form.errors["message_id"][0])]


def test_a_cursor_from_elsewhere_is_a_400(api, acme):
    webhook = make_webhook(acme)
    response = api.get(f"/webhooks/{webhook.pk}/attempts?cursor=garbage")
    assert response.status_code == 400 and errors_of(response)[0][0] == "cursor"


def test_the_attempt_detail_has_the_request_and_the_response(api, acme):
    webhook = make_webhook(acme)
    attempt = make_attempt(
        webhook, ok=False, response_truncated=True, response_headers={"Content-Type": "text/plain"}
    )
    data = api.get(f"/attempts/{attempt.pk}").json()
    assert data == {
        "id": attempt.pk,
        "delivery": attempt.delivery_id,
        "message_id": attempt.delivery.message_id,
        "number": 1,
        "trigger": "event",
        "event_type": "content.viewed",
        "started_at": "2024-06-18T12:00:00Z",
        "duration_ms": 12,
        "succeeded": False,
        "status_code": 500,
        "error": None,
        "request_method": "POST",
        "request_url": webhook.url,
        "request_headers": {"Authorization": "Bearer ••••••••••••abcd"},
        "request_body": '{"payload": {}}',
        "response_headers": {"Content-Type": "text/plain"},
        "response_body": "boom",
        "response_truncated": True,
    }


def test_resend_queues_the_delivery_again_with_the_same_message_id(api, acme, receiver):
    webhook = make_webhook(acme, url=receiver.url_for("/hook"))
    failed = make_attempt(webhook, ok=False).delivery
    response = api.post(f"/deliveries/{failed.pk}/resend")
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    drain(webhook.pk)
    failed.refresh_from_db()
    assert failed.status == "succeeded"
    resent = failed.attempts.order_by("-number").first()
    assert resent.trigger == "resend"
    [request] = [r for r, _ in receiver.log]
    assert request.headers["webhook-id"] == failed.message_id


def test_a_delivery_being_sent_cannot_be_resent(api, acme):
    webhook = make_webhook(acme)
    delivery = Delivery.objects.create(
        workspace=acme, webhook=webhook, event_type="x", status="sending"
    )
    response = api.post(f"/deliveries/{delivery.pk}/resend")
    assert response.status_code == 409
    delivery.refresh_from_db()
    assert delivery.status == "sending"


def test_recover_resends_the_failed_deliveries_since_a_time(api, acme):
    webhook = make_webhook(acme)
    old = make_attempt(webhook, ok=False).delivery
    recent = [make_attempt(webhook, ok=False).delivery for _ in range(2)]
    succeeded = make_attempt(webhook, ok=True).delivery
    test = Delivery.objects.create(
        workspace=acme, webhook=webhook, event_type="x", status="failed", is_test=True
    )
    since = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=old.pk).update(created_at=since - timedelta(minutes=1))
    Delivery.objects.filter(pk__in=[d.pk for d in [*recent, succeeded, test]]).update(
        created_at=since + timedelta(minutes=1)
    )

    response = api.post(f"/webhooks/{webhook.pk}/recover", {"since": since.isoformat()})
    assert response.status_code == 202
    assert response.json() == {"recovered": 2}
    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert [statuses[d.pk] for d in recent] == ["pending", "pending"]
    assert statuses[old.pk] == "failed" and statuses[test.pk] == "failed"
    assert statuses[succeeded.pk] == "succeeded"
    assert {d.next_trigger for d in Delivery.objects.filter(status="pending")} == {"resend"}


def test_recover_needs_a_time(api, acme):
    webhook = make_webhook(acme)
    response = api.post(f"/webhooks/{webhook.pk}/recover", {"since": "yesterday"})
    assert errors_of(response) == [("since", "Enter a date and time such as 2024-06-18T23:22:36Z.")]


def test_a_deleted_webhooks_deliveries_and_attempts_are_gone(api, acme):
    webhook = make_webhook(acme)
    attempt = make_attempt(webhook)
    api.delete(f"/webhooks/{webhook.pk}")
    assert api.get(f"/deliveries/{attempt.delivery_id}").status_code == 404
    assert api.get(f"/attempts/{attempt.pk}").status_code == 404
    assert api.get(f"/webhooks/{webhook.pk}/attempts").status_code == 404


def test_a_page_of_attempts_costs_the_same_queries_whatever_its_size(
    api, acme, django_assert_max_num_queries
):
    webhook = make_webhook(acme)
    for i in range(30):
        make_attempt(webhook, started_at=T0 + timedelta(seconds=i))
    # key lookup, last-used stamp, webhook, the page, the audit row (and savepoints).
    with django_assert_max_num_queries(8):
        data = api.get(f"/webhooks/{webhook.pk}/attempts?limit=30").json()
    assert len(data["data"]) == 30
