"""The Django admin: useful columns and actions, and never a secret."""

import pytest
from django.urls import reverse

from subscriptions.models import Webhook
from tests.conftest import make_user
from tests.subscriptions.factories import make_connector, make_webhook
from webhooks_site.crypto import mask


@pytest.fixture
def operator_client(client, db):
    """Staff of the SaaS itself (Django admin), member of no workspace."""
    user = make_user("olivia")
    user.is_staff = user.is_superuser = True
    user.save()
    client.force_login(user)
    return client


def test_the_webhook_admin_lists_filters_and_never_shows_secrets(operator_client, acme):
    connector = make_connector(acme, secret="connector-secret-1234")
    webhook = make_webhook(
        acme, name="Orders hook", connector=connector, headers=[("X-Token", "header-secret-5678")]
    )
    changelist = operator_client.get(
        reverse("admin:subscriptions_webhook_changelist") + "?status=enabled"
    )
    assert "Orders hook" in changelist.content.decode()

    html = operator_client.get(
        reverse("admin:subscriptions_webhook_change", args=[webhook.pk])
    ).content.decode()
    assert "header-secret-5678" not in html
    assert mask("header-secret-5678") in html
    assert webhook.current_key().secret not in html
    assert webhook.current_key().masked in html
    assert "connector-secret-1234" not in html


def test_the_admin_actions_enable_and_disable(operator_client, acme):
    webhook = make_webhook(acme)
    changelist = reverse("admin:subscriptions_webhook_changelist")
    operator_client.post(changelist, {"action": "disable", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.DISABLED
    operator_client.post(changelist, {"action": "enable", "_selected_action": [webhook.pk]})
    webhook.refresh_from_db()
    assert webhook.status == Webhook.Status.ENABLED


def test_the_connector_admin_shows_the_secret_masked_only(operator_client, acme):
    connector = make_connector(acme, secret="connector-secret-1234")
    for page in (
        reverse("admin:subscriptions_connector_changelist"),
        reverse("admin:subscriptions_connector_change", args=[connector.pk]),
    ):
        html = operator_client.get(page).content.decode()
        assert "connector-secret-1234" not in html, page
        assert connector.masked_secret in html, page


def test_the_event_type_admin_lists_the_catalog_by_group(operator_client):
    html = operator_client.get(
        reverse("admin:subscriptions_eventtype_changelist") + "?group=Journeys"
    ).content.decode()
    assert "journey.published" in html
    assert "content.viewed" not in html
