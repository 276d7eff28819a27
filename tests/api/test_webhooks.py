"""GET/POST /webhooks, GET/PATCH/DELETE /webhooks/{id}, POST /webhooks/{id}/restore."""

from subscriptions.models import SigningKey, Webhook
from tests.api.conftest import errors_of
from tests.subscriptions.factories import make_connector, make_webhook

NEW = {
    "name": "Orders to CRM",
    "url": "https://crm.example.com/hooks?user=${userId}",
    "topics": ["form.submitted"],
}


def test_a_webhook_is_created_with_every_field_and_a_signing_key(api, acme):
    connector = make_connector(acme, name="CRM token")
    body = {
        **NEW,
        "method": "POST",
        "format": "raw",
        "topics": ["form.submitted", "custom", "system.email_opened"],
        "event_names": ["Added To Cart", " Paid ", "Paid"],
        "headers": [{"name": "X-Api-Version", "value": "2"}, {"name": "X-Team", "value": "crm"}],
        "connector": connector.pk,
        "extra_body": {"source": "crm"},
        "mode": "batched",
        "batch_size": 100,
        "batch_interval_seconds": 30,
        "ordered": True,
        "retry_policy": "three_retries",
        "max_attempts": 4,
        "rate_limit_per_second": 5,
        "timeout_seconds": 10,
        "enabled": False,
    }
    response = api.post("/webhooks", body)
    assert response.status_code == 201, response.content
    data = response.json()
    webhook = Webhook.objects.get(pk=data["id"])
    assert webhook.workspace == acme
    assert data["event_names"] == ["Added To Cart", "Paid"]
    assert data["headers"] == body["headers"]
    assert data["connector"] == connector.pk
    assert data["status"] == "disabled" and data["enabled"] is False
    for field in (
        "name",
        "url",
        "format",
        "topics",
        "extra_body",
        "mode",
        "batch_size",
        "batch_interval_seconds",
        "ordered",
        "retry_policy",
        "max_attempts",
        "rate_limit_per_second",
        "timeout_seconds",
    ):
        assert data[field] == body[field], field
        assert getattr(webhook, field) == body[field], field
    assert webhook.header_dict() == {"X-Api-Version": "2", "X-Team": "crm"}
    assert SigningKey.objects.filter(webhook=webhook, expires_at=None).count() == 1


def test_left_out_fields_take_the_forms_defaults(api):
    data = api.post("/webhooks", NEW).json()
    assert data["method"] == "POST"
    assert data["format"] == "default"
    assert data["mode"] == "single"
    assert data["batch_size"] == 50 and data["batch_interval_seconds"] == 10
    assert data["ordered"] is False
    assert data["retry_policy"] == "exponential" and data["max_attempts"] == 8
    assert data["rate_limit_per_second"] is None
    assert data["timeout_seconds"] == 30
    assert data["headers"] == [] and data["connector"] is None and data["extra_body"] == {}
    assert data["enabled"] is True and data["status"] == "enabled"
    assert set(data) >= {"created_at", "updated_at"}


def test_name_url_and_topics_are_required(api):
    response = api.post("/webhooks", {})
    assert response.status_code == 400
    assert sorted(errors_of(response)) == [
        ("name", "This field is required."),
        ("topics", "This field is required."),
        ("url", "This field is required."),
    ]
    assert Webhook.objects.count() == 0


def test_an_unknown_or_read_only_field_is_refused_not_ignored(api):
    response = api.post("/webhooks", {**NEW, "secret": "x", "status": "enabled"})
    assert response.status_code == 400
    assert dict(errors_of(response)) == {
        "secret": "Unknown field “secret”: check its spelling in the API reference.",
        "status": "status is read-only: leave it out.",
    }


def test_the_list_is_paginated_by_cursor(api, acme, globex):
    hooks = [make_webhook(acme) for _ in range(5)]
    make_webhook(globex)
    make_webhook(acme, name="Gone").deleted_at = None
    Webhook.objects.filter(name="Gone").update(deleted_at="2024-01-01T00:00:00Z")

    first = api.get("/webhooks?limit=2").json()
    assert [w["id"] for w in first["data"]] == [hooks[0].pk, hooks[1].pk]
    assert first["next"].endswith(f"/api/v1/webhooks?limit=2&cursor={first['next_cursor']}")
    second = api.get(f"/webhooks?limit=2&cursor={first['next_cursor']}").json()
    assert [w["id"] for w in second["data"]] == [hooks[2].pk, hooks[3].pk]
    third = api.get(f"/webhooks?limit=2&cursor={second['next_cursor']}").json()
    assert [w["id"] for w in third["data"]] == [hooks[4].pk]
    assert third["next_cursor"] is None and third["next"] is None


def test_a_cursor_that_is_not_ours_is_a_400(api):
    response = api.get("/webhooks?cursor=bm90LWEtY3Vyc29y")
    assert response.status_code == 400
    assert errors_of(response)[0][0] == "cursor"


def test_more_than_100_per_page_is_refused(api):
    response = api.get("/webhooks?limit=101")
    assert errors_of(response) == [("limit", "Enter a whole number from 1 to 100.")]


