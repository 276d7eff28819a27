"""The inbox endpoint: what it stores, what it answers, how it checks signatures."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from deliveries.signing import signature_headers
from inbox.models import MAX_BODY_BYTES, MAX_STORED_BODY_BYTES, Inbox, InboxRequest
from inbox.services import inbox_url, prune_requests
from subscriptions.services import rotate_signing_key, soft_delete

pytestmark = pytest.mark.django_db

BODY = b'{"payload": {"type": "content.viewed", "id": "evt_1"}}'


def signed(body, keys, timestamp=None, message_id="msg_1"):
    """Headers exactly as the delivery engine sends them, as test-client keyword headers."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return signature_headers(message_id, timestamp, body, keys)


def post(client, url, body=BODY, headers=None, content_type="application/json"):
    return client.post(url, data=body, content_type=content_type, headers=headers or {})


def test_it_stores_the_request_and_answers_the_configured_status(client, receive_url, inbox):
    response = client.put(
        receive_url + "orders/new?source=test&n=1",
        data=BODY,
        content_type="application/json",
        headers={"X-Demo": "yes", "User-Agent": "Hookshot/1.0"},
    )

    assert response.status_code == 200
    received = InboxRequest.objects.get()
    assert response.json() == {"received": True, "id": received.pk}
    assert received.inbox == inbox
    assert received.method == "PUT"
    assert received.path == receive_url + "orders/new"
    assert received.query_string == "source=test&n=1"
    assert received.headers["X-Demo"] == "yes"
    assert received.headers["User-Agent"] == "Hookshot/1.0"
    assert received.content_type == "application/json"
    assert received.body == BODY.decode()
    assert received.body_size == len(BODY)
    assert received.body_truncated is False
    assert received.remote_addr == "127.0.0.1"
    assert received.answered_status == 200
    assert received.signature_state == InboxRequest.SignatureState.UNSIGNED
    assert received.signature_check == []


def test_it_accepts_the_url_without_its_trailing_slash(client, receive_url):
    response = post(client, receive_url.rstrip("/"))
    assert response.status_code == 200
    assert InboxRequest.objects.get().path == receive_url.rstrip("/")


def test_it_answers_404_json_for_an_unknown_token(client, inbox):
    response = post(client, "/inbox/" + "x" * 43 + "/")
    assert response.status_code == 404
    assert response.json()["received"] is False
    assert not InboxRequest.objects.exists()


def test_it_answers_500_when_configured_to(client, receive_url, inbox):
    inbox.response_status = 500
    inbox.save()
    response = post(client, receive_url)
    assert response.status_code == 500
    assert response.json()["received"] is True
    assert InboxRequest.objects.get().answered_status == 500


def test_a_204_inbox_answers_with_an_empty_body(client, receive_url, inbox):
    inbox.response_status = 204
    inbox.save()
    response = post(client, receive_url)
    assert response.status_code == 204
    assert response.content == b""
    assert InboxRequest.objects.get().answered_status == 204


def test_a_body_over_1_mib_is_refused_with_413_and_recorded_without_its_body(client, receive_url):
    response = post(
        client,
        receive_url,
        body=b"x" * (MAX_BODY_BYTES + 1),
        content_type="application/octet-stream",
    )
    assert response.status_code == 413
    assert "at most 1024 KiB" in response.json()["error"]
    received = InboxRequest.objects.get()
    assert received.answered_status == 413
    assert received.body == ""
    assert received.body_size == MAX_BODY_BYTES + 1


def test_a_body_of_exactly_1_mib_is_accepted_and_stored_truncated(client, receive_url):
    response = post(client, receive_url, body=b"y" * MAX_BODY_BYTES, content_type="text/plain")
    assert response.status_code == 200
    received = InboxRequest.objects.get()
    assert received.body_truncated is True
    assert received.body == "y" * MAX_STORED_BODY_BYTES
    assert received.body_size == MAX_BODY_BYTES


def test_binary_and_nul_bytes_are_stored_without_crashing(client, receive_url):
    response = post(client, receive_url, body=b"\x00\xff\xfeabc", content_type="image/png")
    assert response.status_code == 200
    assert InboxRequest.objects.get().body == "\ufffd\ufffd\ufffdabc"


