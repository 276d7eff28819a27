"""POST /api/v1/chatflows/<campaignId>/messages: what channels call."""

import json

import pytest

from chatflows.models import ChatMessage, Conversation
from deliveries.models import Delivery, Event
from tests.chatflows.conftest import PHONE, add_option

URL = "https://hooks.example.com/chatbot"


def post(client, workspace, body, campaign_id="13010", raw=None, token=None):
    return client.post(
        f"/api/v1/chatflows/{campaign_id}/messages",
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token or workspace.client_token}",
    )


def nothing_stored():
    return (Conversation.objects.count(), ChatMessage.objects.count(), Event.objects.count(),
            Delivery.objects.count()) == (0, 0, 0, 0)


def test_a_message_gets_the_bots_reply(client, acme, campaign, plans):
    response = post(client, acme, {"phoneNumber": PHONE, "text": "hi"})
    assert response.status_code == 200
    assert response.json() == {
        "reply": "Welcome! Which membership would you like?\n1. One month\n2. Six months\n"
                 "3. One year",
        "webhooks_fired": [],
    }


def test_the_reply_lists_the_message_ids_of_the_webhooks_fired(client, acme, campaign, plans):
    add_option(campaign.welcome, 4, "Call me", webhook_toggle=True, url=URL, prompt="OK")
    post(client, acme, {"phoneNumber": PHONE, "text": "hi"})
    response = post(client, acme, {"phoneNumber": PHONE, "text": "4"})
    assert response.status_code == 200
    assert response.json()["reply"] == "OK"
    assert response.json()["webhooks_fired"] == [Delivery.objects.get().message_id]
    assert response.json()["webhooks_fired"][0].startswith("msg_")


@pytest.mark.parametrize("token", ["", "Bearer", "Bearer nope", "Basic abc"])
def test_a_bad_token_is_401(client, acme, campaign, token):
    response = client.post("/api/v1/chatflows/13010/messages",
                           data=json.dumps({"phoneNumber": PHONE, "text": "hi"}),
                           content_type="application/json", HTTP_AUTHORIZATION=token)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert nothing_stored()


def test_an_unknown_campaign_is_404(client, acme, campaign):
    response = post(client, acme, {"phoneNumber": PHONE, "text": "hi"}, campaign_id="99999")
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "This workspace has no campaign 99999."


def test_another_workspaces_campaign_is_404_with_this_workspaces_token(
    client, acme, globex, campaign
):
    response = post(client, globex, {"phoneNumber": PHONE, "text": "hi"})
    assert response.status_code == 404
    assert nothing_stored()


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"text": "hi"}, "phoneNumber", "phoneNumber is required"),
        ({"phoneNumber": "5500000000", "text": "hi"}, "phoneNumber", "E.164"),
        ({"phoneNumber": "+52 55 0000 0000", "text": "hi"}, "phoneNumber", "E.164"),
        ({"phoneNumber": "+052550000000", "text": "hi"}, "phoneNumber", "E.164"),
        ({"phoneNumber": "+12345", "text": "hi"}, "phoneNumber", "E.164"),
        ({"phoneNumber": "+1234567890123456", "text": "hi"}, "phoneNumber", "E.164"),
        ({"phoneNumber": "+５２5500000000", "text": "hi"}, "phoneNumber", "E.164"),
        ({"phoneNumber": 525500000000, "text": "hi"}, "phoneNumber", "E.164"),
        ({"phoneNumber": PHONE}, "text", "text is required"),
        ({"phoneNumber": PHONE, "text": ""}, "text", "text is empty"),
        ({"phoneNumber": PHONE, "text": "   "}, "text", "text is empty"),
        ({"phoneNumber": PHONE, "text": 1}, "text", "must be a string"),
        ({"phoneNumber": PHONE, "text": "x" * 4097}, "text",
         "4,097 characters, the limit is 4,096"),
        ({"phoneNumber": PHONE, "text": "hi", "channel": "sms"}, "channel", "Unknown field"),
        (["hi"], None, "must be a JSON object"),
        ("hi", None, "must be a JSON object"),
    ],
)
def test_a_bad_body_is_400_saying_what_is_wrong_and_stores_nothing(
    client, acme, campaign, plans, body, field, words
):
    response = post(client, acme, body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == field
    assert words in error["message"]
    assert nothing_stored()


def test_text_of_exactly_4096_characters_is_accepted(client, acme, campaign, plans):
    assert post(client, acme, {"phoneNumber": PHONE, "text": "x" * 4096}).status_code == 200


def test_every_problem_of_a_body_is_listed(client, acme, campaign):
    response = post(client, acme, {"phoneNumber": "nope", "text": ""})
    assert [e["field"] for e in response.json()["errors"]] == ["phoneNumber", "text"]


@pytest.mark.parametrize("raw", ["{", "not json", "", '{"phoneNumber": NaN}'])
def test_a_body_that_is_not_json_is_400(client, acme, campaign, raw):
    response = post(client, acme, None, raw=raw)
    assert response.status_code == 400
    assert "JSON" in response.json()["errors"][0]["message"]
    assert nothing_stored()


def test_a_paused_campaign_is_409(client, acme, campaign):
    campaign.status = campaign.Status.PAUSED
    campaign.save()
    response = post(client, acme, {"phoneNumber": PHONE, "text": "hi"})
    assert response.status_code == 409
    assert "paused" in response.json()["errors"][0]["message"]
    assert nothing_stored()


def test_only_post_is_allowed(client, acme, campaign):
    response = client.get("/api/v1/chatflows/13010/messages",
                          HTTP_AUTHORIZATION=f"Bearer {acme.client_token}")
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_the_api_needs_no_csrf_token(acme, campaign):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert post(client, acme, {"phoneNumber": PHONE, "text": "hi"}).status_code == 200


def test_the_chat_api_answers_503_json_while_the_database_is_unreachable(client, monkeypatch):
    from django.db import OperationalError

    from chatflows import api

    def unreachable(request):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(api, "authenticate", unreachable)
    response = client.post("/api/v1/chatflows/13010/messages", data="{}",
                           content_type="application/json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "unavailable" in response.json()["errors"][0]["message"]
