"""Connectors: reusable credentials whose secret is never shown again in full."""

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Connector
from tests.subscriptions.factories import make_connector, make_webhook
from tests.subscriptions.helpers import assert_error_next_to

LIST_URL = reverse("connector_list", args=["acme"])
NEW_URL = reverse("connector_new", args=["acme"])


def post_new(client, **data):
    fields = {
        "name": "CRM token",
        "kind": "bearer",
        "username": "",
        "header_name": "",
        "secret": "tok_123456",
    }
    fields.update(data)
    return client.post(NEW_URL, fields)


def assert_refused(client, anchor, message, **data):
    count = Connector.objects.count()
    response = post_new(client, **data)
    assert response.status_code == 400
    assert_error_next_to(response, anchor, message)
    assert Connector.objects.count() == count


def test_an_empty_list_explains_connectors(alice_client):
    html = alice_client.get(LIST_URL).content.decode()
    assert "No connectors yet" in html and NEW_URL in html


@pytest.mark.parametrize(
    ("kind", "extra", "sends"),
    [
        ("basic", {"username": "crm"}, "Authorization: Basic"),
        ("bearer", {}, "Authorization: Bearer"),
        ("api_key", {"header_name": "X-API-Key"}, "X-API-Key:"),
    ],
)
def test_an_admin_creates_each_kind_of_connector(alice_client, kind, extra, sends):
    response = post_new(alice_client, kind=kind, secret="s3cret-value-wxyz", **extra)
    assert response.status_code == 302 and response.url == LIST_URL
    connector = Connector.objects.get()
    assert (connector.kind, connector.secret) == (kind, "s3cret-value-wxyz")
    html = alice_client.get(LIST_URL).content.decode()
    assert sends in html
    assert "s3cret-value-wxyz" not in html
    assert connector.masked_secret in html


def test_the_secret_is_stored_encrypted(alice_client):
    post_new(alice_client, secret="s3cret-value-wxyz")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM subscriptions_connector")
        (raw,) = cursor.fetchone()
    assert "s3cret" not in raw


def test_a_name_is_required(alice_client):
    assert_refused(alice_client, 'id="id_name"', "Give the connector a name", name="")


def test_a_name_used_in_the_workspace_is_refused_whatever_its_case(alice_client, acme):
    make_connector(acme, name="CRM Token")
    assert_refused(
        alice_client,
        'id="id_name"',
        "A connector named “CRM Token” exists already",
        name="crm token",
    )


def test_basic_needs_a_user_name(alice_client):
    assert_refused(
        alice_client, 'id="id_username"', "Basic authentication needs a user name.", kind="basic"
    )


def test_a_basic_user_name_cannot_hold_a_colon(alice_client):
    assert_refused(
        alice_client, 'id="id_username"', "cannot contain a colon", kind="basic", username="a:b"
    )


def test_an_api_key_needs_a_header_name(alice_client):
    assert_refused(
        alice_client, 'id="id_header_name"', "Name the header that carries the key", kind="api_key"
    )


def test_an_api_key_header_name_must_be_a_token(alice_client):
    assert_refused(
        alice_client,
        'id="id_header_name"',
        "“X API Key” is not a valid header name",
        kind="api_key",
        header_name="X API Key",
    )


@pytest.mark.parametrize("name", ["Content-Type", "webhook-signature", "Host"])
def test_an_api_key_header_name_cannot_be_reserved(alice_client, name):
    assert_refused(
        alice_client,
        'id="id_header_name"',
        f"{name} is set by the webhook itself",
        kind="api_key",
        header_name=name,
    )


def test_the_secret_is_required_on_create(alice_client):
    assert_refused(alice_client, 'id="id_secret"', "Enter the token.", secret="")


@pytest.mark.parametrize("secret", ["abc\r\nX-Evil: 1", "abc\n"])
def test_a_secret_with_a_line_break_is_refused(alice_client, secret):
    assert_refused(
        alice_client,
        'id="id_secret"',
        "The secret must fit on one line (no line breaks).",
        secret=secret,
    )


@pytest.mark.parametrize(
    ("kind", "secret", "message"),
    [
        ("api_key", " key-pasted-with-a-space", "The API key cannot start or end with a space"),
        ("bearer", "token-with-a-tab\t", "The token cannot start or end with a space"),
        ("bearer", "Zoë’s-token", "The token cannot contain “’”: HTTP headers carry only Latin-1"),
    ],
)
def test_a_secret_a_header_cannot_carry_is_refused(alice_client, kind, secret, message):
    """It would fail every delivery at send time (requests refuses it)."""
    assert_refused(
        alice_client, 'id="id_secret"', message, kind=kind, secret=secret, header_name="X-Key"
    )