def test_credentials_in_headers_are_masked_before_storing(client, receive_url):
    post(
        client,
        receive_url,
        headers={
            "Authorization": "Bearer sk_live_abcdefghijklmnop",
            "X-Api-Key": "key_1234567890",
        },
    )
    headers = InboxRequest.objects.get().headers
    assert "abcdefghijkl" not in headers["Authorization"]
    assert headers["Authorization"].endswith("mnop")
    assert "1234567" not in headers["X-Api-Key"]


def test_a_correctly_signed_request_is_verified_for_its_webhook(client, receive_url, make_webhook):
    make_webhook(name="Someone else")
    webhook = make_webhook(name="Orders")

    post(client, receive_url, headers=signed(BODY, webhook.valid_keys()))

    received = InboxRequest.objects.get()
    assert received.signature_state == InboxRequest.SignatureState.VERIFIED
    assert received.verified_by == "Orders"
    by_name = {entry["webhook_name"]: entry for entry in received.signature_check}
    assert by_name["Orders"] == {
        "webhook_id": webhook.pk,
        "webhook_name": "Orders",
        "standard": True,
        "hex": True,
    }
    assert by_name["Someone else"]["standard"] is False
    assert by_name["Someone else"]["hex"] is False


def test_a_tampered_body_is_a_mismatch(client, receive_url, make_webhook):
    webhook = make_webhook()
    headers = signed(BODY, webhook.valid_keys())

    post(client, receive_url, body=BODY.replace(b"evt_1", b"evt_2"), headers=headers)

    received = InboxRequest.objects.get()
    assert received.signature_state == InboxRequest.SignatureState.MISMATCH
    assert received.signature_check == [
        {"webhook_id": webhook.pk, "webhook_name": "Orders", "standard": False, "hex": False}
    ]


def test_a_request_without_signature_headers_is_unsigned(client, receive_url, make_webhook):
    make_webhook()
    post(client, receive_url)
    received = InboxRequest.objects.get()
    assert received.signature_state == InboxRequest.SignatureState.UNSIGNED
    assert received.signature_check == []


def test_a_replayed_request_with_a_stale_timestamp_is_only_partly_verified(
    client, receive_url, make_webhook
):
    webhook = make_webhook()
    an_hour_ago = int(time.time()) - 3600

    post(client, receive_url, headers=signed(BODY, webhook.valid_keys(), timestamp=an_hour_ago))

    received = InboxRequest.objects.get()
    assert received.signature_state == InboxRequest.SignatureState.PARTIAL
    assert received.signature_check[0]["standard"] is False  # out of the 5-minute tolerance
    assert received.signature_check[0]["hex"] is True


def test_a_deleted_webhooks_key_verifies_nothing(client, receive_url, make_webhook):
    webhook = make_webhook()
    keys = webhook.valid_keys()
    soft_delete(webhook)

    post(client, receive_url, headers=signed(BODY, keys))

    received = InboxRequest.objects.get()
    assert received.signature_state == InboxRequest.SignatureState.MISMATCH
    assert received.signature_check == []


def test_during_a_key_grace_period_either_key_verifies(client, receive_url, make_webhook):
    webhook = make_webhook()
    [old_key] = webhook.valid_keys()
    rotate_signing_key(webhook, grace_hours=24)
    new_key, still_valid = webhook.valid_keys()
    assert still_valid == old_key

    post(client, receive_url, headers=signed(BODY, [new_key, old_key]))  # what we send
    post(client, receive_url, headers=signed(BODY, [old_key]))  # a sender not yet switched
    post(client, receive_url, headers=signed(BODY, [new_key]))

    states = set(InboxRequest.objects.values_list("signature_state", flat=True))
    assert states == {InboxRequest.SignatureState.VERIFIED}


def test_the_check_is_kept_as_it_was_when_the_request_arrived(client, receive_url, make_webhook):
    webhook = make_webhook()
    old_keys = webhook.valid_keys()
    post(client, receive_url, headers=signed(BODY, old_keys))

    rotate_signing_key(webhook, grace_hours=0)  # the old key stops now
    post(client, receive_url, headers=signed(BODY, old_keys))

    first, second = InboxRequest.objects.order_by("id")
    assert first.signature_state == InboxRequest.SignatureState.VERIFIED
    assert second.signature_state == InboxRequest.SignatureState.MISMATCH


