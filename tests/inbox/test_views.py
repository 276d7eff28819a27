"""The test inbox page: who sees and changes what, and how received requests are shown."""

import time

import pytest
from django.urls import reverse

from deliveries.signing import signature_headers
from inbox.models import Inbox, InboxRequest
from inbox.services import inbox_url

PAGE = reverse("inbox", args=["acme"])
PARTIAL = reverse("inbox_requests", args=["acme"])
STATUS = reverse("inbox_status", args=["acme"])
CLEAR = reverse("inbox_clear", args=["acme"])


def receive(client, url, body=b'{"hello": "world"}', content_type="application/json", **kw):
    return client.post(url, data=body, content_type=content_type, **kw)


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_the_login_page(client, acme):
    for url in (PAGE, PARTIAL):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.django_db
def test_a_poll_after_the_session_ended_sends_the_whole_page_to_the_login_form(client, acme):
    response = client.get(PARTIAL, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/accounts/login/?next={PAGE}"


def test_an_outsider_gets_404_for_the_page_the_list_and_every_action(charlie_client, acme):
    assert charlie_client.get(PAGE).status_code == 404
    assert charlie_client.get(PARTIAL).status_code == 404
    assert charlie_client.post(STATUS, {"response_status": "500"}).status_code == 404
    assert charlie_client.post(CLEAR).status_code == 404


def test_a_member_sees_the_inbox_but_cannot_change_or_clear_it(
    bob_client, client, acme, receive_url, inbox
):
    receive(client, receive_url)
    response = bob_client.get(PAGE)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<code class="inbox-url" id="inbox-url">{inbox_url(acme)}</code>' in html
    assert STATUS not in html  # no status form
    assert CLEAR not in html  # no Clear button
    assert bob_client.get(PARTIAL).status_code == 200

    assert bob_client.post(STATUS, {"response_status": "500"}).status_code == 403
    assert bob_client.post(CLEAR).status_code == 403
    inbox.refresh_from_db()
    assert inbox.response_status == 200
    assert inbox.requests.count() == 1


def test_an_admin_sees_the_url_with_copy_and_the_status_form(alice_client, acme, settings):
    settings.SITE_URL = "https://hooks.example.com"
    html = alice_client.get(PAGE).content.decode()
    inbox = Inbox.objects.get(workspace=acme)
    url = f"https://hooks.example.com/inbox/{inbox.token}/"
    assert f'data-copy="{url}"' in html
    assert f'action="{STATUS}"' in html
    assert '<option value="200" selected>200 OK</option>' in html
    assert "Waiting for the first request" in html
    assert 'class="active">Test inbox</a>' in html  # the settings navigation marks the page


def test_an_admin_changes_the_status_and_the_inbox_answers_with_it(
    alice_client, client, inbox, receive_url
):
    response = alice_client.post(STATUS, {"response_status": "503"}, follow=True)
    assert response.redirect_chain == [(PAGE, 302)]
    assert "now answers every request with 503 Service Unavailable" in response.content.decode()
    assert receive(client, receive_url).status_code == 503


def test_a_status_outside_the_list_is_refused_with_a_message(alice_client, inbox):
    for value in ("302", "abc", ""):
        response = alice_client.post(STATUS, {"response_status": value}, follow=True)
        assert "Choose one of the listed statuses" in response.content.decode()
    inbox.refresh_from_db()
    assert inbox.response_status == 200


def test_clear_deletes_every_request_of_this_inbox_only(alice_client, client, receive_url, globex):
    from inbox.services import receive_path

    other = Inbox.for_workspace(globex)
    receive(client, receive_url)
    receive(client, receive_url)
    receive(client, receive_path(other))

    response = alice_client.post(CLEAR, follow=True)

    assert "Cleared 2 requests" in response.content.decode()
    assert not InboxRequest.objects.filter(inbox__workspace__slug="acme").exists()
    assert other.requests.count() == 1


def test_the_list_shows_requests_newest_first_with_method_status_and_details(
    alice_client, client, receive_url, inbox
):
    receive(client, receive_url + "first")
    inbox.response_status = 500
    inbox.save()
    client.put(receive_url + "second", data="plain", content_type="text/plain")

    html = alice_client.get(PAGE).content.decode()

    # Paths are shown below the inbox URL, without repeating its secret token.
    assert html.index('title="/second"') < html.index('title="/first"')
    assert inbox.token not in html.split('id="inbox-requests"')[1]
    assert '<span class="method method-put">PUT</span>' in html
    assert '<span class="badge badge-err">500</span>' in html
    assert '<span class="badge badge-ok">200</span>' in html
    assert "<details" in html and "Unsigned" in html
    # JSON bodies are shown pretty-printed.
    assert "{\n  &quot;hello&quot;: &quot;world&quot;\n}" in html


def test_the_signature_badge_names_the_webhook_that_verified(
    alice_client, client, receive_url, make_webhook
):
    webhook = make_webhook(name="Orders")
    body = b'{"payload": {}}'
    headers = signature_headers("msg_1", int(time.time()), body, webhook.valid_keys())
    receive(client, receive_url, body=body, headers=headers)
    receive(client, receive_url, body=b'{"payload": {"forged": true}}', headers=headers)

    html = alice_client.get(PARTIAL).content.decode()

    assert "✓ Signature verified · Orders" in html
    assert "✗ Signature mismatch" in html


def test_a_script_in_a_body_or_header_is_shown_as_text(alice_client, client, receive_url):
    payload = "<script>alert(1)</script>"
    receive(
        client,
        receive_url,
        body=payload.encode(),
        content_type="text/html",
        headers={"X-Evil": payload},
    )
    receive(client, receive_url, body=b'{"note": "<script>alert(2)</script>"}')

    for url in (PAGE, PARTIAL):
        html = alice_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "<script>alert(2)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html


def test_the_first_page_polls_the_partial_every_3_seconds(alice_client, inbox):
    html = alice_client.get(PAGE).content.decode()
    assert f'hx-get="{PARTIAL}" hx-trigger="every 3s"' in html
    assert f'href="{PAGE}">Refresh</a>' in html  # the same without JavaScript


def test_the_list_is_paginated_by_25_and_older_pages_do_not_poll(alice_client, client, receive_url):
    for i in range(30):
        receive(client, receive_url + f"n{i}")

    first = alice_client.get(PAGE).content.decode()
    assert first.count('class="req"') == 25
    assert 'title="/n29"' in first and 'title="/n4"' not in first
    assert "Older →" in first

    second = alice_client.get(PAGE + "?page=2").content.decode()
    assert second.count('class="req"') == 5
    assert "hx-trigger" not in second
    assert 'title="/n0"' in second


def test_rows_keep_their_open_state_across_polls(alice_client, client, receive_url):
    receive(client, receive_url)
    pk = InboxRequest.objects.get().pk
    html = alice_client.get(PARTIAL).content.decode()
    assert f'id="req-{pk}" hx-preserve="true"' in html
