"""Stored XSS: markup in a receiver's answer, a webhook's name, a header value and a chat
message is shown inert on every page that shows it: the dashboard (list, edit, logs, attempt
detail, test results, test connection, inbox, chatbot simulator) and every admin page.

Rendered HTML is checked for the raw markup (never there) and its escaped form (there, where
the value is shown); one browser test loads the pages and asserts no dialog ever opens.
"""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from deliveries.drain import drain
from deliveries.models import Attempt, Delivery
from deliveries.services import publish, send_test
from tests.conftest import logged_in_client
from tests.subscriptions.factories import make_webhook

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
RAW = ["<script>alert(", "<img src=x onerror"]
ESCAPED = "&lt;script&gt;alert("


def assert_inert(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where} renders {raw!r} unescaped"


@pytest.fixture
def markup_everywhere(acme, alice, httpserver, settings):
    """Acme's data, each value carrying markup, through the real paths."""
    from chatflows import services as chat_services
    from chatflows.models import Campaign
    from inbox.models import Inbox
    from inbox.services import receive_path

    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    httpserver.expect_request("/hook").respond_with_data(XSS, status=500)
    hook = make_webhook(acme, name=f"Hook {XSS}", url=httpserver.url_for("/hook"),
                        topics=["form.submitted"], headers=[("X-Note", XSS)])
    publish(acme, "form.submitted", {"comment": XSS})
    test_delivery = send_test(hook, "form.submitted")
    drain(hook.pk)
    inbox = Inbox.for_workspace(acme)
    Client().post(receive_path(inbox), data=f'{{"comment": "{XSS}"}}'.replace('"xss"', "'x'"),
                  content_type="application/json", HTTP_X_EVIL=XSS)
    campaign = chat_services.create_campaign(
        Campaign(workspace=acme, campaign_id="31337", name=f"Bot {XSS}"),
        welcome_prompt=f"Welcome {XSS}",
    )
    client = logged_in_client(alice)
    simulator = f"/w/acme/chatbots/{campaign.pk}/simulator/"
    client.post(simulator, {"phone": "+525500000000", "text": XSS})
    attempt = Attempt.objects.filter(delivery__is_test=False).get()
    webhooks = "/w/acme/settings/integrations/webhooks/"
    return {
        "hook": hook,
        "pages": {
            "webhook list": webhooks,
            "webhook edit": f"{webhooks}{hook.pk}/",
            "webhook delete": f"{webhooks}{hook.pk}/delete/",
            "logs": f"{webhooks}{hook.pk}/logs/",
            "attempt detail": f"{webhooks}{hook.pk}/logs/{attempt.pk}/",
            "test result": f"/w/acme/settings/integrations/test-deliveries/{test_delivery.pk}/",
            "inbox": "/w/acme/settings/integrations/test-inbox/",
            "inbox requests": "/w/acme/settings/integrations/test-inbox/requests/",
            "chatbots": "/w/acme/chatbots/",
            "chatbot": f"/w/acme/chatbots/{campaign.pk}/",
            "simulator": f"{simulator}?phone=%2B525500000000",
        },
        # Where each value must be visible (escaped): proves the pages show what is tested.
        "must_show": {"webhook list", "webhook edit", "attempt detail", "test result", "inbox",
                      "simulator", "chatbot"},
    }


@pytest.mark.django_db
def test_markup_is_escaped_on_every_dashboard_page(alice, markup_everywhere):
    client = logged_in_client(alice)
    for where, url in markup_everywhere["pages"].items():
        response = client.get(url)
        assert response.status_code == 200, (where, response.status_code)
        html = response.content.decode()
        assert_inert(html, where)
        if where in markup_everywhere["must_show"]:
            assert ESCAPED in html, f"{where} does not show the value at all"
        # htmx partials too
        assert_inert(client.get(url, HTTP_HX_REQUEST="true").content.decode(), f"{where} (htmx)")


@pytest.mark.django_db
def test_the_receivers_body_is_escaped_in_the_test_connection_result(alice, markup_everywhere):
    hook = markup_everywhere["hook"]
    client = logged_in_client(alice)
    url = f"/w/acme/settings/integrations/webhooks/{hook.pk}/test-connection/"
    for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
        html = client.post(url, **extra).content.decode()
        assert "HTTP 500" in html
        assert_inert(html, "test connection")
        assert ESCAPED in html


@pytest.mark.django_db
def test_markup_is_escaped_on_every_admin_page(admin_client, markup_everywhere):
    """Every registered model's list, and the change page of each of its objects (the RQ
    dashboard shows job ids only: jobs take ids, never payloads)."""
    checked = 0
    for model in admin.site._registry:
        meta = model._meta
        if not meta.managed:
            continue  # django-rq's dashboard entry: a link, not a table
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        response = admin_client.get(changelist)
        assert response.status_code == 200, changelist
        assert_inert(response.content.decode(), changelist)
        for obj in model.objects.all()[:20]:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
            response = admin_client.get(url)
            assert response.status_code == 200, url
            assert_inert(response.content.decode(), url)
            checked += 1
    assert checked >= 10
    assert Delivery.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_no_dialog_ever_opens_in_a_real_browser(page, live_server, alice, markup_everywhere):
    from tests.conftest import PASSWORD

    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    for url in markup_everywhere["pages"].values():
        page.goto(live_server.url + url)
        page.wait_for_load_state("networkidle")
    page.goto(live_server.url + markup_everywhere["pages"]["webhook edit"])
    page.click("text=Test connection")
    page.wait_for_timeout(1500)
    assert dialogs == []
