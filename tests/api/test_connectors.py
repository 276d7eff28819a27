"""GET/POST /connectors, GET/PATCH/DELETE /connectors/{id}. Secrets are write-only."""

from django.db import connection

from subscriptions.models import Connector
from tests.api.conftest import errors_of
from tests.subscriptions.factories import make_connector, make_webhook

SECRET = "tok_live_0123456789abcdef"


def test_a_connector_is_created_and_its_secret_never_returned(api, acme):
    response = api.post(
        "/connectors",
        {"name": "CRM key", "kind": "api_key", "header_name": "X-Api-Key", "secret": SECRET},
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert SECRET not in response.content.decode()
    assert data["name"] == "CRM key" and data["kind"] == "api_key"
    assert data["header_name"] == "X-Api-Key" and data["username"] == ""
    connector = Connector.objects.get(pk=data["id"])
    assert connector.workspace == acme and connector.secret == SECRET
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM subscriptions_connector WHERE id = %s", [connector.pk])
        assert SECRET not in cursor.fetchone()[0]
    for path in ("/connectors", f"/connectors/{connector.pk}"):
        assert SECRET not in api.get(path).content.decode()


def test_fields_the_kind_does_not_use_are_emptied(api):
    data = api.post(
        "/connectors",
        {
            "name": "Token",
            "kind": "bearer",
            "username": "ann",
            "header_name": "X-A",
            "secret": SECRET,
        },
    ).json()
    assert data["username"] == "" and data["header_name"] == ""


def test_the_list_is_paginated(api, acme, globex):
    connectors = [make_connector(acme) for _ in range(3)]
    make_connector(globex)
    first = api.get("/connectors?limit=2").json()
    assert [c["id"] for c in first["data"]] == [c.pk for c in connectors[:2]]
    rest = api.get(f"/connectors?limit=2&cursor={first['next_cursor']}").json()
    assert [c["id"] for c in rest["data"]] == [connectors[2].pk]
    assert rest["next_cursor"] is None


def test_patch_without_a_secret_keeps_the_current_one(api, acme):
    connector = make_connector(acme, secret=SECRET)
    response = api.patch(f"/connectors/{connector.pk}", {"name": "Renamed"})
    assert response.status_code == 200
    connector.refresh_from_db()
    assert connector.name == "Renamed" and connector.secret == SECRET


def test_patch_with_a_secret_replaces_it(api, acme):
    connector = make_connector(acme, secret=SECRET)
    api.patch(f"/connectors/{connector.pk}", {"secret": "new-secret-value-42"})
    connector.refresh_from_db()
    assert connector.secret == "new-secret-value-42"


def test_patch_to_basic_needs_a_user_name_as_the_form_says(api, acme):
    connector = make_connector(acme)
    response = api.patch(f"/connectors/{connector.pk}", {"kind": "basic"})
    assert errors_of(response) == [("username", "Basic authentication needs a user name.")]


def test_an_unused_connector_is_deleted(api, acme):
    connector = make_connector(acme)
    assert api.delete(f"/connectors/{connector.pk}").status_code == 204
    assert not Connector.objects.filter(pk=connector.pk).exists()


def test_a_connector_in_use_cannot_be_deleted(api, acme):
    connector = make_connector(acme)
    make_webhook(acme, name="Orders", connector=connector)
    response = api.delete(f"/connectors/{connector.pk}")
    assert response.status_code == 409
    assert errors_of(response) == [(None, "Used by Orders: remove it from them first.")]
    assert Connector.objects.filter(pk=connector.pk).exists()
