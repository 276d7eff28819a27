"""POST /webhooks/{id}/rotate-key and GET /webhooks/{id}/key."""

from datetime import timedelta

from django.utils import timezone

from api.models import ApiCall
from subscriptions.models import SigningKey
from tests.api.conftest import errors_of
from tests.subscriptions.factories import make_webhook


def test_get_key_shows_the_current_signing_key_in_full(api, acme):
    webhook = make_webhook(acme)
    data = api.get(f"/webhooks/{webhook.pk}/key").json()
    assert data == {"key": webhook.current_key().secret, "previous_keys": []}
    assert data["key"].startswith("whsec_")


def test_every_key_read_is_noted_in_the_audit_log(api, acme):
    webhook = make_webhook(acme, name="Orders")
    api.get(f"/webhooks/{webhook.pk}/key")
    api.get(f"/webhooks/{webhook.pk}/key")
    notes = list(ApiCall.objects.filter(path__endswith="/key").values_list("note", flat=True))
    assert notes == ["Read the signing key of “Orders”"] * 2
    assert not ApiCall.objects.filter(note__contains="whsec_").exists()


def test_rotating_without_grace_stops_the_old_key_at_once(api, acme):
    webhook = make_webhook(acme)
    old = webhook.current_key().secret
    response = api.post(f"/webhooks/{webhook.pk}/rotate-key", {"grace_hours": 0})
    assert response.status_code == 200
    data = response.json()
    assert data["key"] != old and data["previous_keys"] == []
    assert webhook.valid_keys() == [data["key"]]


def test_rotating_with_24_hours_of_grace_keeps_the_old_key_signing(api, acme):
    webhook = make_webhook(acme)
    old = webhook.current_key().secret
    data = api.post(f"/webhooks/{webhook.pk}/rotate-key", {"grace_hours": 24}).json()
    [previous] = data["previous_keys"]
    assert previous["key"] == old
    expires = SigningKey.objects.get(webhook=webhook, expires_at__isnull=False).expires_at
    assert abs(expires - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    assert webhook.valid_keys() == [data["key"], old]
    assert api.get(f"/webhooks/{webhook.pk}/key").json() == data


def test_rotating_with_no_body_means_no_grace(api, acme):
    webhook = make_webhook(acme)
    assert api.post(f"/webhooks/{webhook.pk}/rotate-key").json()["previous_keys"] == []


def test_a_grace_other_than_0_or_24_hours_is_refused(api, acme):
    webhook = make_webhook(acme)
    old = webhook.current_key().secret
    response = api.post(f"/webhooks/{webhook.pk}/rotate-key", {"grace_hours": 12})
    assert errors_of(response) == [
        (
            "grace_hours",
            "Choose 0 (the old key stops at once) or 24 (it keeps signing for 24 hours).",
        )
    ]
    assert webhook.current_key().secret == old
