"""POST /api/v1/events: what producers get back, and that bad input stores nothing."""

import json

import pytest

from deliveries.models import Delivery, Event

URL = "/api/v1/events"
FORM = {"formName": "Contact us", "email": "jane@example.com"}


@pytest.fixture
def post(client, acme):
    def do(body, token=None, raw=False, **extra):
        data = body if raw else json.dumps(body)
        return client.post(
            URL, data=data, content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token or acme.client_token}", **extra,
        )

    return do


def nothing_stored():
    return Event.objects.count() == 0 and Delivery.objects.count() == 0


def test_one_event_is_accepted_with_its_id(post, make_webhook):
    hook = make_webhook("https://a.example/", topics=["form.submitted"])
    response = post({"type": "form.submitted", "payload": FORM})
    assert response.status_code == 202
    body = response.json()
    event = Event.objects.get()
    assert body == {"ids": [event.event_id], "accepted": 1, "duplicates": 0}
    assert event.event_id.startswith("evt_")
    assert Delivery.objects.get().webhook == hook


def test_a_batch_is_accepted_in_order_and_an_id_sent_again_is_a_no_op(post):
    batch = [{"type": "form.submitted", "id": f"e{i}", "payload": FORM} for i in range(3)]
    assert post(batch).json() == {"ids": ["e0", "e1", "e2"], "accepted": 3, "duplicates": 0}
    again = post([{"type": "content.viewed", "id": "e1", "payload": {}}])
    assert again.status_code == 202
    assert again.json() == {"ids": ["e1"], "accepted": 0, "duplicates": 1}
    assert Event.objects.count() == 3
    assert Event.objects.get(event_id="e1").type == "form.submitted"


def test_custom_and_system_events_are_accepted(post):
    assert post({"type": "custom", "name": "Added To Cart", "payload": {}}).status_code == 202
    assert post({"type": "system.email_opened", "payload": {}}).status_code == 202


@pytest.mark.parametrize(
    ("item", "field", "message"),
    [
        ({"payload": FORM}, "type", "type is required"),
        ({"type": "nope.nope", "payload": FORM}, "type", "Unknown event type 'nope.nope'"),
        ({"type": "system.app_installed", "payload": {}}, "type", "cannot be sent through"),
        ({"type": "custom", "payload": {}}, "name", "A custom event needs a name."),
        ({"type": "form.submitted", "name": "x", "payload": {}}, "name", "only for custom"),
        ({"type": "form.submitted"}, "payload", "payload is required"),
        ({"type": "form.submitted", "payload": [1, 2]}, "payload", "must be a JSON object"),
        ({"type": "form.submitted", "payload": "text"}, "payload", "must be a JSON object"),
        ({"type": "form.submitted", "id": 7, "payload": {}}, "id", "id must be a non-empty"),
        ({"type": "form.submitted", "id": "x" * 201, "payload": {}}, "id", "at most 200"),
        ({"type": "form.submitted", "payload": {}, "extra": 1}, "extra", "Unknown field"),
        ({"type": "form.submitted", "payload": {"b": "x" * 270_000}}, "payload", "too big"),
    ],
)
def test_a_bad_item_gets_a_clear_error_and_nothing_is_stored(post, item, field, message):
    response = post([{"type": "form.submitted", "payload": FORM}, item])
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["index"] == 1
    assert error["field"] == field
    assert message in error["message"]
    assert nothing_stored()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": "form.submitted", "payload": {"x": NaN}}', "NaN is not valid JSON"),
        (b"[]", "The array is empty"),
        (b"\xff\xfe", "not valid UTF-8"),
        (b"[" * 100 + b"]" * 100, "nested too deeply"),
        (b'"just a string"', "Each event must be a JSON object"),
    ],
)
def test_a_malformed_body_gets_a_400_json_error(post, raw, message):
    response = post(raw, raw=True)
    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert nothing_stored()


def test_more_than_500_events_are_refused_whole(post):
    response = post([{"type": "form.submitted", "payload": {}}] * 501)
    assert response.status_code == 400
    assert "At most 500 events" in response.json()["errors"][0]["message"]
    assert nothing_stored()


def test_a_bad_or_missing_token_is_401(client, post, acme, globex):
    assert post({"type": "form.submitted", "payload": {}}, token="ct_wrong").status_code == 401
    response = client.post(URL, data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "client token" in response.json()["errors"][0]["message"]
    assert nothing_stored()


def test_a_rolled_token_stops_working(post, acme):
    from workspaces.services import roll_client_token

    old = acme.client_token
    roll_client_token(acme)
    assert post({"type": "form.submitted", "payload": {}}, token=old).status_code == 401


def test_a_body_over_5_mib_is_413(post):
    big = [{"type": "form.submitted", "payload": {"b": "x" * 200_000}}] * 27
    response = post(big)
    assert response.status_code == 413
    assert nothing_stored()


def test_over_the_workspace_rate_limit_is_429(post, settings, acme):
    from webhooks_site.redis import get_connection

    for key in get_connection().scan_iter(f"hookshot:ingest:{acme.pk}:*"):
        get_connection().delete(key)
    settings.WEBHOOKS_INGEST_RATE_PER_MINUTE = 3
    assert post([{"type": "form.submitted", "payload": {}}] * 3).status_code == 202
    response = post({"type": "form.submitted", "payload": {}})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert Event.objects.count() == 3


def test_only_post_is_allowed(client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


def test_events_of_one_workspace_never_reach_another(post, make_webhook, globex):
    make_webhook("https://g.example/", workspace=globex, topics=["form.submitted"])
    post({"type": "form.submitted", "payload": FORM})
    assert Delivery.objects.count() == 0
