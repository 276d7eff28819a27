"""The webhook list and its actions: toggle, keys, delete and restore, test requests."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Webhook
from tests.subscriptions.factories import make_webhook, webhook_form_data

LIST_URL = reverse("webhook_list", args=["acme"])


def url(name, webhook):
    return reverse(name, args=[webhook.workspace.slug, webhook.pk])


def message_texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def private_networks(settings):
    """The receivers in these tests listen on 127.0.0.1."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True


# --- the list -----------------------------------------------------------------------------------


def test_an_empty_list_explains_webhooks_and_offers_to_create_one(alice_client):
    html = alice_client.get(LIST_URL).content.decode()
    assert "No webhooks yet" in html
    assert "sends an HTTP request to a URL you choose" in html
    assert reverse("webhook_new", args=["acme"]) in html


def test_the_list_shows_each_webhook_with_its_status_and_last_delivery(alice_client, acme):
    make_webhook(acme, name="orders hook", url="https://crm.example.com/in")
    make_webhook(
        acme,
        name="Slack alerts",
        status=Webhook.Status.DISABLED,
        last_delivery_at=timezone.now(),
        last_succeeded=True,
        last_status_code=200,
    )
    make_webhook(
        acme,
        name="Legacy",
        status=Webhook.Status.AUTO_DISABLED,
        disabled_reason="Every attempt failed for 5 days (last: Connection refused).",
        last_delivery_at=timezone.now() - timedelta(hours=2),
        last_succeeded=False,
        last_error="Connection refused",
    )
    html = alice_client.get(LIST_URL).content.decode()
    # Alphabetical whatever the case.
    assert html.index("Legacy") < html.index("orders hook") < html.index("Slack alerts")
    assert "https://crm.example.com/in" in html
    assert html.count('class="badge badge-ok">Enabled') == 1
    assert html.count('class="badge badge-off">Disabled') == 1
    assert 'title="Every attempt failed for 5 days (last: Connection refused)."' in html
    assert '<div class="row-note"' in html
    assert "No deliveries yet" in html
    assert "HTTP 200" in html
    assert "Connection refused" in html
    assert html.count('class="switch"') == 3


def test_topics_show_two_tags_then_how_many_more(alice_client, acme):
    make_webhook(
        acme,
        topics=[
            "content.viewed",
            "form.submitted",
            "message.read",
            "message.clicked",
            "demo.session_finished",
        ],
    )
    html = alice_client.get(LIST_URL).content.decode()
    assert ">content.viewed</span>" in html and ">form.submitted</span>" in html
    assert ">message.read</span>" not in html
    assert "+3 more" in html
    assert 'title="message.read, message.clicked, demo.session_finished"' in html


def test_a_webhook_name_is_shown_as_text_never_run_as_html(alice_client, acme):
    webhook = make_webhook(acme, name="<script>alert(1)</script>")
    for page in (LIST_URL, url("webhook_edit", webhook), url("webhook_delete", webhook)):
        html = alice_client.get(page).content.decode()
        assert "<script>alert(1)</script>" not in html, page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, page


def test_deleted_webhooks_are_not_listed_but_counted(alice_client, acme):
    make_webhook(acme, name="Live one")
    gone = make_webhook(acme, name="Gone one")
    Webhook.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())
    html = alice_client.get(LIST_URL).content.decode()
    assert "Gone one" not in html
    assert "Deleted webhooks (1)" in html


def test_a_member_sees_the_list_read_only(bob_client, acme):
    webhook = make_webhook(acme, name="Orders hook")
    html = bob_client.get(LIST_URL).content.decode()
    assert "Orders hook" in html
    assert 'class="switch"' not in html
    assert reverse("webhook_new", args=["acme"]) not in html
    assert url("webhook_toggle", webhook) not in html
    assert url("webhook_delete", webhook) not in html
    assert url("webhook_test_connection", webhook) not in html


