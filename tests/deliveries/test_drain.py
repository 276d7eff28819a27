"""drain(): what a receiver gets, and what is recorded, for every delivery rule.

A real local HTTP receiver (pytest-httpserver); drain() is called directly, as the worker
calls it. End-to-end runs through a real worker are in test_end_to_end.py."""

import hashlib
import hmac
import json
from datetime import timedelta
from pathlib import Path

import pytest
import xmltodict
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook
from werkzeug import Response

from deliveries.drain import drain
from deliveries.models import Attempt, Delivery
from deliveries.services import EventInput, publish, publish_many, resend, send, send_test
from subscriptions.models import Webhook
from subscriptions.services import rotate_signing_key
from tests.deliveries.conftest import received

FORM = {"formName": "Contact us", "email": "jane@example.com", "userId": "u-42"}
SEED_FORM = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "form.submitted.json").read_text()
)


@pytest.fixture
def hook(make_webhook, httpserver, allow_private):
    httpserver.expect_request("/hook").respond_with_data("thanks", status=200)
    return make_webhook(httpserver.url_for("/hook"), topics=["form.submitted"])


def make_due(*deliveries):
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def test_a_delivery_is_signed_both_ways_and_verifiable_by_independent_code(hook, httpserver, acme):
    publish(acme, "form.submitted", FORM)
    result = drain(hook.pk)

    assert (result.sent, result.succeeded) == (1, 1)
    [request] = received(httpserver)
    body = request.get_data()
    key = hook.current_key().secret
    # Standard Webhooks, checked by the reference library.
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert StandardWebhook(key).verify(body, headers) == json.loads(body)
    # X-Webhook-Signature: lowercase hex HMAC-SHA256 of the raw body, keyed with the key as shown.
    expected = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    assert request.headers["X-Webhook-Signature"] == expected
    assert json.loads(body) == {"payload": FORM}
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("Hookshot-Webhooks/")
    delivery = Delivery.objects.get()
    assert request.headers["webhook-id"] == delivery.message_id
    assert delivery.status == "succeeded"
    attempt = Attempt.objects.get()
    assert (attempt.number, attempt.trigger, attempt.response_status) == (1, "event", 200)
    assert attempt.response_body == "thanks"
    hook.refresh_from_db()
    assert hook.last_succeeded is True and hook.last_status_code == 200


def test_during_a_key_grace_both_keys_sign(hook, httpserver, acme):
    old = hook.current_key().secret
    rotate_signing_key(hook, grace_hours=24)
    new = hook.current_key().secret
    publish(acme, "form.submitted", FORM)
    drain(hook.pk)
    [request] = received(httpserver)
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert len(headers["webhook-signature"].split(" ")) == 2
    for key in (old, new):
        StandardWebhook(key).verify(request.get_data(), headers)
    digest = hmac.new(new.encode(), request.get_data(), hashlib.sha256).hexdigest()
    assert headers["x-webhook-signature"] == digest


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("raw", "application/json"), ("slack", "application/json"), ("xml", "application/xml")],
)
def test_every_format_reaches_the_receiver(make_webhook, httpserver, allow_private, acme, fmt,
                                           content_type):
    httpserver.expect_request("/f").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/f"), topics=["form.submitted"], format=fmt,
                        extra_body={"source": "crm"})
    publish(acme, "form.submitted", FORM if fmt != "slack" else SEED_FORM)
    drain(hook.pk)
    [request] = received(httpserver)
    assert request.headers["Content-Type"].startswith(content_type)
    body = request.get_data()
    if fmt == "raw":
        assert json.loads(body) == {**FORM, "source": "crm"}
    elif fmt == "slack":
        message = json.loads(body)
        assert message["source"] == "crm"
        text = json.dumps(message["blocks"])
        assert "Demo Content - Contact us" in text and "Mike" in text
    else:
        document = xmltodict.parse(body)
        assert document["event"]["@type"] == "form.submitted"
        assert document["event"]["formName"] == "Contact us"


