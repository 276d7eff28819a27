"""CSRF on every state-changing dashboard form, login brute force slowed by django-axes, and the
session cookie's flags. (`check --deploy --fail-level WARNING` with production settings is in
tests/test_settings.py.)"""

import json

import pytest
from django.test import Client

from tests.conftest import PASSWORD, logged_in_client
from tests.security.routes import acme_state, all_routes, fill
from tests.test_settings import run_with_env

pytestmark = pytest.mark.django_db


def test_every_dashboard_post_without_a_csrf_token_is_refused_and_changes_nothing(
    acme, alice, acme_objects
):
    """Each route under /w/<slug>/ that accepts a POST (as alice, who may do everything),
    without the token: 403 with Django's CSRF failure, and Acme as it was."""
    before = acme_state(acme)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/w/acme/")  # the csrftoken cookie is set; the form field is what is missing
    failures, refused = [], 0
    for route in all_routes():
        if not route.startswith("w/"):
            continue
        url = fill(route, acme_objects)
        response = client.post(url, {"name": "csrf", "enabled": "on", "grace": "24"})
        if response.status_code == 405:
            continue  # this view takes no POST at all
        refused += 1
        if response.status_code != 403 or b"CSRF" not in response.content:
            failures.append(f"POST {url}: {response.status_code}")
    assert not failures, "\n".join(failures)
    assert refused >= 25
    assert acme_state(acme) == before


def test_the_login_form_needs_its_csrf_token_too(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


# --- login brute force ---------------------------------------------------------------------------


def attempt_login(client, username, password, ip="203.0.113.9"):
    return client.post("/accounts/login/", {"username": username, "password": password},
                       REMOTE_ADDR=ip)


def test_five_wrong_passwords_lock_the_account_from_that_address_with_a_clear_message(
    alice, bob, settings
):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    for _ in range(4):
        response = attempt_login(client, "alice", "wrong")
        assert response.status_code == 200  # the form again, with its error
        assert "correct username and password" in response.content.decode()
    response = attempt_login(client, "alice", "wrong")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "15 minutes" in response.content.decode()

    # Now even the right password is refused, from that address, for that user.
    response = attempt_login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session

    # Keyed by user name and address together: nobody can lock alice out from everywhere,
    # and bob on the same network still gets in.
    assert attempt_login(Client(), "alice", PASSWORD, ip="198.51.100.7").status_code == 302
    assert attempt_login(Client(), "bob", PASSWORD).status_code == 302


def test_one_wrong_password_then_the_right_one_logs_in(alice):
    client = Client()
    assert attempt_login(client, "alice", "wrong").status_code == 200
    response = attempt_login(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_failed_logins_are_forgotten_after_a_successful_one(alice):
    """Four typos, a success, four typos: not locked (AXES_RESET_ON_SUCCESS)."""
    client = Client()
    for _ in range(4):
        attempt_login(client, "alice", "wrong")
    assert attempt_login(client, "alice", PASSWORD).status_code == 302
    client = Client()
    for _ in range(4):
        assert attempt_login(client, "alice", "wrong").status_code == 200
    assert attempt_login(client, "alice", PASSWORD).status_code == 302


# --- cookies ------------------------------------------------------------------------------------


def test_the_session_cookie_is_http_only_and_same_site_lax(alice):
    client = Client()
    response = attempt_login(client, "alice", PASSWORD)
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    csrf = logged_in_client(alice).get("/accounts/login/").cookies.get("csrftoken")
    if csrf is not None:
        assert csrf["samesite"] == "Lax"


def test_production_settings_make_the_session_and_csrf_cookies_secure():
    """Tests turn these off (no TLS in front); production leaves them at their defaults."""
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_SECURE, s.AXES_ENABLED, "
        "s.AUTHENTICATION_BACKENDS[0], s.MIDDLEWARE[-1]]))"
    )
    result = run_with_env({}, "-c", script)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        True, True, "Lax", True, True, "axes.backends.AxesStandaloneBackend",
        "axes.middleware.AxesMiddleware",
    ]
