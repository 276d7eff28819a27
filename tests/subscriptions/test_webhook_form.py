"""New webhook / edit: every rule shows its message next to its field and saves nothing."""

import pytest
from django.db import connection
from django.urls import reverse

from subscriptions.models import SigningKey, Webhook, WebhookHeader
from tests.subscriptions.factories import make_connector, make_webhook, webhook_form_data
from tests.subscriptions.helpers import assert_error_next_to

NEW_URL = reverse("webhook_new", args=["acme"])


@pytest.fixture
def no_private_networks(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False


def post_new(client, **overrides):
    return client.post(NEW_URL, webhook_form_data(**overrides))


def assert_refused(client, anchor, message, **overrides):
    """Post the form with one thing wrong: the message is next to the field, nothing saved."""
    webhooks, headers, keys = (
        Webhook.objects.count(),
        WebhookHeader.objects.count(),
        SigningKey.objects.count(),
    )
    response = post_new(client, **overrides)
    assert response.status_code == 400
    assert_error_next_to(response, anchor, message)
    assert "Nothing was saved" in response.content.decode()
    assert Webhook.objects.count() == webhooks
    assert WebhookHeader.objects.count() == headers
    assert SigningKey.objects.count() == keys
    return response


# --- the URL ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://files.example.com/in", "javascript:alert(1)", "example.com/hook"]
)
def test_a_url_that_is_not_http_or_https_is_refused(alice_client, url):
    assert_refused(
        alice_client, 'id="id_url"', "Enter a URL starting with https:// (or http://)", url=url
    )


def test_a_url_over_2048_characters_is_refused(alice_client):
    url = "https://receiver.example.com/" + "a" * 2020
    assert_refused(
        alice_client,
        'id="id_url"',
        "The URL can be at most 2,048 characters (it has 2,049).",
        url=url,
    )


def test_a_url_with_a_user_and_password_is_refused(alice_client):
    assert_refused(
        alice_client,
        'id="id_url"',
        "Remove the user name and password from the URL",
        url="https://user:secret@receiver.example.com/hook",
    )


def test_http_is_refused_when_the_workspace_requires_https(alice_client, acme):
    acme.https_only = True
    acme.save()
    assert_refused(
        alice_client,
        'id="id_url"',
        "This workspace's policy requires HTTPS: use an https:// URL",
        url="http://receiver.example.com/hook",
    )


def test_http_is_accepted_when_the_workspace_allows_it(alice_client):
    response = post_new(alice_client, url="http://receiver.example.com/hook")
    assert response.status_code == 302
    assert Webhook.objects.get().url == "http://receiver.example.com/hook"


def test_a_placeholder_the_topics_events_do_not_have_is_refused(alice_client):
    assert_refused(
        alice_client,
        'id="id_url"',
        "Unknown placeholder ${emial}: use a field of the event, such as ${",
        url="https://receiver.example.com/hook?e=${emial}",
    )


def test_a_malformed_placeholder_is_refused(alice_client):
    assert_refused(
        alice_client,
        'id="id_url"',
        "Unclosed placeholder ${userId: end it with }, as in ${email}.",
        url="https://receiver.example.com/hook?u=${userId",
    )


def test_a_placeholder_from_a_chosen_topics_sample_is_accepted(alice_client):
    response = post_new(alice_client, url="https://receiver.example.com/hook?u=${userId}")
    assert response.status_code == 302
    assert Webhook.objects.get().url.endswith("?u=${userId}")


def test_any_well_formed_placeholder_is_accepted_for_custom_events(alice_client):
    response = post_new(
        alice_client,
        url="https://receiver.example.com/hook?sku=${cart.sku}",
        topics=["custom"],
        event_names="Added To Cart",
    )
    assert response.status_code == 302


def test_a_private_address_is_refused_when_private_networks_are_off(
    alice_client, no_private_networks
):
    assert_refused(
        alice_client,
        'id="id_url"',
        "Blocked: loopback address 127.0.0.1. Webhooks can only be sent to addresses on the "
        "public internet.",
        url="http://127.0.0.1:8080/hook",
    )


def test_a_name_resolving_to_a_private_address_is_refused_too(alice_client, no_private_networks):
    assert_refused(
        alice_client,
        'id="id_url"',
        "Blocked: localhost resolves to loopback address",
        url="http://localhost/hook?e=${userId}",
    )