def test_custom_headers_and_connector_auth_are_sent_and_masked_in_the_log(
    make_webhook, make_connector, httpserver, allow_private, acme
):
    httpserver.expect_request("/h").respond_with_data("ok")
    connector = make_connector("basic", username="svc", secret="pa55-word-xyz")
    hook = make_webhook(httpserver.url_for("/h"), topics=["form.submitted"], connector=connector,
                        headers=[("X-Api-Key", "key-abcdef-123456"), ("X-Tenant", "acme")])
    publish(acme, "form.submitted", FORM)
    drain(hook.pk)
    [request] = received(httpserver)
    assert request.headers["X-Api-Key"] == "key-abcdef-123456"
    assert request.headers["X-Tenant"] == "acme"
    assert request.authorization.username == "svc"
    assert request.authorization.password == "pa55-word-xyz"
    logged = json.dumps(Attempt.objects.get().request_headers)
    for secret in ("pa55-word-xyz", "key-abcdef-123456", hook.current_key().secret):
        assert secret not in logged
    assert "webhook-signature" in logged  # signatures are not secrets


def test_a_failure_is_retried_on_schedule_with_the_same_webhook_id(
    make_webhook, httpserver, allow_private, acme
):
    httpserver.expect_request("/r").respond_with_data("down for maintenance", status=503)
    hook = make_webhook(httpserver.url_for("/r"), topics=["form.submitted"], max_attempts=3)
    publish(acme, "form.submitted", FORM)
    before = timezone.now()

    drain(hook.pk)
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempt_count == 1
    assert delivery.next_trigger == "retry"
    assert timedelta(seconds=59) <= delivery.next_attempt_at - before <= timedelta(seconds=65)
    attempt = Attempt.objects.get()
    assert (attempt.response_status, attempt.response_body) == (503, "down for maintenance")

    drain(hook.pk)  # not due yet: nothing sent
    assert len(received(httpserver)) == 1

    make_due(delivery)
    drain(hook.pk)
    delivery.refresh_from_db()
    assert delivery.attempt_count == 2
    assert timedelta(seconds=115) <= delivery.next_attempt_at - timezone.now() <= timedelta(
        seconds=125)
    make_due(delivery)
    drain(hook.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"  # 3 attempts in all
    numbers = list(Attempt.objects.order_by("number").values_list("number", "trigger"))
    assert numbers == [(1, "event"), (2, "retry"), (3, "retry")]
    ids = {r.headers["webhook-id"] for r in received(httpserver)}
    assert ids == {delivery.message_id}


def test_a_410_disables_the_webhook_at_once(make_webhook, httpserver, allow_private, acme):
    httpserver.expect_request("/g").respond_with_data("gone", status=410)
    hook = make_webhook(httpserver.url_for("/g"), topics=["form.submitted"])
    publish_many(acme, [EventInput("form.submitted", FORM) for _ in range(3)])
    drain(hook.pk)
    hook.refresh_from_db()
    assert hook.status == "auto_disabled"
    assert "410" in hook.disabled_reason
    assert len(received(httpserver)) == 1
    statuses = sorted(Delivery.objects.values_list("status", flat=True))
    assert statuses == ["failed", "pending", "pending"]  # held while disabled


def test_retry_after_on_429_is_honoured(make_webhook, httpserver, allow_private, acme):
    httpserver.expect_request("/slow").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "600"})
    )
    hook = make_webhook(httpserver.url_for("/slow"), topics=["form.submitted"])
    publish(acme, "form.submitted", FORM)
    drain(hook.pk)
    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at - timezone.now() >= timedelta(seconds=595)


def test_a_redirect_is_a_failure_and_is_not_followed(make_webhook, httpserver, allow_private,
                                                     acme):
    httpserver.expect_request("/moved").respond_with_response(
        Response("", status=301, headers={"Location": httpserver.url_for("/elsewhere")})
    )
    httpserver.expect_request("/elsewhere").respond_with_data("should never be reached")
    hook = make_webhook(httpserver.url_for("/moved"), topics=["form.submitted"])
    publish(acme, "form.submitted", FORM)
    drain(hook.pk)
    assert [r.path for r in received(httpserver)] == ["/moved"]
    attempt = Attempt.objects.get()
    assert attempt.response_status == 301 and attempt.succeeded is False
    assert Delivery.objects.get().status == "pending"


