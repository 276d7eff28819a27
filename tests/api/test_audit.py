"""Every call made with an API key is recorded: who, what, when, how it ended; never a body."""

from api.models import ApiCall
from tests.subscriptions.factories import make_webhook


def test_each_call_is_one_row_with_key_method_path_status_and_time(api, acme, acme_key):
    webhook = make_webhook(acme)
    api.get("/webhooks?limit=5")
    api.patch(f"/webhooks/{webhook.pk}", {"name": ""})
    api.get("/webhooks/999999")
    rows = list(ApiCall.objects.order_by("pk"))
    assert [(r.method, r.path, r.status_code) for r in rows] == [
        ("GET", "/api/v1/webhooks?limit=5", 200),
        ("PATCH", f"/api/v1/webhooks/{webhook.pk}", 400),
        ("GET", "/api/v1/webhooks/999999", 404),
    ]
    assert {r.api_key_id for r in rows} == {acme_key[0].pk}
    assert {r.workspace_id for r in rows} == {acme.pk}
    assert all(r.created_at is not None and r.duration_ms >= 0 for r in rows)


def test_secrets_sent_in_bodies_are_never_recorded(api, acme):
    api.post("/connectors", {"name": "CRM", "kind": "bearer", "secret": "tok_supersecret_42"})
    api.post(
        "/webhooks",
        {
            "name": "W",
            "url": "https://x.example.com/",
            "topics": ["custom"],
            "event_names": ["A"],
            "headers": [{"name": "X-Token", "value": "hdr_supersecret_42"}],
        },
    )
    recorded = repr(list(ApiCall.objects.values()))
    assert "supersecret" not in recorded
    assert ApiCall.objects.count() == 2


def test_calls_without_a_valid_key_are_not_attributed_to_a_workspace(api, acme, acme_key):
    acme_key[0].revoke()
    api.get("/webhooks")
    assert not ApiCall.objects.exists()