def test_a_basic_password_may_have_any_character(alice_client, acme):
    """Basic credentials travel base64-encoded."""
    response = post_new(alice_client, name="Basic", kind="basic", username="zoë",
                        secret=" pässwörd’s ")
    assert response.status_code == 302
    assert acme.connectors.get(name="Basic").secret == " pässwörd’s "


def test_the_edit_page_never_shows_the_secret(alice_client, acme):
    connector = make_connector(acme, secret="s3cret-value-wxyz")
    html = alice_client.get(reverse("connector_edit", args=["acme", connector.pk])).content.decode()
    assert "s3cret-value-wxyz" not in html
    assert "Leave empty to keep the current secret (ends in …wxyz)." in html


def test_the_edit_page_gives_no_hint_of_a_short_secret(alice_client, acme):
    connector = make_connector(acme, secret="pw12")
    html = alice_client.get(reverse("connector_edit", args=["acme", connector.pk])).content.decode()
    assert "Leave empty to keep the current secret." in html
    assert "ends in" not in html


def test_an_empty_secret_on_edit_keeps_the_current_one(alice_client, acme):
    connector = make_connector(acme, secret="s3cret-value-wxyz")
    response = alice_client.post(
        reverse("connector_edit", args=["acme", connector.pk]),
        {"name": "Renamed", "kind": "bearer", "secret": ""},
    )
    assert response.status_code == 302
    connector.refresh_from_db()
    assert (connector.name, connector.secret) == ("Renamed", "s3cret-value-wxyz")


def test_a_new_secret_on_edit_replaces_the_current_one(alice_client, acme):
    connector = make_connector(acme, secret="s3cret-value-wxyz")
    alice_client.post(
        reverse("connector_edit", args=["acme", connector.pk]),
        {"name": connector.name, "kind": "bearer", "secret": "n3w-secret"},
    )
    connector.refresh_from_db()
    assert connector.secret == "n3w-secret"


def test_the_list_counts_the_live_webhooks_using_each_connector(alice_client, acme):
    connector = make_connector(acme)
    make_webhook(acme, connector=connector)
    make_webhook(acme, connector=connector)
    make_webhook(acme, connector=connector, deleted_at=timezone.now())
    assert "2 webhooks" in alice_client.get(LIST_URL).content.decode()


def test_a_connector_in_use_cannot_be_deleted(alice_client, acme):
    connector = make_connector(acme)
    make_webhook(acme, name="Orders hook", connector=connector)
    make_webhook(acme, name="CRM sync", connector=connector)
    response = alice_client.post(
        reverse("connector_delete", args=["acme", connector.pk]), follow=True
    )
    assert "Used by CRM sync, Orders hook: remove it from them first." in response.content.decode()
    assert Connector.objects.filter(pk=connector.pk).exists()


def test_an_unused_connector_is_deleted_after_confirming(alice_client, acme):
    connector = make_connector(acme, name="CRM token")
    page = reverse("connector_delete", args=["acme", connector.pk])
    assert "Delete “CRM token”?" in alice_client.get(page).content.decode()
    response = alice_client.post(page)
    assert response.status_code == 302 and response.url == LIST_URL
    assert not Connector.objects.exists()


def test_deleting_a_connector_detaches_it_from_deleted_webhooks(alice_client, acme):
    connector = make_connector(acme)
    gone = make_webhook(acme, connector=connector, deleted_at=timezone.now())
    alice_client.post(reverse("connector_delete", args=["acme", connector.pk]))
    gone.refresh_from_db()
    assert gone.connector is None
    assert not Connector.objects.exists()


def test_new_connector_from_the_webhook_form_returns_there(alice_client):
    back = reverse("webhook_new", args=["acme"])
    response = alice_client.post(
        f"{NEW_URL}?next={back}",
        {"name": "CRM", "kind": "bearer", "secret": "x", "next": back},
    )
    assert response.url == back


def test_next_never_leads_off_site(alice_client):
    response = alice_client.post(
        NEW_URL, {"name": "CRM", "kind": "bearer", "secret": "x", "next": "//evil.example/"}
    )
    assert response.url == LIST_URL


def test_the_database_refuses_a_connector_name_differing_only_in_case(acme, globex):
    """The forms and the API check names ignoring case; the constraint holds it for anything
    that bypasses them (the admin, a script, two requests at once)."""
    from django.db import IntegrityError, transaction

    make_connector(acme, name="CRM")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_connector(acme, name="crm")
    assert make_connector(globex, name="crm").pk  # another workspace may use it