def test_a_private_address_is_blocked_when_private_networks_are_off(
    make_webhook, httpserver, settings, acme
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    httpserver.expect_request("/x").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/x"), topics=["form.submitted"])
    publish(acme, "form.submitted", FORM)
    drain(hook.pk)
    assert received(httpserver) == []
    attempt = Attempt.objects.get()
    assert attempt.error_kind == "blocked"
    assert attempt.error_message.startswith("Blocked")
    assert Delivery.objects.get().last_error.startswith("Blocked")


def test_an_ordered_webhook_holds_later_deliveries_behind_a_failing_one(
    make_webhook, httpserver, allow_private, acme
):
    state = {"up": False}

    def handler(request):
        return Response("ok" if state["up"] else "no", status=200 if state["up"] else 500)

    httpserver.expect_request("/o").respond_with_handler(handler)
    hook = make_webhook(httpserver.url_for("/o"), topics=["form.submitted"], ordered=True)
    for n in range(3):
        publish(acme, "form.submitted", {**FORM, "n": n})
    drain(hook.pk)
    assert len(received(httpserver)) == 1  # only the head was tried
    assert Attempt.objects.count() == 1

    state["up"] = True
    drain(hook.pk)  # head not due yet: everything waits
    assert len(received(httpserver)) == 1
    make_due(*Delivery.objects.all())
    drain(hook.pk)
    bodies = [json.loads(r.get_data())["payload"]["n"] for r in received(httpserver)]
    assert bodies == [0, 0, 1, 2]
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_batched_webhook_sends_one_array_per_interval(make_webhook, httpserver, allow_private,
                                                        acme):
    httpserver.expect_request("/b").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/b"), topics=["form.submitted"], mode="batched",
                        batch_size=3, batch_interval_seconds=60)
    publish_many(acme, [EventInput("form.submitted", {**FORM, "n": n}) for n in range(5)])
    drain(hook.pk)
    [request] = received(httpserver)
    batch = json.loads(request.get_data())
    assert [item["payload"]["n"] for item in batch] == [0, 1, 2]
    drain(hook.pk)  # the interval has not passed
    assert len(received(httpserver)) == 1
    Webhook.objects.filter(pk=hook.pk).update(
        last_delivery_at=timezone.now() - timedelta(seconds=61))
    drain(hook.pk)
    assert [i["payload"]["n"] for i in json.loads(received(httpserver)[1].get_data())] == [3, 4]
    assert Attempt.objects.count() == 5


def test_get_webhooks_send_fields_as_query_parameters_and_fill_placeholders(
    make_webhook, httpserver, allow_private, acme
):
    httpserver.expect_request("/q").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/q") + "?who=${email}", method="GET",
                        topics=["form.submitted"])
    publish(acme, "form.submitted", {"email": "a+b@example.com", "n": 7, "tags": ["x"]})
    drain(hook.pk)
    [request] = received(httpserver)
    assert request.method == "GET"
    assert request.args["who"] == "a+b@example.com"
    assert request.args["n"] == "7" and request.args["tags"] == '["x"]'
    assert request.get_data() == b""
    assert hook.current_key()  # GETs are signed over the empty body
    assert request.headers["X-Webhook-Signature"] == hmac.new(
        hook.current_key().secret.encode(), b"", hashlib.sha256).hexdigest()


def test_test_deliveries_are_never_retried(make_webhook, httpserver, allow_private):
    httpserver.expect_request("/t").respond_with_data("boom", status=500)
    hook = make_webhook(httpserver.url_for("/t"), topics=["form.submitted"])
    delivery = send_test(hook, "form.submitted")
    drain(hook.pk)
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    attempt = Attempt.objects.get()
    assert attempt.trigger == "test" and attempt.response_status == 500
    sent = json.loads(received(httpserver)[0].get_data())["payload"]
    assert sent == SEED_FORM  # the catalog's sample, from the seed page
    hook.refresh_from_db()
    assert hook.failing_since is None  # a test says nothing about real traffic