def test_a_private_address_is_accepted_when_private_networks_are_allowed(alice_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    response = post_new(alice_client, url="http://127.0.0.1:1/hook")
    assert response.status_code == 302


# --- name and topics ----------------------------------------------------------------------------


def test_a_name_is_required(alice_client):
    assert_refused(alice_client, 'id="id_name"', "Give the webhook a name", name="  ")


def test_a_name_used_by_a_live_webhook_is_refused_whatever_its_case(alice_client, acme):
    make_webhook(acme, name="Orders Hook")
    assert_refused(
        alice_client,
        'id="id_name"',
        "A webhook named “Orders Hook” exists already: pick another name.",
        name="orders hook",
    )


def test_a_deleted_webhooks_name_can_be_reused(alice_client, acme):
    old = make_webhook(acme, name="Orders hook")
    Webhook.objects.filter(pk=old.pk).update(deleted_at="2024-01-01T00:00:00Z")
    assert post_new(alice_client, name="Orders hook").status_code == 302


def test_another_workspaces_webhook_name_does_not_count(alice_client, globex):
    make_webhook(globex, name="Orders hook")
    assert post_new(alice_client, name="Orders hook").status_code == 302


def test_at_least_one_topic_is_required(alice_client):
    assert_refused(alice_client, 'id="topics"', "Pick at least one topic", topics=[])


def test_an_excluded_system_event_is_refused(alice_client):
    assert_refused(
        alice_client,
        'id="id_other_system_events"',
        "'User Login' (system.user_login) is a system event that cannot be sent through webhooks.",
        other_system_events="system.email_opened, system.user_login",
    )


def test_other_system_events_must_be_system_keys(alice_client):
    assert_refused(
        alice_client,
        'id="id_other_system_events"',
        "“email_opened” is not a system event: system events start with system.",
        other_system_events="email_opened",
    )


def test_other_system_events_are_saved_as_topics(alice_client):
    response = post_new(
        alice_client, topics=["content.viewed"], other_system_events="system.email_opened"
    )
    assert response.status_code == 302
    assert Webhook.objects.get().topics == ["content.viewed", "system.email_opened"]


def test_only_system_events_are_enough_as_topics(alice_client):
    response = post_new(alice_client, topics=[], other_system_events="system.email_opened")
    assert response.status_code == 302


def test_custom_events_need_their_names(alice_client):
    assert_refused(
        alice_client,
        'id="id_event_names"',
        "List the custom event names to receive, such as Added To Cart.",
        topics=["custom"],
        event_names=" ",
    )


def test_a_custom_event_name_over_200_characters_is_refused(alice_client):
    assert_refused(
        alice_client,
        'id="id_event_names"',
        "a custom event name can be at most 200 characters",
        topics=["custom"],
        event_names="Added To Cart\n" + "x" * 201,
    )


def test_more_than_50_custom_event_names_are_refused(alice_client):
    assert_refused(
        alice_client,
        'id="id_event_names"',
        "At most 50 custom event names (there are 51).",
        topics=["custom"],
        event_names=", ".join(f"Event {i}" for i in range(51)),
    )


def test_unticking_custom_events_drops_their_names(alice_client, acme):
    webhook = make_webhook(acme, topics=["custom"], event_names=["Added To Cart"])
    response = alice_client.post(
        reverse("webhook_edit", args=["acme", webhook.pk]),
        webhook_form_data(
            name=webhook.name, topics=["content.viewed"], event_names="Added To Cart"
        ),
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.topics, webhook.event_names) == (["content.viewed"], [])


def test_custom_event_names_are_saved_in_order_from_lines_and_commas(alice_client):
    post_new(alice_client, topics=["custom"], event_names="Added To Cart, Checkout\nPaid\nPaid")
    webhook = Webhook.objects.get()
    assert webhook.topics == ["custom"]
    assert webhook.event_names == ["Added To Cart", "Checkout", "Paid"]


# --- headers ------------------------------------------------------------------------------------


def headers(*rows):
    return {"header_name": [name for name, _ in rows], "header_value": [value for _, value in rows]}


def test_a_header_name_that_is_not_a_token_is_refused(alice_client):
    assert_refused(
        alice_client,
        'value="X Api Version"',
        "“X Api Version” is not a valid header name",
        **headers(("X-Ok", "1"), ("X Api Version", "2")),
    )


@pytest.mark.parametrize("value", ["one\rtwo", "one\ntwo", "one\x00two"])
def test_a_header_value_with_a_line_break_is_refused(alice_client, value):
    assert_refused(
        alice_client,
        'value="X-Tenant"',
        "A header value must fit on one line (no line breaks).",
        **headers(("X-Tenant", value)),
    )


def test_a_header_value_http_cannot_carry_is_refused(alice_client):
    assert_refused(
        alice_client,
        'value="X-Tenant"',
        "A header value cannot contain “’”: HTTP headers carry only Latin-1",
        **headers(("X-Tenant", "Zoë’s team")),
    )


def test_a_latin_1_header_value_is_accepted_and_spaces_around_it_trimmed(alice_client, acme):
    response = post_new(alice_client, **headers(("X-Team", " Zoë ")))
    assert response.status_code == 302
    assert acme.webhooks.get().headers.get().value == "Zoë"


@pytest.mark.parametrize(
    "name",
    [
        "Host",
        "content-length",
        "Content-Type",
        "Transfer-Encoding",
        "CONNECTION",
        "webhook-id",
        "Webhook-Signature",
        "webhook-anything",
        "X-Webhook-Signature",
    ],
)
def test_reserved_header_names_are_refused_whatever_their_case(alice_client, name):
    assert_refused(
        alice_client,
        f'value="{name}"',
        f"{name} is set by the webhook itself and cannot be changed",
        **headers((name, "x")),
    )


def test_user_agent_may_be_set(alice_client):
    response = post_new(alice_client, **headers(("User-Agent", "Acme/1.0")))
    assert response.status_code == 302
    assert Webhook.objects.get().header_dict() == {"User-Agent": "Acme/1.0"}


def test_a_header_listed_twice_is_refused(alice_client):
    assert_refused(
        alice_client,
        'value="x-tenant"',
        "x-tenant is listed twice: keep one row per header.",
        **headers(("X-Tenant", "1"), ("x-tenant", "2")),
    )


def test_more_than_20_headers_are_refused(alice_client):
    rows = [(f"X-H{i}", str(i)) for i in range(21)]
    assert_refused(
        alice_client, 'value="X-H20"', "At most 20 custom headers (there are 21).", **headers(*rows)
    )


def test_20_headers_are_accepted(alice_client):
    rows = [(f"X-H{i}", str(i)) for i in range(20)]
    assert post_new(alice_client, **headers(*rows)).status_code == 302
    assert WebhookHeader.objects.count() == 20


def test_a_header_the_connector_sends_already_is_refused(alice_client, acme):
    connector = make_connector(acme, name="CRM token")
    assert_refused(
        alice_client,
        'value="Authorization"',
        "The connector “CRM token” sends Authorization already: remove this row.",
        connector=str(connector.pk),
        **headers(("Authorization", "Bearer x")),
    )


def test_a_value_without_a_name_is_refused(alice_client):
    assert_refused(
        alice_client, 'value="orphan"', "Give this header a name", **headers(("", "orphan"))
    )


# --- the other fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["[1, 2]", "nope", '"crm"', "42"])
def test_extra_body_must_be_a_json_object(alice_client, text):
    assert_refused(
        alice_client,
        'id="id_extra_body"',
        'Extra body parameters must be a JSON object like {"source": "crm"}.',
        extra_body=text,
    )


@pytest.mark.parametrize("size", ["0", "501", "abc"])
def test_a_batch_size_outside_1_to_500_is_refused(alice_client, size):
    assert_refused(
        alice_client, 'id="id_batch_size"', "from 1 to 500 events", mode="batched", batch_size=size
    )


@pytest.mark.parametrize("interval", ["0", "3601"])
def test_a_batch_interval_outside_1_to_3600_is_refused(alice_client, interval):
    assert_refused(
        alice_client,
        'id="id_batch_interval_seconds"',
        "The batch interval must be from 1 to 3,600 seconds.",
        mode="batched",
        batch_interval_seconds=interval,
    )


def test_batch_fields_are_ignored_for_one_event_per_request(alice_client):
    response = post_new(alice_client, mode="single", batch_size="0", batch_interval_seconds="")
    assert response.status_code == 302
    assert Webhook.objects.get().batch_size == 50


def test_a_timeout_over_30_seconds_is_refused(alice_client):
    assert_refused(
        alice_client,
        'id="id_timeout_seconds"',
        "The timeout can be at most 30 seconds.",
        timeout_seconds="31",
    )


@pytest.mark.parametrize("attempts", ["0", "51"])
def test_max_attempts_outside_1_to_50_are_refused(alice_client, attempts):
    assert_refused(
        alice_client,
        'id="id_max_attempts"',
        "The number of attempts must be from 1 to 50.",
        max_attempts=attempts,
    )


@pytest.mark.parametrize("limit", ["0", "1001"])
def test_a_rate_limit_outside_1_to_1000_is_refused(alice_client, limit):
    assert_refused(
        alice_client,
        'id="id_rate_limit_per_second"',
        "The rate limit must be from 1 to 1,000 requests per second.",
        rate_limit_per_second=limit,
    )


def test_a_connector_of_another_workspace_is_refused(alice_client, globex):
    foreign = make_connector(globex)
    assert_refused(
        alice_client, 'id="id_connector"', "Select a valid choice", connector=str(foreign.pk)
    )


def test_every_error_is_shown_at_once(alice_client):
    response = post_new(alice_client, name="", url="ftp://x", topics=[], timeout_seconds="99")
    assert set(response.context["form"].errors) == {"name", "url", "topics", "timeout_seconds"}
    assert "Fix the 4 fields marked below" in response.content.decode()


# --- saving -------------------------------------------------------------------------------------


def test_an_admin_creates_a_webhook_with_two_headers_and_a_connector(alice_client, acme):
    connector = make_connector(acme, name="CRM token")
    response = post_new(
        alice_client,
        name="Orders hook",
        url="https://receiver.example.com/hook?u=${userId}",
        method="GET",
        format="raw",
        topics=["content.viewed", "custom"],
        event_names="Added To Cart",
        mode="batched",
        batch_size="100",
        batch_interval_seconds="60",
        ordered="on",
        retry_policy="three_retries",
        max_attempts="4",
        rate_limit_per_second="10",
        timeout_seconds="12",
        connector=str(connector.pk),
        extra_body='{"source": "crm"}',
        header_name=["X-Tenant", "X-Api-Version", ""],
        header_value=["acme", "2", ""],
    )
    webhook = Webhook.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("webhook_edit", args=["acme", webhook.pk])
    assert webhook.workspace == acme
    assert (webhook.name, webhook.method, webhook.format) == ("Orders hook", "GET", "raw")
    assert webhook.topics == ["content.viewed", "custom"]
    assert webhook.event_names == ["Added To Cart"]
    assert (webhook.mode, webhook.batch_size, webhook.batch_interval_seconds) == (
        "batched",
        100,
        60,
    )
    assert webhook.ordered is True
    assert (webhook.retry_policy, webhook.max_attempts) == ("three_retries", 4)
    assert (webhook.rate_limit_per_second, webhook.timeout_seconds) == (10, 12)
    assert webhook.connector == connector
    assert webhook.extra_body == {"source": "crm"}
    assert webhook.status == Webhook.Status.ENABLED
    assert [(h.name, h.value) for h in webhook.headers.all()] == [
        ("X-Tenant", "acme"),
        ("X-Api-Version", "2"),
    ]


def test_a_new_webhook_gets_a_signing_key_stored_encrypted(alice_client):
    post_new(alice_client)
    key = Webhook.objects.get().current_key()
    assert key.secret.startswith("whsec_")
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM subscriptions_signingkey WHERE id = %s", [key.pk])
        (raw,) = cursor.fetchone()
    assert raw != key.secret
    assert "whsec_" not in raw


def test_header_values_are_stored_encrypted(alice_client):
    post_new(alice_client, header_name=["X-Token"], header_value=["s3cret-value"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM subscriptions_webhookheader")
        (raw,) = cursor.fetchone()
    assert "s3cret-value" not in raw


def test_a_webhook_created_unticked_is_disabled(alice_client):
    data = webhook_form_data()
    del data["enabled"]
    alice_client.post(NEW_URL, data)
    assert Webhook.objects.get().status == Webhook.Status.DISABLED


def test_editing_keeps_the_signing_key_and_replaces_the_headers(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook", headers=[("X-Old", "1")])
    key = webhook.current_key().secret
    url = reverse("webhook_edit", args=["acme", webhook.pk])

    page = alice_client.get(url).content.decode()
    assert 'value="Orders hook"' in page and 'value="X-Old"' in page

    response = alice_client.post(
        url,
        webhook_form_data(
            name="Orders hook renamed",
            header_name=["X-New", "X-Old", ""],
            header_value=["2", "1", ""],
        ),
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert webhook.name == "Orders hook renamed"
    assert webhook.current_key().secret == key
    assert list(webhook.headers.values_list("name", "value")) == [("X-New", "2"), ("X-Old", "1")]
    assert SigningKey.objects.filter(webhook=webhook).count() == 1


def test_an_edit_may_keep_the_webhooks_own_name(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook")
    url = reverse("webhook_edit", args=["acme", webhook.pk])
    assert alice_client.post(url, webhook_form_data(name="ORDERS HOOK")).status_code == 302


def test_an_invalid_edit_changes_nothing(alice_client, acme):
    webhook = make_webhook(acme, name="Orders hook", headers=[("X-Old", "1")])
    url = reverse("webhook_edit", args=["acme", webhook.pk])
    response = alice_client.post(
        url,
        webhook_form_data(
            name="Renamed", timeout_seconds="31", header_name=["X-New"], header_value=["2"]
        ),
    )
    assert response.status_code == 400
    webhook.refresh_from_db()
    assert webhook.name == "Orders hook"
    assert webhook.header_dict() == {"X-Old": "1"}


def test_unticking_enabled_leaves_an_auto_disabled_webhook_auto_disabled(alice_client, acme):
    webhook = make_webhook(acme, status=Webhook.Status.AUTO_DISABLED, disabled_reason="Failing")
    data = webhook_form_data(name=webhook.name)
    del data["enabled"]
    alice_client.post(reverse("webhook_edit", args=["acme", webhook.pk]), data)
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.AUTO_DISABLED


def test_ticking_enabled_turns_an_auto_disabled_webhook_back_on(alice_client, acme):
    webhook = make_webhook(acme, status=Webhook.Status.AUTO_DISABLED, disabled_reason="Failing")
    alice_client.post(
        reverse("webhook_edit", args=["acme", webhook.pk]), webhook_form_data(name=webhook.name)
    )
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.ENABLED
    assert webhook.disabled_reason == ""


def test_a_deleted_webhook_cannot_be_edited(alice_client, acme):
    webhook = make_webhook(acme)
    Webhook.objects.filter(pk=webhook.pk).update(deleted_at="2024-01-01T00:00:00Z")
    url = reverse("webhook_edit", args=["acme", webhook.pk])
    assert alice_client.get(url).status_code == 404
    assert alice_client.post(url, webhook_form_data()).status_code == 404


# --- header rows without JavaScript -------------------------------------------------------------


def test_the_new_form_offers_two_empty_header_rows(alice_client):
    html = alice_client.get(NEW_URL).content.decode()
    assert html.count('name="header_name"') == 2


def test_the_edit_form_shows_the_headers_and_two_empty_rows(alice_client, acme):
    webhook = make_webhook(acme, headers=[("X-A", "1"), ("X-B", "2")])
    html = alice_client.get(reverse("webhook_edit", args=["acme", webhook.pk])).content.decode()
    assert html.count('name="header_name"') == 4
    assert html.index('value="X-A"') < html.index('value="X-B"')


def test_add_header_without_javascript_adds_a_row_and_saves_nothing(alice_client):
    response = post_new(
        alice_client, add_header="1", header_name=["X-A", ""], header_value=["1", ""], name=""
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('name="header_name"') == 3
    assert 'value="X-A"' in html
    assert 'class="error"' not in html  # not judged yet: the admin is still typing
    assert Webhook.objects.count() == 0


def test_remove_header_without_javascript_drops_that_row(alice_client):
    response = post_new(
        alice_client, remove_header="0", header_name=["X-A", "X-B"], header_value=["1", "2"]
    )
    html = response.content.decode()
    assert 'value="X-A"' not in html and 'value="X-B"' in html
    assert Webhook.objects.count() == 0


def test_the_add_header_button_fetches_an_empty_row(alice_client):
    response = alice_client.get(
        reverse("webhook_header_row", args=["acme"]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.decode().count('name="header_name"') == 1


def test_the_retry_sentence_follows_the_chosen_policy(alice_client):
    url = reverse("webhook_retry_policy", args=["acme"])
    response = alice_client.get(url, {"retry_policy": "three_retries", "max_attempts": "8"})
    assert response.content.decode() == "Up to 4 attempts: retried after 1, 2 and 4 minutes."
    page = alice_client.get(NEW_URL).content.decode()
    assert "Up to 8 attempts: retried after 1, 2, 4, 8, 16 and 32 minutes, then hourly." in page