def test_receiving_a_signed_request_takes_a_fixed_number_of_queries(
    client, receive_url, make_webhook, django_assert_max_num_queries
):
    webhooks = [make_webhook(name=f"Hook {i}") for i in range(5)]
    headers = signed(BODY, webhooks[0].valid_keys())
    # Find the inbox, load webhooks, load their keys, the connectors' and custom headers'
    # values (to mask them), insert, look for rows past the limit.
    with django_assert_max_num_queries(7):
        response = post(client, receive_url, headers=headers)
    assert response.status_code == 200


def test_pruning_keeps_the_newest_500(client, receive_url, inbox):
    start = timezone.now() - timedelta(days=1)
    InboxRequest.objects.bulk_create(
        InboxRequest(
            inbox=inbox,
            received_at=start + timedelta(seconds=i),
            method="POST",
            path=f"/old/{i}",
            signature_state="unsigned",
            answered_status=200,
        )
        for i in range(505)
    )

    post(client, receive_url)

    kept = InboxRequest.objects.filter(inbox=inbox)
    assert kept.count() == 500
    assert kept.first().path == receive_url  # the newest stays
    # The six oldest went: /old/0 ... /old/5.
    assert not kept.filter(path__in=[f"/old/{i}" for i in range(6)]).exists()
    assert kept.filter(path="/old/6").exists()


def test_pruning_breaks_ties_between_equal_timestamps_by_id(inbox):
    now = timezone.now()
    InboxRequest.objects.bulk_create(
        InboxRequest(
            inbox=inbox,
            received_at=now,
            method="POST",
            path=f"/{i}",
            signature_state="unsigned",
            answered_status=200,
        )
        for i in range(5)
    )
    assert prune_requests(inbox, keep=3) == 2
    assert sorted(InboxRequest.objects.values_list("path", flat=True)) == ["/2", "/3", "/4"]


def test_pruning_leaves_other_inboxes_alone(client, receive_url, inbox, globex):
    other = Inbox.for_workspace(globex)
    InboxRequest.objects.create(
        inbox=other, method="POST", path="/x", signature_state="unsigned", answered_status=200
    )
    assert prune_requests(inbox, keep=0) == 0
    assert other.requests.count() == 1


def test_inbox_url_is_the_site_url_plus_the_receive_path(acme, settings):
    settings.SITE_URL = "https://hooks.example.com/"
    url = inbox_url(acme)
    token = Inbox.objects.get(workspace=acme).token
    assert url == f"https://hooks.example.com/inbox/{token}/"
    assert inbox_url(acme) == url  # one inbox per workspace, created once
    assert len(token) == 43  # 32 random bytes, URL-safe base64


def test_the_pretty_body_indents_json_and_leaves_other_text_alone(client, receive_url):
    post(client, receive_url, body=b'{"a":1,"b":[1,2]}')
    post(client, receive_url, body=b"a=1&b=2", content_type="application/x-www-form-urlencoded")
    json_request, form_request = InboxRequest.objects.order_by("id")
    assert json_request.pretty_body == json.dumps({"a": 1, "b": [1, 2]}, indent=2)
    assert form_request.pretty_body == "a=1&b=2"


def test_a_connector_secret_or_custom_header_value_is_masked_whatever_the_header_name(
    client, receive_url, make_webhook, acme
):
    """Masking by name alone (Authorization, *token*...) misses an API key sent as
    Ocp-Apim-Subscription-Key or a custom header named X-Tenant: the inbox also masks every
    value the workspace's connectors and custom headers send."""
    from subscriptions.models import Connector, WebhookHeader

    Connector.objects.create(workspace=acme, name="Azure", kind="api_key",
                             header_name="Ocp-Apim-Subscription-Key", secret="azure-key-0123456789")
    hook = make_webhook(name="Tenant")
    WebhookHeader.objects.create(webhook=hook, name="X-Tenant", value="tenant-secret-987654")
    post(client, receive_url, headers={
        "Ocp-Apim-Subscription-Key": "azure-key-0123456789",
        "X-Tenant": "tenant-secret-987654",
        "X-Other": "not-a-secret-value",
    })
    stored = InboxRequest.objects.get().headers
    values = json.dumps(stored)
    assert "azure-key-0123456789" not in values and "tenant-secret-987654" not in values
    assert stored["Ocp-Apim-Subscription-Key"] == "••••••••••••6789"
    assert stored["X-Tenant"] == "••••••••••••7654"
    assert stored["X-Other"] == "not-a-secret-value"  # the control: other values are kept