def test_a_disabled_webhook_gets_test_events_but_holds_real_ones(make_webhook, httpserver,
                                                                 allow_private):
    httpserver.expect_request("/d").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/d"), topics=["form.submitted"])
    real = send(hook, "form.submitted", FORM)
    Webhook.objects.filter(pk=hook.pk).update(status="disabled")
    test = send_test(hook, "form.submitted")
    drain(hook.pk)
    real.refresh_from_db()
    test.refresh_from_db()
    assert (real.status, test.status) == ("pending", "succeeded")


def test_resend_makes_a_new_attempt_with_the_same_webhook_id(hook, httpserver, acme):
    publish(acme, "form.submitted", FORM)
    drain(hook.pk)
    delivery = Delivery.objects.get()
    resend(delivery)
    drain(hook.pk)
    attempts = list(Attempt.objects.order_by("number").values_list("number", "trigger"))
    assert attempts == [(1, "event"), (2, "resend")]
    ids = [r.headers["webhook-id"] for r in received(httpserver)]
    assert ids == [delivery.message_id, delivery.message_id]


def test_a_claim_whose_lease_expired_is_taken_over(hook, httpserver, acme):
    publish(acme, "form.submitted", FORM)
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status="sending", lease_expires_at=timezone.now() + timedelta(minutes=5))
    drain(hook.pk)
    assert received(httpserver) == []  # another worker still holds it
    Delivery.objects.filter(pk=delivery.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1))
    drain(hook.pk)
    assert len(received(httpserver)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"


def test_only_one_drain_per_webhook_runs_at_a_time(hook, httpserver, acme):
    publish(acme, "form.submitted", FORM)
    Webhook.objects.filter(pk=hook.pk).update(
        drain_lease_until=timezone.now() + timedelta(seconds=30))
    result = drain(hook.pk)
    assert result.skipped and received(httpserver) == []


def test_rate_limited_webhooks_space_their_requests(make_webhook, httpserver, allow_private, acme):
    import time as clock

    httpserver.expect_request("/rl").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/rl"), topics=["form.submitted"],
                        rate_limit_per_second=10)
    publish_many(acme, [EventInput("form.submitted", FORM) for _ in range(6)])
    started = clock.monotonic()
    drain(hook.pk)
    assert clock.monotonic() - started >= 0.45  # 6 requests at 10/s: 5 gaps of 0.1 s
    assert len(received(httpserver)) == 6


def test_a_receiver_failing_five_times_in_a_row_is_paused_and_the_worker_moves_on(
    make_webhook, httpserver, allow_private, acme
):
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    hook = make_webhook(httpserver.url_for("/down"), topics=["form.submitted"])
    publish_many(acme, [EventInput("form.submitted", FORM) for _ in range(12)])
    result = drain(hook.pk)
    assert result.paused is True
    assert (result.sent, result.failed) == (5, 5)
    assert len(received(httpserver)) == 5
    waiting = Delivery.objects.filter(attempt_count=0)
    assert waiting.count() == 7
    assert all(d.next_attempt_at > timezone.now() for d in waiting)  # not hammered again
    assert set(waiting.values_list("status", flat=True)) == {"pending"}


def test_get_attempts_log_the_real_query_string(make_webhook, httpserver, allow_private, acme):
    httpserver.expect_request("/q").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/q"), method="GET", topics=["form.submitted"])
    publish(acme, "form.submitted", {"email": "a+b@example.com"})
    drain(hook.pk)
    expected = httpserver.url_for("/q") + "?email=a%2Bb%40example.com"
    assert Attempt.objects.get().request_url == expected