def test_a_member_sees_the_settings_of_a_webhook_without_a_way_to_save(bob_client, acme):
    webhook = make_webhook(acme, name="Orders hook")
    html = bob_client.get(url("webhook_edit", webhook)).content.decode()
    assert '<fieldset class="plain" disabled>' in html
    assert "Save changes" not in html
    assert url("webhook_reveal_key", webhook) not in html
    assert webhook.current_key().masked in html


# --- toggle -------------------------------------------------------------------------------------


def test_the_toggle_switches_a_webhook_off_and_on_in_place(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook")

    response = alice_client.post(url("webhook_toggle", webhook), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.startswith(f'<tbody id="webhook-{webhook.pk}"')
    assert 'class="badge badge-off">Disabled' in html and 'aria-checked="false"' in html
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.DISABLED

    html = alice_client.post(
        url("webhook_toggle", webhook), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'class="badge badge-ok">Enabled' in html and 'aria-checked="true"' in html
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.ENABLED


def test_the_toggle_without_javascript_redirects_to_the_list_with_a_message(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook")
    response = alice_client.post(url("webhook_toggle", webhook))
    assert response.status_code == 302 and response.url == LIST_URL
    page = alice_client.get(LIST_URL).content.decode()
    assert "Webhook “Orders hook” disabled." in page
    alice_client.post(url("webhook_toggle", webhook))
    page = alice_client.get(LIST_URL).content.decode()
    assert "Webhook “Orders hook” enabled." in page
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.ENABLED


def test_toggling_an_auto_disabled_webhook_enables_it(alice_client, acme):
    webhook = make_webhook(acme, status=Webhook.Status.AUTO_DISABLED, disabled_reason="Failing")
    alice_client.post(url("webhook_toggle", webhook), HTTP_HX_REQUEST="true")
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.ENABLED
    assert webhook.disabled_reason == ""


def test_the_toggle_only_accepts_posts(alice_client, acme):
    webhook = make_webhook(acme)
    assert alice_client.get(url("webhook_toggle", webhook)).status_code == 405


# --- signing keys -------------------------------------------------------------------------------


def test_the_edit_page_shows_the_key_masked(alice_client, acme):
    webhook = make_webhook(acme)
    key = webhook.current_key()
    html = alice_client.get(url("webhook_edit", webhook)).content.decode()
    assert key.masked in html
    assert key.secret not in html


def test_reveal_shows_the_whole_key_with_a_copy_button(alice_client, acme):
    webhook = make_webhook(acme)
    secret = webhook.current_key().secret
    html = alice_client.post(
        url("webhook_reveal_key", webhook), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f"<code data-secret>{secret}</code>" in html
    assert f'data-copy="{secret}"' in html


def test_reveal_without_javascript_renders_the_page_with_the_key(alice_client, acme):
    webhook = make_webhook(acme)
    secret = webhook.current_key().secret
    response = alice_client.post(url("webhook_reveal_key", webhook))
    assert response.status_code == 200
    assert f"<code data-secret>{secret}</code>" in response.content.decode()


def test_reset_key_asks_first(alice_client, acme):
    webhook = make_webhook(acme)
    html = alice_client.get(url("webhook_reset_key", webhook)).content.decode()
    assert "Old key stops working now" in html
    assert "Old key keeps working for 24 hours (both signatures are sent)" in html
    assert re.search(r'name="grace" value="0" checked', html)


def test_reset_key_without_grace_retires_the_old_key_at_once(alice_client, acme):
    webhook = make_webhook(acme)
    old = webhook.current_key().secret
    response = alice_client.post(url("webhook_reset_key", webhook), {"grace": "0"})
    assert response.status_code == 302 and response.url == url("webhook_edit", webhook)
    assert message_texts(response) == [
        "A new signing key is active. The previous key stopped working."
    ]
    new = webhook.current_key().secret
    assert new != old and new.startswith("whsec_")
    assert webhook.valid_keys() == [new]
    html = alice_client.get(url("webhook_edit", webhook)).content.decode()
    assert "Previous key valid until" not in html


def test_reset_key_with_24_hours_grace_keeps_both_keys_valid(alice_client, acme):
    webhook = make_webhook(acme)
    old = webhook.current_key().secret
    response = alice_client.post(url("webhook_reset_key", webhook), {"grace": "24"})
    new = webhook.current_key().secret
    assert webhook.valid_keys() == [new, old]
    assert "The previous key keeps signing until" in message_texts(response)[0]
    html = alice_client.get(url("webhook_edit", webhook)).content.decode()
    assert "Previous key valid until" in html
    assert webhook.current_key().masked in html


# --- delete and restore -------------------------------------------------------------------------


def test_delete_asks_then_soft_deletes(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook")
    html = alice_client.get(url("webhook_delete", webhook)).content.decode()
    assert "Delete “Orders hook”?" in html

    response = alice_client.post(url("webhook_delete", webhook))
    assert response.status_code == 302 and response.url == LIST_URL
    assert message_texts(response)[0].startswith("Webhook “Orders hook” deleted.")
    webhook.refresh_from_db()
    assert webhook.is_deleted
    assert f'id="webhook-{webhook.pk}"' not in alice_client.get(LIST_URL).content.decode()
    assert alice_client.get(url("webhook_edit", webhook)).status_code == 404

    deleted_page = alice_client.get(reverse("webhook_deleted_list", args=["acme"]))
    assert "Orders hook" in deleted_page.content.decode()


def test_restore_brings_a_deleted_webhook_back_disabled(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook")
    alice_client.post(url("webhook_delete", webhook))
    response = alice_client.post(url("webhook_restore", webhook))
    assert response.status_code == 302 and response.url == LIST_URL
    webhook.refresh_from_db()
    assert not webhook.is_deleted
    assert webhook.status == Webhook.Status.DISABLED
    assert "Orders hook" in alice_client.get(LIST_URL).content.decode()


def test_restore_refuses_when_the_name_was_taken_meanwhile(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook")
    alice_client.post(url("webhook_delete", webhook))
    make_webhook(acme, name="orders HOOK")
    response = alice_client.post(url("webhook_restore", webhook), follow=True)
    assert "A webhook named &#x27;Orders hook&#x27; exists already" in response.content.decode()
    assert 'class="flash flash-error"' in response.content.decode()
    webhook.refresh_from_db()
    assert webhook.is_deleted


def test_only_deleted_webhooks_can_be_restored(alice_client, acme):
    webhook = make_webhook(acme)
    assert alice_client.post(url("webhook_restore", webhook)).status_code == 404


# --- reachability check and test connection -----------------------------------------------------


def test_saving_reports_the_reachability_check(alice_client, httpserver, private_networks):
    httpserver.expect_request("/hook", method="GET").respond_with_data("ok")
    endpoint = httpserver.url_for("/hook")
    response = alice_client.post(
        reverse("webhook_new", args=["acme"]), webhook_form_data(url=endpoint)
    )
    texts = message_texts(response)
    assert texts[0] == "Webhook “Orders hook” created. Its signing key is below."
    assert re.fullmatch(
        rf"Reachability check: {re.escape(endpoint)} answered HTTP 200 in \d+ ms\.", texts[1]
    )


def test_the_reachability_check_fills_placeholders_from_the_first_topics_sample(
    alice_client, httpserver, private_networks
):
    httpserver.expect_request("/hook", query_string="u=test-user").respond_with_data("ok")
    endpoint = httpserver.url_for("/hook")
    response = alice_client.post(
        reverse("webhook_new", args=["acme"]),
        webhook_form_data(url=endpoint + "?u=${userId}", topics=["content.viewed"]),
    )
    assert "answered HTTP 200" in message_texts(response)[1]


def test_a_failing_reachability_check_warns_and_still_saves(alice_client, private_networks):
    response = alice_client.post(
        reverse("webhook_new", args=["acme"]), webhook_form_data(url="http://127.0.0.1:1/hook")
    )
    assert response.status_code == 302
    assert Webhook.objects.filter(name="Orders hook").exists()
    assert message_texts(response)[1] == (
        "Reachability check failed: Connection refused. The webhook is saved; deliveries will "
        "be retried until your endpoint answers."
    )


def test_test_connection_shows_the_status_and_the_body_escaped(
    alice_client, acme, httpserver, private_networks
):
    httpserver.expect_request("/hook", method="GET").respond_with_data(
        "<script>alert(1)</script>", status=500
    )
    webhook = make_webhook(acme, url=httpserver.url_for("/hook"))
    response = alice_client.post(url("webhook_test_connection", webhook), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'class="result result-err"' in html
    assert re.search(r"HTTP 500 · \d+ ms", html)
    assert "<pre>&lt;script&gt;alert(1)&lt;/script&gt;</pre>" in html
    assert "<script>alert(1)" not in html


def test_test_connection_sends_the_webhooks_headers(
    alice_client, acme, httpserver, private_networks
):
    httpserver.expect_request("/hook", headers={"X-Tenant": "acme"}).respond_with_data("fine")
    webhook = make_webhook(acme, url=httpserver.url_for("/hook"), headers=[("X-Tenant", "acme")])
    html = alice_client.post(
        url("webhook_test_connection", webhook), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'class="result result-ok"' in html
    assert "<pre>fine</pre>" in html


def test_test_connection_without_javascript_is_a_page_with_a_way_back(
    alice_client, acme, private_networks
):
    webhook = make_webhook(acme, url="http://127.0.0.1:1/hook")
    response = alice_client.post(url("webhook_test_connection", webhook))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Connection refused" in html and 'class="result result-err"' in html
    assert "Back to webhooks" in html


def test_test_connection_only_accepts_posts(alice_client, acme):
    webhook = make_webhook(acme)
    assert alice_client.get(url("webhook_test_connection", webhook)).status_code == 405


def test_the_list_shows_each_webhooks_success_rate_over_24_hours(alice_client, acme):
    from django.utils import timezone

    from deliveries.models import Attempt
    from deliveries.services import send
    from tests.subscriptions.factories import make_webhook

    hook = make_webhook(acme, name="Rated")
    quiet = make_webhook(acme, name="Quiet")
    delivery = send(hook, "form.submitted", {})
    for ok in (True, True, True, False):
        Attempt.objects.create(delivery=delivery, webhook=hook, number=1, trigger="event",
                               event_type="form.submitted", started_at=timezone.now(),
                               succeeded=ok, request_method="POST", request_url=hook.url)
    html = alice_client.get("/w/acme/settings/integrations/webhooks/").content.decode()
    assert "75% succeeded · 24 h" in html
    assert "3 of 4 attempts succeeded in the last 24 hours" in html
    assert html.count("succeeded · 24 h") == 1  # the quiet webhook shows no rate
    assert quiet.name in html


def test_re_enabling_an_auto_disabled_webhook_offers_to_replay_what_failed(alice_client, acme):
    from datetime import timedelta

    from django.utils import timezone

    from deliveries.models import Delivery
    from deliveries.services import send
    from subscriptions.models import Webhook
    from tests.subscriptions.factories import make_webhook

    hook = make_webhook(acme, name="Flaky")
    failed = send(hook, "form.submitted", {})
    since = timezone.now() - timedelta(days=5)
    Delivery.objects.filter(pk=failed.pk).update(
        status="failed", created_at=since + timedelta(hours=1))
    Webhook.objects.filter(pk=hook.pk).update(
        status="auto_disabled", failing_since=since, disabled_reason="Every delivery failed.")
    response = alice_client.post(f"/w/acme/settings/integrations/webhooks/{hook.pk}/toggle/",
                                 HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/w/acme/settings/integrations/webhooks/"
    html = alice_client.get("/w/acme/settings/integrations/webhooks/").content.decode()
    assert "Replay" in html and f"/webhooks/{hook.pk}/logs/#replay" in html
