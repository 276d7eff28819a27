"""SSRF, with the private-network setting off: every internal destination is refused at create,
at update, by Test connection, by Send test event and by the worker, and the canary listening on
loopback (its port is in every URL) receives no connection at all. Redirects to the canary are
recorded as failures and never followed.

The guard runs in this process (drain() is what the worker runs), behind the network fence of
conftest.py: a broken guard fails these tests instead of reaching a private address.
"""

import pytest
from django.test import Client

from deliveries.drain import drain
from deliveries.models import Attempt, Delivery
from deliveries.services import publish
from subscriptions.models import Connector, Webhook
from subscriptions.services import create_webhook
from tests.conftest import logged_in_client
from tests.subscriptions.factories import make_connector, webhook_form_data

pytestmark = pytest.mark.django_db

WEBHOOKS = "/w/acme/settings/integrations/webhooks/"

# Hosts as they appear in a URL; the canary's port is added to each.
LOOPBACK_FORMS = [
    "127.0.0.1", "127.1", "127.0.0.2", "localhost", "LOCALHOST", "localhost.", "0.0.0.0", "0",
    "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1", "017700000001",
]
IPV6_FORMS = [
    "[::1]", "[::]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::127.0.0.1]",
    "[64:ff9b::7f00:1]", "[2002:7f00:1::1]", "[::ffff:a00:1]", "[64:ff9b::a00:1]",
    "[64:ff9b:1::a00:1]", "[fe80::1]", "[fc00::1]", "[fd00:ec2::254]", "[ff02::1]",
    "[2001:db8::1]", "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
]
PRIVATE_V4 = [
    "10.0.0.1", "10.255.255.255", "172.16.0.1", "172.31.0.1", "192.168.0.1", "100.64.0.1",
    "100.127.255.254", "169.254.169.254", "169.254.0.1", "224.0.0.1", "240.0.0.1",
    "255.255.255.255", "0.1.2.3", "192.0.0.8", "198.18.0.1",
]
NAMES = [  # resolved by the stub resolver of conftest.py
    "internal.hookshot.test", "metadata.hookshot.test", "loopback.hookshot.test",
    "v6-loopback.hookshot.test", "cgnat.hookshot.test", "mixed.hookshot.test",
    "mixed-last.hookshot.test", "mixed-v6.hookshot.test",
]
DESTINATIONS = LOOPBACK_FORMS + IPV6_FORMS + PRIVATE_V4 + NAMES


def test_the_matrix_has_more_than_forty_destinations():
    assert len(DESTINATIONS) >= 40
    assert len(set(DESTINATIONS)) == len(DESTINATIONS)


