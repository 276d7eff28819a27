"""Who may see what: members read, admins change, outsiders get 404 (never 403)."""

import pytest
from django.urls import reverse


def workspace_urls(slug):
    return {
        "dashboard": reverse("workspace_dashboard", args=[slug]),
        "webhooks": reverse("webhook_list", args=[slug]),
        "access_keys": reverse("access_keys", args=[slug]),
        "roll": reverse("roll_client_token", args=[slug]),
    }


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(client, acme):
    for url in workspace_urls("acme").values():
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")


def test_an_outsider_gets_404_for_every_page_of_another_workspace(charlie_client, acme, alice):
    for name, url in workspace_urls("acme").items():
        assert charlie_client.get(url).status_code == 404, name
    assert charlie_client.post(reverse("roll_client_token", args=["acme"])).status_code == 404
    assert charlie_client.post(reverse("reveal_client_token", args=["acme"])).status_code == 404


def test_an_unknown_workspace_is_404_like_a_foreign_one(alice_client):
    assert alice_client.get("/w/nope/").status_code == 404


def test_a_member_reads_but_cannot_manage_keys(bob_client, acme):
    assert bob_client.get(reverse("workspace_dashboard", args=["acme"])).status_code == 200
    assert bob_client.get(reverse("webhook_list", args=["acme"])).status_code == 200
    assert bob_client.get(reverse("access_keys", args=["acme"])).status_code == 403
    old_hash = acme.client_token_hash
    assert bob_client.post(reverse("roll_client_token", args=["acme"])).status_code == 403
    acme.refresh_from_db()
    assert acme.client_token_hash == old_hash


def test_the_home_page_lands_on_the_first_workspace(alice_client):
    response = alice_client.get("/")
    assert response.status_code == 302
    assert response.url == "/w/acme/"


def test_the_switcher_lists_every_workspace_of_the_user(alice_client, alice, globex):
    from workspaces.services import add_member

    add_member(globex, alice, "member")
    html = alice_client.get("/w/acme/").content.decode()
    assert 'href="/w/globex/"' in html
    assert 'href="/w/acme/" aria-current="true"' in html


def test_a_user_without_workspace_sees_how_to_get_one(client, db):
    from tests.conftest import make_user

    client.force_login(make_user("dora"))
    response = client.get("/", follow=True)
    assert b"You are not in a workspace yet" in response.content