def test_get_shows_one_webhook(api, acme):
    webhook = make_webhook(acme, headers=[("X-A", "1")])
    data = api.get(f"/webhooks/{webhook.pk}").json()
    assert data["id"] == webhook.pk and data["name"] == webhook.name
    assert data["headers"] == [{"name": "X-A", "value": "1"}]


def test_patch_changes_the_given_fields_and_keeps_the_others(api, acme):
    webhook = make_webhook(acme, headers=[("X-A", "1")], timeout_seconds=20)
    response = api.patch(f"/webhooks/{webhook.pk}", {"name": "Renamed", "max_attempts": 3})
    assert response.status_code == 200, response.content
    webhook.refresh_from_db()
    assert webhook.name == "Renamed" and webhook.max_attempts == 3
    assert webhook.timeout_seconds == 20
    assert webhook.header_dict() == {"X-A": "1"}


def test_patch_headers_replaces_them_all(api, acme):
    webhook = make_webhook(acme, headers=[("X-A", "1"), ("X-B", "2")])
    api.patch(f"/webhooks/{webhook.pk}", {"headers": [{"name": "X-C", "value": "3"}]})
    assert webhook.header_dict() == {"X-C": "3"}


def test_patch_checks_the_whole_webhook_as_the_edit_form_does(api, acme):
    webhook = make_webhook(acme, url="http://receiver.example.com/hook")
    acme.https_only = True
    acme.save()
    response = api.patch(f"/webhooks/{webhook.pk}", {"name": "Renamed"})
    assert response.status_code == 400
    assert errors_of(response)[0][0] == "url"
    webhook.refresh_from_db()
    assert webhook.name != "Renamed"


def test_patch_enabled_alone_is_the_toggle_and_checks_nothing_else(api, acme):
    webhook = make_webhook(acme, url="http://receiver.example.com/hook")
    acme.https_only = True
    acme.save()
    response = api.patch(f"/webhooks/{webhook.pk}", {"enabled": False})
    assert response.status_code == 200
    assert response.json()["status"] == "disabled"
    assert api.patch(f"/webhooks/{webhook.pk}", {"enabled": True}).json()["status"] == "enabled"


def test_turning_an_auto_disabled_webhook_off_keeps_it_auto_disabled(api, acme):
    webhook = make_webhook(acme)
    Webhook.objects.filter(pk=webhook.pk).update(status="auto_disabled", disabled_reason="410")
    data = api.patch(f"/webhooks/{webhook.pk}", {"enabled": False}).json()
    assert data["status"] == "auto_disabled" and data["disabled_reason"] == "410"
    assert api.patch(f"/webhooks/{webhook.pk}", {"enabled": True}).json()["status"] == "enabled"


def test_an_empty_patch_changes_nothing(api, acme):
    webhook = make_webhook(acme)
    before = webhook.updated_at
    assert api.patch(f"/webhooks/{webhook.pk}", {}).status_code == 200
    webhook.refresh_from_db()
    assert webhook.updated_at == before


def test_delete_is_a_soft_delete_listed_with_deleted_true(api, acme):
    webhook = make_webhook(acme)
    assert api.delete(f"/webhooks/{webhook.pk}").status_code == 204
    webhook.refresh_from_db()
    assert webhook.deleted_at is not None
    assert api.get(f"/webhooks/{webhook.pk}").status_code == 404
    assert api.get("/webhooks").json()["data"] == []
    deleted = api.get("/webhooks?deleted=true").json()["data"]
    assert [w["id"] for w in deleted] == [webhook.pk]
    assert deleted[0]["deleted_at"] is not None


def test_restore_brings_a_deleted_webhook_back_disabled(api, acme):
    webhook = make_webhook(acme)
    api.delete(f"/webhooks/{webhook.pk}")
    response = api.post(f"/webhooks/{webhook.pk}/restore")
    assert response.status_code == 200
    assert response.json()["status"] == "disabled" and response.json()["deleted_at"] is None


def test_restore_refuses_when_a_live_webhook_took_the_name(api, acme):
    webhook = make_webhook(acme, name="Orders")
    api.delete(f"/webhooks/{webhook.pk}")
    make_webhook(acme, name="orders")
    response = api.post(f"/webhooks/{webhook.pk}/restore")
    assert response.status_code == 409
    assert errors_of(response) == [
        ("name", "A webhook named 'Orders' exists already: rename it before restoring this one.")
    ]


def test_restoring_a_live_webhook_is_a_conflict(api, acme):
    webhook = make_webhook(acme)
    response = api.post(f"/webhooks/{webhook.pk}/restore")
    assert response.status_code == 409
    assert errors_of(response) == [(None, "This webhook is not deleted.")]


def test_an_unknown_id_is_a_404_in_the_error_shape(api):
    response = api.get("/webhooks/424242")
    assert response.status_code == 404
    assert errors_of(response) == [(None, "No such webhook in this workspace.")]


def test_a_header_given_without_a_value_is_sent_empty(api):
    data = api.post("/webhooks", {**NEW, "headers": [{"name": "X-Flag"}]}).json()
    assert data["headers"] == [{"name": "X-Flag", "value": ""}]