@pytest.fixture
def refuse_private(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False


def url_error(response) -> str:
    form = response.context["form"]
    return " ".join(form.errors.get("url", []))


@pytest.mark.parametrize("host", DESTINATIONS)
def test_an_internal_destination_is_refused_everywhere_and_never_connected_to(
    host, acme, alice, canary, fence, refuse_private
):
    url = f"http://{host}:{canary.port}/hook"
    client = logged_in_client(alice)

    # 1. Create: refused next to the URL, nothing saved.
    response = client.post(WEBHOOKS + "new/", webhook_form_data(name="New", url=url))
    assert response.status_code == 400
    assert "Blocked" in url_error(response), url_error(response)
    assert not Webhook.objects.filter(name="New").exists()

    # 2. Update: refused, the stored URL unchanged.
    safe = create_webhook(Webhook(workspace=acme, name="Safe", url="https://hooks.example.com/x",
                                  topics=["form.submitted"]))
    response = client.post(f"{WEBHOOKS}{safe.pk}/", webhook_form_data(name="Safe", url=url))
    assert response.status_code == 400
    assert "Blocked" in url_error(response)
    safe.refresh_from_db()
    assert safe.url == "https://hooks.example.com/x"

    # A webhook that points there anyway: saved while the setting was on, or its DNS changed.
    bad = create_webhook(Webhook(workspace=acme, name="Bad", url=url, topics=["form.submitted"]))

    # 3. Test connection: the result says blocked.
    response = client.post(f"{WEBHOOKS}{bad.pk}/test-connection/")
    assert response.status_code == 200
    assert "Blocked" in response.content.decode()

    # 4. Send test event (through the real path: a test delivery the worker drains) and
    # 5. an ordinary event, drained as the worker drains it.
    response = client.post(f"{WEBHOOKS}{bad.pk}/test-event/", {"type": "form.submitted"})
    assert response.status_code == 302
    publish(acme, "form.submitted", {"email": "jane@example.com"})
    drain(bad.pk)
    attempts = list(Attempt.objects.filter(webhook=bad).order_by("delivery__is_test"))
    assert [a.delivery.is_test for a in attempts] == [False, True]
    for attempt in attempts:
        assert attempt.error_kind == "blocked", (attempt.error_kind, attempt.error_message)
        assert attempt.error_message.startswith("Blocked: ")
        assert attempt.response_status is None
    event_delivery = Delivery.objects.get(webhook=bad, is_test=False)
    assert event_delivery.last_error.startswith("Blocked: ")

    assert canary.connections() == 0
    assert fence.refused == []


def test_dns_is_checked_again_at_send_time(acme, alice, canary, fence, refuse_private):
    """A name that resolves to a public address when saved and to loopback afterwards
    (DNS rebinding): saving passes, every request after it is blocked."""
    answers = iter([["93.184.216.34"]])
    fence.names["rebind.hookshot.test"] = lambda: next(answers, ["127.0.0.1"])
    url = f"http://rebind.hookshot.test:{canary.port}/hook"
    client = logged_in_client(alice)

    response = client.post(WEBHOOKS + "new/", webhook_form_data(name="Rebind", url=url))
    assert response.status_code == 302  # the check at save saw a public address
    hook = Webhook.objects.get(name="Rebind")
    probe_message = " ".join(str(m) for m in response.wsgi_request._messages)
    assert "Blocked" in probe_message  # the reachability check after saving resolved again

    publish(acme, "form.submitted", {"email": "jane@example.com"})
    drain(hook.pk)
    attempt = Attempt.objects.get(webhook=hook)
    assert attempt.error_kind == "blocked"
    assert "rebind.hookshot.test resolves to loopback address 127.0.0.1" in attempt.error_message
    assert canary.connections() == 0
    assert fence.refused == []


# --- redirects ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_the_canary_is_a_failure_never_followed_and_credentials_go_to_one_host(
    status, acme, alice, canary, fence, httpserver, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the receiver itself is on loopback
    target = f"http://127.0.0.1:{canary.port}/stolen"
    httpserver.expect_request("/hook").respond_with_data(
        "moved", status=status, headers={"Location": target})
    connector = make_connector(acme, kind=Connector.Kind.API_KEY, header_name="X-API-Key",
                               secret="key-0123456789abcdef")
    hook = create_webhook(
        Webhook(workspace=acme, name="Moved", url=httpserver.url_for("/hook"),
                topics=["form.submitted"], connector=connector),
        headers=[("X-Tenant", "acme")],
    )

    publish(acme, "form.submitted", {"email": "jane@example.com"})
    drain(hook.pk)
    attempt = Attempt.objects.get(webhook=hook)
    assert (attempt.response_status, attempt.succeeded) == (status, False)
    delivery = Delivery.objects.get(webhook=hook)
    assert delivery.last_error == f"HTTP {status}"
    assert delivery.status == Delivery.Status.PENDING  # retried later, as any failure

    response = logged_in_client(alice).post(f"{WEBHOOKS}{hook.pk}/test-connection/")
    assert f"HTTP {status}" in response.content.decode()

    # The receiver got the credentials (delivery and test connection); the canary nothing.
    requests = [request for request, _ in httpserver.log]
    assert len(requests) == 2
    assert all(r.headers["X-API-Key"] == "key-0123456789abcdef" for r in requests)
    assert canary.connections() == 0
    assert fence.refused == []


def test_an_anonymous_client_cannot_reach_the_probe(acme, canary):
    """Test connection is an admin's POST: nobody else can make the server send a request."""
    hook = create_webhook(Webhook(workspace=acme, name="H", url=f"http://127.0.0.1:{canary.port}/",
                                  topics=["form.submitted"]))
    response = Client().post(f"{WEBHOOKS}{hook.pk}/test-connection/")
    assert response.status_code == 302
    assert canary.connections() == 0
