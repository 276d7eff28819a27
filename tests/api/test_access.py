"""Who gets in: an active admin API key of the workspace, nothing else; and never another
workspace's objects."""

import pytest
from django.utils import timezone

from deliveries.models import Attempt, Delivery
from subscriptions.models import Connector, Webhook
from tests.api.conftest import ApiClient, errors_of
from tests.subscriptions.factories import make_connector, make_webhook
from workspaces.models import ApiKey

# Every operation, with what it needs: {webhook}, {deleted}, {delivery}, {attempt},
# {connector} are Acme's objects.
OPERATIONS = [
    ("GET", "/event-types", None),
    ("GET", "/webhooks", None),
    ("POST", "/webhooks", {"name": "X", "url": "https://x.example.com/", "topics": ["custom"]}),
    ("GET", "/webhooks/{webhook}", None),
    ("PATCH", "/webhooks/{webhook}", {"name": "Renamed"}),
    ("DELETE", "/webhooks/{webhook}", None),
    ("POST", "/webhooks/{deleted}/restore", None),
    ("POST", "/webhooks/{webhook}/rotate-key", {"grace_hours": 24}),
    ("GET", "/webhooks/{webhook}/key", None),
    ("POST", "/webhooks/{webhook}/test", {"type": "content.viewed"}),
    ("GET", "/deliveries/{delivery}", None),
    ("POST", "/deliveries/{delivery}/resend", None),
    ("POST", "/webhooks/{webhook}/recover", {"since": "2024-01-01T00:00:00Z"}),
    ("GET", "/webhooks/{webhook}/attempts", None),
    ("GET", "/attempts/{attempt}", None),
    ("GET", "/connectors", None),
    ("POST", "/connectors", {"name": "C", "kind": "bearer", "secret": "tok_0123456789"}),
    ("GET", "/connectors/{connector}", None),
    ("PATCH", "/connectors/{connector}", {"name": "Renamed"}),
    ("DELETE", "/connectors/{connector}", None),
]
WITH_IDS = [op for op in OPERATIONS if "{" in op[1]]


@pytest.fixture
def acme_objects(acme):
    webhook = make_webhook(acme, name="Acme orders", topics=["content.viewed"])
    deleted = make_webhook(acme, name="Acme old")
    Webhook.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    delivery = Delivery.objects.create(
        workspace=acme, webhook=webhook, event_type="content.viewed", status="failed"
    )
    attempt = Attempt.objects.create(
        delivery=delivery,
        webhook=webhook,
        number=1,
        trigger="event",
        event_type="content.viewed",
        request_method="POST",
        request_url=webhook.url,
        response_body="acme-secret-response",
    )
    connector = make_connector(acme, name="Acme token")
    return {
        "webhook": webhook.pk,
        "deleted": deleted.pk,
        "delivery": delivery.pk,
        "attempt": attempt.pk,
        "connector": connector.pk,
    }


def call(client, method, path, body, ids):
    return client.request(method, path.format(**ids), body)


def assert_unchanged(acme):
    assert Webhook.objects.filter(workspace=acme, name="Acme orders", deleted_at=None).exists()
    assert Webhook.objects.filter(workspace=acme, name="Acme old").get().deleted_at is not None
    assert Connector.objects.filter(workspace=acme, name="Acme token").exists()
    assert Delivery.objects.get().status == "failed"


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize("key", ["none", "garbage", "client-token", "revoked", "basic-auth"])
def test_anything_but_an_active_api_key_gets_401(
    method, path, body, key, acme, acme_key, acme_objects
):
    api_key, raw = acme_key
    if key == "revoked":
        api_key.revoke()
    token = {
        "none": None,
        "garbage": "hk_not-a-key",
        "client-token": acme.client_token,
        "revoked": raw,
        "basic-auth": None,
    }[key]
    client = ApiClient(token)
    headers = {"Authorization": f"Basic {raw}"} if key == "basic-auth" else None
    response = client.request(method, path.format(**acme_objects), body, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    [(field, message)] = errors_of(response)
    assert field is None and message.startswith("Missing, invalid or revoked API key")
    assert_unchanged(acme)


@pytest.mark.parametrize(("method", "path", "body"), WITH_IDS)
def test_another_workspaces_key_gets_404_for_acmes_ids(
    method, path, body, globex_api, acme, acme_objects
):
    response = call(globex_api, method, path, body, acme_objects)
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"].startswith("No such ")
    assert "Acme" not in response.content.decode()
    assert_unchanged(acme)


def test_another_workspaces_lists_show_none_of_acmes_objects(globex_api, acme_objects):
    for path in ("/webhooks", "/webhooks?deleted=true", "/connectors"):
        assert globex_api.get(path).json()["data"] == []


def test_a_webhook_cannot_use_another_workspaces_connector(globex_api, acme_objects):
    response = globex_api.post(
        "/webhooks",
        {
            "name": "X",
            "url": "https://x.example.com/",
            "topics": ["custom"],
            "event_names": ["A"],
            "connector": acme_objects["connector"],
        },
    )
    assert errors_of(response) == [
        ("connector", "Select a valid choice: pick one of your connectors.")
    ]


def test_the_key_is_stored_as_a_hash_only(acme_key):
    from django.db import connection

    api_key, raw = acme_key
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM workspaces_apikey")
        rows = cursor.fetchall()
    assert raw not in repr(rows)
    assert api_key.prefix == raw[:8] and raw.startswith("hk_")


def test_last_used_is_recorded(api, acme_key):
    api_key, _raw = acme_key
    assert api_key.last_used_at is None
    api.get("/webhooks")
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_a_revoked_key_stops_at_once(api, acme_key):
    assert api.get("/webhooks").status_code == 200
    acme_key[0].revoke()
    assert api.get("/webhooks").status_code == 401


def test_the_description_and_the_docs_need_no_key(db):
    client = ApiClient(None)
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200


def test_api_keys_belong_to_one_workspace(acme_key, globex_key):
    assert ApiKey.for_key(acme_key[1]).workspace.slug == "acme"
    assert ApiKey.for_key(globex_key[1]).workspace.slug == "globex"
