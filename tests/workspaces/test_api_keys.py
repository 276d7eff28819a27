"""Settings > Workspaces > Access keys: API keys (created, shown once, listed, revoked), the
API activity page, and `manage.py createapikey`."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from api.models import ApiCall
from tests.api.conftest import ApiClient
from workspaces.models import ApiKey

PAGE = reverse("access_keys", args=["acme"])
CREATE = reverse("create_api_key", args=["acme"])
ACTIVITY = reverse("api_activity", args=["acme"])


def create(client, name="Deploy script"):
    return client.post(CREATE, {"name": name})


def test_a_new_key_is_shown_once_in_full_with_a_warning(alice_client, alice, acme):
    response = create(alice_client)
    assert response.status_code == 200
    html = response.content.decode()
    api_key = ApiKey.objects.get()
    key = response.context["new_key"]
    assert key.startswith("hk_") and key in html
    assert "only time it is shown" in html
    assert 'data-copy-from="#new-api-key-value"' in html
    assert api_key.workspace == acme and api_key.created_by == alice
    assert api_key.name == "Deploy script" and api_key.prefix == key[:8]
    # Never again: not on the page, not in the database.
    assert key not in alice_client.get(PAGE).content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM workspaces_apikey")
        assert key not in repr(cursor.fetchall())


def test_the_new_key_works_against_the_api(alice_client):
    key = create(alice_client).context["new_key"]
    assert ApiClient(key).get("/webhooks").status_code == 200


def test_the_list_shows_prefix_creator_and_last_use(alice_client, acme):
    api_key, key = ApiKey.issue(acme, "Terraform")
    html = alice_client.get(PAGE).content.decode()
    assert "Terraform" in html and f"{api_key.prefix}…" in html and "Never" in html
    ApiClient(key).get("/webhooks")
    api_key.refresh_from_db()
    html = alice_client.get(PAGE).content.decode()
    assert api_key.last_used_at.strftime("%-d %b %Y") in html
    assert "Never" not in html


def test_a_key_needs_a_name(alice_client):
    response = create(alice_client, name="")
    assert response.status_code == 400
    assert "Name the key after what uses it" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_revoking_asks_first_then_the_key_stops_working(alice_client, acme):
    api_key, key = ApiKey.issue(acme, "Old script")
    url = reverse("revoke_api_key", args=["acme", api_key.pk])
    confirm = alice_client.get(url)
    assert b"stops working at once" in confirm.content
    assert ApiClient(key).get("/webhooks").status_code == 200  # a GET changes nothing

    response = alice_client.post(url, follow=True)
    assert "revoked" in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None
    assert ApiClient(key).get("/webhooks").status_code == 401
    assert alice_client.get(url).status_code == 404  # revoked already


def test_members_may_not_manage_keys_and_outsiders_see_nothing(bob_client, charlie_client, acme):
    api_key, _ = ApiKey.issue(acme, "Script")
    revoke = reverse("revoke_api_key", args=["acme", api_key.pk])
    assert create(bob_client).status_code == 403
    assert bob_client.post(revoke).status_code == 403
    assert bob_client.get(ACTIVITY).status_code == 403
    assert create(charlie_client).status_code == 404
    assert charlie_client.post(revoke).status_code == 404
    assert charlie_client.get(ACTIVITY).status_code == 404
    api_key.refresh_from_db()
    assert api_key.revoked_at is None and ApiKey.objects.count() == 1


def test_another_workspaces_key_cannot_be_revoked_from_here(charlie_client, acme, globex):
    api_key, _ = ApiKey.issue(acme, "Acme script")
    url = reverse("revoke_api_key", args=["globex", api_key.pk])
    assert charlie_client.post(url).status_code == 404
    api_key.refresh_from_db()
    assert api_key.revoked_at is None


def test_the_activity_page_lists_the_calls_newest_first(alice_client, acme):
    _, key = ApiKey.issue(acme, "Deploy script")
    client = ApiClient(key)
    client.get("/webhooks")
    client.get("/webhooks/4242")
    html = alice_client.get(ACTIVITY).content.decode()
    assert html.index("GET /api/v1/webhooks/4242") < html.index("GET /api/v1/webhooks<")
    assert "Deploy script" in html and ">404<" in html and ">200<" in html


def test_the_activity_page_pages_through_older_calls(alice_client, acme):
    api_key, _ = ApiKey.issue(acme, "Script")
    ApiCall.objects.bulk_create(
        ApiCall(
            workspace=acme, api_key=api_key, method="GET", path=f"/api/v1/call-{i}", status_code=200
        )
        for i in range(55)
    )
    first = alice_client.get(ACTIVITY)
    assert len(first.context["calls"]) == 50
    older = alice_client.get(ACTIVITY, {"before": first.context["next_before"]})
    assert len(older.context["calls"]) == 5
    shown = {c.pk for c in first.context["calls"]} | {c.pk for c in older.context["calls"]}
    assert len(shown) == 55


def test_the_activity_page_shows_only_this_workspaces_calls(alice_client, acme, globex):
    _, key = ApiKey.issue(globex, "Globex script")
    ApiClient(key).get("/webhooks")
    assert "Globex script" not in alice_client.get(ACTIVITY).content.decode()


# --- createapikey ----------------------------------------------------------------------------


def test_createapikey_prints_the_key_alone_on_the_last_line_and_it_works(acme):
    out = StringIO()
    call_command("createapikey", "acme", name="CI", stdout=out)
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("hk_") and " " not in last
    api_key = ApiKey.objects.get()
    assert api_key.name == "CI" and api_key.workspace == acme and api_key.created_by is None
    assert ApiClient(last).get("/webhooks").status_code == 200


@pytest.mark.django_db
def test_createapikey_refuses_an_unknown_workspace():
    with pytest.raises(CommandError, match="No workspace"):
        call_command("createapikey", "nope", name="CI", stdout=StringIO())
    assert not ApiKey.objects.exists()
