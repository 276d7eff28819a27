"""What a real receiver gets from a chatbot flow: the help page's JSON, exactly, delivered by
the delivery engine (drain(), as a worker runs it) to a local pytest-httpserver."""

import json
import re
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook as StandardWebhook

from chatflows.engine import handle_message
from deliveries.drain import drain
from deliveries.models import Attempt, Delivery
from tests.chatflows.conftest import PHONE, add_option, make_question
from tests.deliveries.conftest import received

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SAMPLES = Path(__file__).resolve().parents[2] / "subscriptions" / "samples"
# The help page's two payloads, field for field.
SEED_RESPONSE = json.loads((SAMPLES / "chatbot.response.json").read_text())
SEED_OPTION = json.loads((SAMPLES / "chatbot.option_selected.json").read_text())


@pytest.fixture
def receiver(httpserver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the receiver listens on 127.0.0.1
    httpserver.expect_request("/chatbot", method="POST").respond_with_data("ok")
    return httpserver.url_for("/chatbot")


def deliver(reply):
    for delivery in reply.fired:
        result = drain(delivery.webhook_id)
        assert result.succeeded >= 1, result
    return reply


def types_of(payload: dict) -> dict:
    return {key: type(value) for key, value in payload.items()}


def test_the_toggle_sends_exactly_the_help_pages_fields(campaign, plans, receiver, httpserver):
    plans[0].webhook_toggle = True
    from chatflows import services

    services.save_interaction(plans[0], services.WebhookSettings(url=receiver))
    handle_message(campaign, PHONE, "hi")
    deliver(handle_message(campaign, PHONE, "1"))

    [request] = received(httpserver)
    body = json.loads(request.get_data())
    assert set(body) == set(SEED_OPTION)
    assert types_of(body) == types_of(SEED_OPTION)  # keyword a number, campaignId a string
    assert body == {**SEED_OPTION, "date": body["date"]}  # "One month", keyword 1, as the seed
    assert DATE_RE.match(body["date"])


def test_a_webhook_redirect_sends_exactly_the_help_pages_fields(campaign, receiver, httpserver):
    make_question(campaign.welcome, receiver, prompt="Your name, please?")
    handle_message(campaign, PHONE, "hi")
    deliver(handle_message(campaign, PHONE, "John Doe"))

    [request] = received(httpserver)
    body = json.loads(request.get_data())
    assert set(body) == set(SEED_RESPONSE)
    assert types_of(body) == types_of(SEED_RESPONSE)
    assert body == {**SEED_RESPONSE, "date": body["date"]}
    assert DATE_RE.match(body["date"])


def test_extra_body_parameters_are_merged_and_never_override_the_fields(
    campaign, receiver, httpserver
):
    extra = {"source": "whatsapp", "tags": ["vip"], "label": "forged", "response": "forged"}
    make_question(campaign.welcome, receiver, extra_body=extra)
    handle_message(campaign, PHONE, "hi")
    deliver(handle_message(campaign, PHONE, "John Doe"))

    body = json.loads(received(httpserver)[0].get_data())
    assert body["source"] == "whatsapp" and body["tags"] == ["vip"]
    assert body["label"] == "Welcome Message" and body["response"] == "John Doe"
    assert set(body) == set(SEED_RESPONSE) | {"source", "tags"}


def test_extra_body_parameters_are_merged_into_toggle_payloads_too(
    campaign, plans, receiver, httpserver
):
    add_option(campaign.welcome, 4, "Call me", webhook_toggle=True, url=receiver,
               extra_body={"priority": 1, "keyword": "forged"})
    handle_message(campaign, PHONE, "hi")
    deliver(handle_message(campaign, PHONE, "4"))
    body = json.loads(received(httpserver)[0].get_data())
    assert body["priority"] == 1 and body["keyword"] == 4


def test_custom_headers_are_sent_with_every_request(campaign, plans, receiver, httpserver):
    headers = [("X-Api-Key", "k-123"), ("X-Tenant", "acme")]
    make_question(campaign.welcome, receiver, headers=headers)
    add_option(campaign.welcome, 4, "Call me", webhook_toggle=True, url=receiver,
               headers=headers)
    handle_message(campaign, PHONE, "hi")
    deliver(handle_message(campaign, PHONE, "John"))
    deliver(handle_message(campaign, PHONE, "4"))

    requests = received(httpserver)
    assert len(requests) == 2
    for request in requests:
        assert request.headers["X-Api-Key"] == "k-123"
        assert request.headers["X-Tenant"] == "acme"
        assert request.headers["Content-Type"] == "application/json"


def test_chatbot_requests_are_signed_like_every_webhook(campaign, receiver, httpserver):
    step = make_question(campaign.welcome, receiver)
    handle_message(campaign, PHONE, "hi")
    reply = deliver(handle_message(campaign, PHONE, "John Doe"))

    [request] = received(httpserver)
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["webhook-id"] == reply.fired[0].message_id
    assert headers["webhook-signature"].startswith("v1,")
    assert "x-webhook-signature" in headers
    key = step.webhook.current_key().secret
    assert StandardWebhook(key).verify(request.get_data(), headers)["response"] == "John Doe"


def test_each_request_is_logged_as_an_attempt(campaign, receiver, httpserver):
    make_question(campaign.welcome, receiver)
    handle_message(campaign, PHONE, "hi")
    reply = deliver(handle_message(campaign, PHONE, "John Doe"))
    attempt = Attempt.objects.get()
    assert attempt.delivery_id == reply.fired[0].pk
    assert attempt.response_status == 200
    assert json.loads(attempt.request_body)["response"] == "John Doe"
    assert Delivery.objects.get().status == Delivery.Status.SUCCEEDED


def test_a_failing_receiver_is_retried_by_the_engine(campaign, httpserver, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    httpserver.expect_request("/down").respond_with_data("nope", status=503)
    make_question(campaign.welcome, httpserver.url_for("/down"))
    handle_message(campaign, PHONE, "hi")
    reply = handle_message(campaign, PHONE, "John Doe")
    drain(reply.fired[0].webhook_id)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING  # scheduled for a retry
    assert delivery.attempt_count == 1 and delivery.last_status_code == 503
