"""Tenant isolation, for every URL pattern the project has: charlie (admin of Globex only) and an
anonymous visitor never get Acme's data and never change it, whatever they ask for.

The patterns are enumerated from the URL resolver, so a new view is tested the day it is
added. Patterns under /w/<slug>/, /api/v1/ and /admin/ are tested generically; anything else
must be listed in PUBLIC with the reason it is public, or this test fails until someone
classifies it.
"""

import pytest
from django.test import Client

from tests.conftest import logged_in_client
from tests.security.routes import (
    _PARAM,
    ADMIN_PREFIX,
    MARKER,
    NOT_AN_OBJECT,
    PUBLIC,
    TENANT_PREFIXES,
    acme_state,
    all_routes,
    fill,
    has_object_id,
)

pytestmark = pytest.mark.django_db
API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def test_every_route_is_classified():
    unknown = [
        route for route in all_routes()
        if route not in PUBLIC
        and not route.startswith(TENANT_PREFIXES)
        and not route.startswith(ADMIN_PREFIX)
    ]
    assert unknown == [], (
        "New URL patterns outside /w/<slug>/, /api/v1/ and /admin/: add each to PUBLIC with "
        f"the reason anyone may reach it, or move it under a workspace: {unknown}"
    )
    assert [route for route in PUBLIC if route not in all_routes()] == []


# --- the sweep ----------------------------------------------------------------------------------


def outsiders(charlie, globex):
    from workspaces.models import ApiKey

    _, globex_key = ApiKey.issue(globex, "globex key")
    return {
        "anonymous": Client(),
        "charlie": logged_in_client(charlie),
        "globex API key": Client(HTTP_AUTHORIZATION=f"Bearer {globex_key}"),
        "globex client token": Client(HTTP_AUTHORIZATION=f"Bearer {globex.client_token}"),
    }


def problems_with(who, method, route, url, response, nonexistent) -> str | None:
    body = response.content.decode(errors="replace")
    if MARKER in body:
        return "shows Acme's data"
    status = response.status_code
    if route.startswith(ADMIN_PREFIX):
        ok = status in (302, 404) and response.get("Location", "/admin/login/").startswith(
            "/admin/login/") and response["Location"].startswith("/admin/login/")
        return None if ok else f"{status} (expected the admin login)"
    if route.startswith("w/"):
        if who == "charlie":
            return None if status in (404, 405) else f"{status} (expected 404)"
        if status == 302:
            login = response["Location"].startswith("/accounts/login/")
            return None if login else f"302 to {response['Location']} (expected the login page)"
        return None if status in (404, 405) else f"{status} (expected the login page)"
    # The API. An outsider's own credentials may list and create in their own workspace (no
    # Acme data in it: checked above, and Acme's state is compared after the sweep); anything
    # that names an Acme object is refused.
    if who in ("anonymous", "charlie"):
        return None if status in (401, 404, 405) else f"{status} (expected 401)"
    if has_object_id(route):
        # Refused, or refused the way a made-up id is (a 400 for the body, before the lookup):
        # either way the answer does not tell whether Acme's object exists.
        if status in (401, 404, 405) or status == nonexistent.status_code < 500:
            return None
        return f"{status} (expected 404, as for an id that does not exist)"
    return None


def test_outsiders_get_nothing_of_acme_from_any_route(acme, alice, charlie, globex, acme_objects):
    before = acme_state(acme)
    clients = outsiders(charlie, globex)
    alice_client = logged_in_client(alice)
    failures = []
    tested = 0
    for route in all_routes():
        if route in PUBLIC or not route.startswith((*TENANT_PREFIXES, ADMIN_PREFIX)):
            continue
        url = fill(route, acme_objects)
        methods = API_METHODS if route.startswith("api/") else ["GET", "POST"]
        if route.startswith(ADMIN_PREFIX):
            methods = ["GET"]
        made_up = "/" + _PARAM.sub(
            lambda m: "acme" if m.group("name") == "slug" else "987654321", route)
        for who, client in clients.items():
            for method in methods:
                response = client.generic(method, url, data=b"{}", content_type="application/json")
                nonexistent = client.generic(
                    method, made_up, data=b"{}", content_type="application/json")
                tested += 1
                problem = problems_with(who, method, route, url, response, nonexistent)
                if problem:
                    failures.append(f"{who} {method} {url}: {problem}")
        if route.startswith("w/") and has_object_id(route) and not any(
            part in route for part in NOT_AN_OBJECT
        ):
            # The ids are real: Acme's admin finds the object (so the 404s above mean refused).
            status = alice_client.get(url).status_code
            if status == 404:
                failures.append(f"alice GET {url}: 404, the test filled a wrong id")
    assert not failures, "\n".join(failures)
    assert tested > 300
    assert acme_state(acme) == before


def test_members_cannot_change_anything_by_posting_to_any_route(acme, bob, acme_objects):
    """bob is a member of Acme: he may read, never change. A POST to any dashboard route is
    refused (403) or only renders a page; none redirects as after a change, and Acme's state
    is the same afterwards."""
    before = acme_state(acme)
    client = logged_in_client(bob)
    failures = []
    for route in all_routes():
        if not route.startswith("w/"):
            continue
        url = fill(route, acme_objects)
        response = client.post(url, {"name": f"bob {MARKER}", "enabled": "on", "grace": "24"})
        if response.status_code not in (200, 403, 404, 405):
            failures.append(f"POST {url}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert acme_state(acme) == before
