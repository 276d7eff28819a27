"""Members read, admins change, outsiders get 404 for everything of the workspace."""

import pytest
from django.urls import reverse
from django.utils import timezone

from subscriptions.models import Connector, Webhook
from tests.subscriptions.factories import make_connector, make_webhook, webhook_form_data


@pytest.fixture
def objects(acme):
    """Acme's webhook, deleted webhook and connector."""
    webhook = make_webhook(acme, name="Orders hook")
    deleted = make_webhook(acme, name="Old hook", deleted_at=timezone.now())
    connector = make_connector(acme, name="CRM token")
    return webhook, deleted, connector


def reads(webhook, deleted, connector):
    """GET pages and what they are called."""
    return {
        "list": reverse("webhook_list", args=["acme"]),
        "edit": reverse("webhook_edit", args=["acme", webhook.pk]),
        "deleted list": reverse("webhook_deleted_list", args=["acme"]),
        "connectors": reverse("connector_list", args=["acme"]),
    }


def changes(webhook, deleted, connector):
    """(method, url, data) of every change an admin can make."""
    wh = ["acme", webhook.pk]
    return {
        "new page": ("get", reverse("webhook_new", args=["acme"]), None),
        "new": ("post", reverse("webhook_new", args=["acme"]), webhook_form_data(name="Sneaky")),
        "edit": ("post", reverse("webhook_edit", args=wh), webhook_form_data(name="Sneaky")),
        "header row": ("get", reverse("webhook_header_row", args=["acme"]), None),
        "toggle": ("post", reverse("webhook_toggle", args=wh), {}),
        "reveal": ("post", reverse("webhook_reveal_key", args=wh), {}),
        "reset page": ("get", reverse("webhook_reset_key", args=wh), None),
        "reset": ("post", reverse("webhook_reset_key", args=wh), {"grace": "0"}),
        "delete page": ("get", reverse("webhook_delete", args=wh), None),
        "delete": ("post", reverse("webhook_delete", args=wh), {}),
        "restore": ("post", reverse("webhook_restore", args=["acme", deleted.pk]), {}),
        "test connection": ("post", reverse("webhook_test_connection", args=wh), {}),
        "new connector page": ("get", reverse("connector_new", args=["acme"]), None),
        "new connector": (
            "post",
            reverse("connector_new", args=["acme"]),
            {"name": "Sneaky", "kind": "bearer", "secret": "x"},
        ),
        "connector edit page": (
            "get",
            reverse("connector_edit", args=["acme", connector.pk]),
            None,
        ),
        "connector edit": (
            "post",
            reverse("connector_edit", args=["acme", connector.pk]),
            {"name": "Sneaky", "kind": "bearer", "secret": "stolen"},
        ),
        "connector delete page": (
            "get",
            reverse("connector_delete", args=["acme", connector.pk]),
            None,
        ),
        "connector delete": ("post", reverse("connector_delete", args=["acme", connector.pk]), {}),
        "workspace settings page": ("get", reverse("workspace_settings", args=["acme"]), None),
        "workspace settings": (
            "post",
            reverse("workspace_settings", args=["acme"]),
            {"name": "Sneaky", "https_only": "on"},
        ),
    }


def snapshot(acme):
    """Everything the changes above could alter."""
    acme.refresh_from_db()
    return (
        list(Webhook.objects.order_by("pk").values()),
        list(Connector.objects.order_by("pk").values()),
        [list(w.signing_keys.values_list("pk", flat=True)) for w in Webhook.objects.order_by("pk")],
        (acme.name, acme.https_only),
    )


def test_a_member_reads_webhooks_and_connectors(bob_client, objects):
    for name, page in reads(*objects).items():
        assert bob_client.get(page).status_code == 200, name


def test_a_member_gets_403_for_every_change_and_nothing_changes(bob_client, acme, objects):
    before = snapshot(acme)
    for name, (method, page, data) in changes(*objects).items():
        response = getattr(bob_client, method)(page, data)
        assert response.status_code == 403, name
        response = getattr(bob_client, method)(page, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 403, f"{name} (htmx)"
    assert snapshot(acme) == before


def test_an_outsider_gets_404_for_every_page_and_change(charlie_client, acme, objects):
    before = snapshot(acme)
    for name, page in reads(*objects).items():
        assert charlie_client.get(page).status_code == 404, name
    for name, (method, page, data) in changes(*objects).items():
        response = getattr(charlie_client, method)(page, data)
        assert response.status_code == 404, name
    assert snapshot(acme) == before


def test_an_admin_of_another_workspace_cannot_reach_acmes_objects_through_their_own(
    charlie_client, globex, objects
):
    """Globex's URLs with Acme's primary keys: still 404, whatever the action."""
    webhook, deleted, connector = objects
    wh = ["globex", webhook.pk]
    for name in ("webhook_edit", "webhook_delete", "webhook_reset_key"):
        assert charlie_client.get(reverse(name, args=wh)).status_code == 404, name
    for name in (
        "webhook_edit",
        "webhook_toggle",
        "webhook_reveal_key",
        "webhook_reset_key",
        "webhook_delete",
        "webhook_test_connection",
    ):
        assert charlie_client.post(reverse(name, args=wh), {}).status_code == 404, name
    restore = reverse("webhook_restore", args=["globex", deleted.pk])
    assert charlie_client.post(restore).status_code == 404
    for name in ("connector_edit", "connector_delete"):
        page = reverse(name, args=["globex", connector.pk])
        assert charlie_client.get(page).status_code == 404, name
        assert charlie_client.post(page, {"name": "x", "kind": "bearer"}).status_code == 404, name
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.ENABLED and not webhook.is_deleted


def test_anonymous_visitors_are_sent_to_log_in(client, objects):
    for name, page in reads(*objects).items():
        response = client.get(page)
        assert response.status_code == 302 and "/accounts/login/" in response.url, name


def test_a_member_sees_custom_header_values_masked_and_an_admin_sees_them(
    bob_client, alice_client, acme
):
    webhook = make_webhook(acme, headers=[("X-Tenant-Key", "tenant-key-0123456789WXYZ")])
    page = reverse("webhook_edit", args=["acme", webhook.pk])
    member = bob_client.get(page).content.decode()
    assert "tenant-key-0123456789WXYZ" not in member
    assert "••••••••••••WXYZ" in member and "X-Tenant-Key" in member
    assert "tenant-key-0123456789WXYZ" in alice_client.get(page).content.decode()
