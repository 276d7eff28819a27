import pytest
from django.urls import reverse

from workspaces.models import Workspace


def test_the_token_is_stored_encrypted_and_found_by_its_hash(acme):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT client_token FROM workspaces_workspace WHERE id = %s", [acme.pk])
        stored = cursor.fetchone()[0]
    assert acme.client_token.startswith("ct_")
    assert acme.client_token not in stored
    assert Workspace.for_client_token(acme.client_token) == acme
    assert Workspace.for_client_token("ct_wrong") is None


def test_the_access_keys_page_shows_the_token_masked(alice_client, acme):
    html = alice_client.get(reverse("access_keys", args=["acme"])).content.decode()
    assert acme.masked_client_token in html
    assert acme.client_token not in html


def test_reveal_is_a_post_that_shows_the_whole_token(alice_client, acme):
    url = reverse("reveal_client_token", args=["acme"])
    assert alice_client.get(url).status_code == 405
    html = alice_client.post(url).content.decode()
    assert acme.client_token in html
    htmx = alice_client.post(url, HTTP_HX_REQUEST="true").content.decode()
    assert acme.client_token in htmx and "<html" not in htmx


def test_rolling_asks_first_then_replaces_the_token(alice_client, acme):
    url = reverse("roll_client_token", args=["acme"])
    old = acme.client_token
    confirm = alice_client.get(url)
    assert b"stops working at once" in confirm.content
    acme.refresh_from_db()
    assert acme.client_token == old  # a GET changes nothing

    response = alice_client.post(url, follow=True)
    acme.refresh_from_db()
    assert acme.client_token != old
    assert Workspace.for_client_token(old) is None
    assert Workspace.for_client_token(acme.client_token) == acme
    assert b"A new client token is active" in response.content


@pytest.mark.django_db
def test_rolling_requires_a_csrf_token(alice, acme):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("roll_client_token", args=["acme"]))
    assert response.status_code == 403
    old = acme.client_token
    acme.refresh_from_db()
    assert acme.client_token == old
