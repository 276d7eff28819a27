"""Settings > Workspaces > General: the name and the HTTPS-only policy."""

from django.urls import reverse

from tests.subscriptions.factories import make_webhook

URL = reverse("workspace_settings", args=["acme"])


def test_an_admin_renames_the_workspace(alice_client, acme):
    response = alice_client.post(URL, {"name": "Acme Inc."})
    assert response.status_code == 302
    acme.refresh_from_db()
    assert acme.name == "Acme Inc." and acme.https_only is False


def test_a_blank_name_is_refused_next_to_the_field(alice_client, acme):
    response = alice_client.post(URL, {"name": "  ", "https_only": "on"})
    assert response.status_code == 400
    assert "Give the workspace a name." in response.content.decode()
    acme.refresh_from_db()
    assert acme.name == "Acme" and acme.https_only is False


def test_turning_https_only_on_lists_the_http_webhooks_and_changes_none(alice_client, acme):
    make_webhook(acme, name="Legacy CRM", url="http://crm.example.com/in")
    make_webhook(acme, name="Secure", url="https://crm.example.com/in")
    make_webhook(
        acme, name="Gone", url="http://old.example.com/", deleted_at="2024-01-01T00:00:00Z"
    )
    response = alice_client.post(URL, {"name": "Acme", "https_only": "on"}, follow=True)
    html = response.content.decode()
    assert "These webhooks still use http:// and were not changed: Legacy CRM." in html
    assert "Gone" not in html
    acme.refresh_from_db()
    assert acme.https_only is True
    assert acme.webhooks.get(name="Legacy CRM").url == "http://crm.example.com/in"


def test_the_general_page_appears_in_the_navigation_for_admins_only(alice_client, bob_client):
    assert URL in alice_client.get(reverse("webhook_list", args=["acme"])).content.decode()
    assert URL not in bob_client.get(reverse("webhook_list", args=["acme"])).content.decode()