def test_a_drain_of_a_disabled_webhook_does_not_wake_itself_again(hook, acme):
    from rq import Queue

    from webhooks_site.redis import get_connection

    publish(acme, "form.submitted", FORM)  # a real delivery, held while disabled
    Webhook.objects.filter(pk=hook.pk).update(status="disabled")
    queue = Queue("default", connection=get_connection())
    queue.empty()
    result = drain(hook.pk)
    assert result.sent == 0
    assert queue.count == 0  # nothing to do: no new drain job


def test_a_410_emails_the_workspace_admins_once(make_webhook, httpserver, allow_private, acme,
                                               alice, bob, mailoutbox):
    httpserver.expect_request("/g").respond_with_data("gone", status=410)
    hook = make_webhook(httpserver.url_for("/g"), topics=["form.submitted"])
    publish(acme, "form.submitted", FORM)
    drain(hook.pk)
    assert [m.to for m in mailoutbox] == [[alice.email]]  # admins only, not bob
    assert hook.name in mailoutbox[0].subject or hook.name in mailoutbox[0].body


def test_a_drain_does_not_query_once_per_delivery(hook, httpserver, acme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    publish_many(acme, [EventInput("form.submitted", FORM) for _ in range(60)])
    with CaptureQueriesContext(connection) as queries:
        result = drain(hook.pk)
    assert result.succeeded == 60
    # Per chunk: claim (events joined), keys, headers, bulk writes, webhook bookkeeping.
    assert len(queries) < 60, len(queries)


def test_a_secret_that_no_longer_decrypts_fails_the_attempts_not_the_job(
    make_webhook, make_connector, httpserver, allow_private, acme
):
    """FIELD_ENCRYPTION_KEY changed without the old key kept: the connector's secret cannot be
    decrypted. Each delivery gets a failed attempt ("Internal error", retried by the policy)
    that the logs page shows; the job ends normally and releases the webhook."""
    from django.db import connection

    httpserver.expect_request("/hook").respond_with_data("ok")
    connector = make_connector()
    hook = make_webhook(httpserver.url_for("/hook"), topics=["form.submitted"],
                        connector=connector)
    with connection.cursor() as cursor:  # ciphertext of another key, as after a bad rotation
        cursor.execute("UPDATE subscriptions_connector SET secret = %s WHERE id = %s",
                       ["gAAAAABnot-a-token-of-ours", connector.pk])
    publish_many(acme, [EventInput("form.submitted", FORM) for _ in range(2)])

    result = drain(hook.pk)

    assert result.failed == 2 and not received(httpserver)
    attempts = list(Attempt.objects.order_by("id"))
    assert [a.error_kind for a in attempts] == ["internal", "internal"]
    # The exception's type, never its message (which could quote a credential).
    assert attempts[0].error_message == (
        "Internal error (ImproperlyConfigured): nothing was sent; the worker's log has the details."
    )
    for delivery in Delivery.objects.all():
        assert delivery.status == "pending" and delivery.attempt_count == 1
        assert delivery.next_attempt_at > timezone.now()  # the policy's first retry
    hook.refresh_from_db()
    assert hook.drain_lease_until is None and not hook.last_succeeded


def test_an_unexpected_error_building_one_request_fails_that_delivery_only(
    make_webhook, httpserver, allow_private, acme, monkeypatch
):
    from deliveries import formats

    httpserver.expect_request("/hook").respond_with_data("ok")
    hook = make_webhook(httpserver.url_for("/hook"), topics=["form.submitted"])
    render = formats.render

    def fails_on_the_second(format, event_type, payload, **kwargs):
        if payload.get("n") == 1:
            raise RuntimeError("a bug in a format")
        return render(format, event_type, payload, **kwargs)

    monkeypatch.setattr(formats, "render", fails_on_the_second)
    publish_many(acme, [EventInput("form.submitted", {**FORM, "n": n}) for n in range(3)])
    drain(hook.pk)
    assert len(received(httpserver)) == 2
    outcome = dict(Delivery.objects.values_list("event__payload__n", "status"))
    assert outcome == {0: "succeeded", 1: "pending", 2: "succeeded"}
