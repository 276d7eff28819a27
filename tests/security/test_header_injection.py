"""Header injection: a custom header can neither smuggle a second header (CR, LF, NUL) nor
replace one the webhook sets itself (reserved names), through any door: the webhook form (new
and edit), the chatflow editor, the management API and the Django admin. And if a bad row
reached the database anyway, the request is refused rather than sent split.

Private networks are allowed here (receivers and the URL check are not what is tested).
"""

import json

import pytest

from deliveries.drain import drain
from deliveries.models import Attempt
from deliveries.services import publish
from subscriptions.models import Webhook, WebhookHeader
from tests.conftest import logged_in_client
from tests.subscriptions.factories import make_webhook, webhook_form_data

pytestmark = pytest.mark.django_db

WEBHOOKS = "/w/acme/settings/integrations/webhooks/"
BAD_VALUES = ["a\r\nX-Injected: 1", "a\nX-Injected: 1", "a\rX-Injected: 1", "a\x00b",
              "ok\r\n\r\n<html>"]
BAD_NAMES = ["X-Bad\r\nX-Injected", "X Bad", "X:Bad", "X-Bad\nX-Injected: 1", "Ünicode"]
RESERVED = ["Host", "HOST", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection",
            "webhook-id", "Webhook-Timestamp", "webhook-signature", "X-Webhook-Signature",
            "Webhook-Anything"]
CASES = ([("X-Token", value) for value in BAD_VALUES]
         + [(name, "1") for name in BAD_NAMES] + [(name, "1") for name in RESERVED])


@pytest.fixture(autouse=True)
def allow_private(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True


@pytest.mark.parametrize(("name", "value"), CASES)
def test_the_webhook_form_refuses_the_header_on_create_and_edit(alice, acme, name, value):
    client = logged_in_client(alice)
    data = webhook_form_data(url="https://hooks.example.com/x",
                             header_name=[name, ""], header_value=[value, ""])
    response = client.post(WEBHOOKS + "new/", data)
    assert response.status_code == 400
    assert any(row["error"] for row in response.context["form"].header_rows)
    assert not Webhook.objects.exists()

    hook = make_webhook(acme, name="Orders hook", headers=[("X-Ok", "1")])
    response = client.post(f"{WEBHOOKS}{hook.pk}/", data)
    assert response.status_code == 400
    assert list(hook.headers.values_list("name", "value")) == [("X-Ok", "1")]


@pytest.mark.parametrize(("name", "value"), CASES)
def test_the_chatflow_editor_refuses_the_header(alice, acme, name, value):
    from chatflows import services
    from chatflows.models import Campaign, Interaction

    campaign = services.create_campaign(Campaign(workspace=acme, campaign_id="77", name="Bot"),
                                        welcome_prompt="Hi")
    response = logged_in_client(alice).post(
        f"/w/acme/chatbots/{campaign.pk}/interactions/new/",
        {"parent": campaign.welcome.pk, "label": "Call me", "keyword": "4",
         "menu_text": "Call me", "prompt": "", "redirect_type": "end",
         "redirect_to_interaction": "", "redirect_to_campaign": "", "webhook_toggle": "on",
         "webhook_url": "https://hooks.example.com/bot", "webhook_extra_body": "",
         "header_name": [name], "header_value": [value]},
    )
    assert response.status_code in (200, 400)  # the form again, with the row's error
    assert not Interaction.objects.filter(label="Call me").exists()
    assert not WebhookHeader.objects.exists()


@pytest.mark.parametrize(("name", "value"), CASES)
def test_the_management_api_refuses_the_header(acme, name, value):
    from django.test import Client

    from workspaces.models import ApiKey

    _, key = ApiKey.issue(acme, "k")
    body = {"name": "API hook", "url": "https://hooks.example.com/api",
            "topics": ["form.submitted"], "headers": [{"name": name, "value": value}]}
    response = Client().post("/api/v1/webhooks", json.dumps(body),
                             content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["errors"]
    assert not Webhook.objects.exists()


def test_the_admin_shows_header_values_masked_and_cannot_add_or_edit_them(acme, admin_client):
    hook = make_webhook(acme, headers=[("X-Api-Key", "secret-value-123456")])
    page = admin_client.get(f"/admin/subscriptions/webhook/{hook.pk}/change/").content.decode()
    assert "secret-value-123456" not in page
    assert 'name="headers-0-value"' not in page and 'name="headers-0-name"' not in page
    # A forged inline row is ignored: the inline is read-only.
    admin_client.post(f"/admin/subscriptions/webhook/{hook.pk}/change/", {
        "headers-TOTAL_FORMS": "2", "headers-INITIAL_FORMS": "1",
        "headers-1-name": "X-Injected", "headers-1-value": "a\r\nEvil: 1",
    })
    assert list(hook.headers.values_list("name", "value")) == [("X-Api-Key", "secret-value-123456")]


def test_a_bad_header_that_reached_the_database_is_refused_at_send_time(acme, httpserver):
    """Defence in depth: the HTTP layer refuses to send a header value with a line break."""
    httpserver.expect_request("/hook").respond_with_data("ok")
    hook = make_webhook(acme, url=httpserver.url_for("/hook"), topics=["form.submitted"])
    WebhookHeader.objects.create(webhook=hook, name="X-Token", value="a\r\nX-Injected: 1")
    publish(acme, "form.submitted", {"email": "jane@example.com"})
    drain(hook.pk)
    attempt = Attempt.objects.get(webhook=hook)
    assert attempt.error_kind == "invalid_header"
    # It names the header, never its value (values are often credentials).
    assert attempt.error_message == (
        "Invalid header: the value of X-Token cannot be sent (it contains a line break)."
    )
    assert all("X-Injected" not in request.headers for request, _ in httpserver.log)
    assert len(httpserver.log) == 0
