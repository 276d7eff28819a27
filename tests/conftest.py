"""Shared test set-up: an embedded Redis when REDIS_URL is unset, personas and factories.

Personas:
- alice: admin of Acme (manages everything there)
- bob: member of Acme (may read, may not change)
- charlie: admin of Globex only (an outsider to Acme: must get 404 for all of it)
"""

import shutil
from pathlib import Path

import pytest

# One definition of the browser fixtures for every test directory: a second session-scoped
# Playwright would start inside the first one's event loop and fail.
from tests.browser_fixtures import browser, login, page, screenshot  # noqa: F401
from tests.servers import canary, raw_server  # noqa: F401  (loopback servers)

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = BASE_DIR / "test-artifacts"


def pytest_unconfigure(config):
    from tests import settings as test_settings

    if test_settings.embedded_redis is not None:
        test_settings.embedded_redis.shutdown()
    shutil.rmtree(test_settings.TEST_VAR_DIR, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_redis():
    """Each test starts with an empty Redis database (the run's own embedded one, or the
    dedicated database CI points REDIS_URL at): no jobs or wake-up marks of earlier tests."""
    from webhooks_site.redis import get_connection

    get_connection().flushdb()


PASSWORD = "correct horse battery staple"


def make_user(username):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
    return user


@pytest.fixture
def acme(db):
    from workspaces.services import create_workspace

    return create_workspace(slug="acme", name="Acme")


@pytest.fixture
def globex(db):
    from workspaces.services import create_workspace

    return create_workspace(slug="globex", name="Globex")


@pytest.fixture
def alice(acme):
    """Admin of Acme."""
    from workspaces.services import add_member

    user = make_user("alice")
    add_member(acme, user, "admin")
    return user


@pytest.fixture
def bob(acme):
    """Member (not admin) of Acme."""
    from workspaces.services import add_member

    user = make_user("bob")
    add_member(acme, user, "member")
    return user


@pytest.fixture
def charlie(globex):
    """Admin of Globex only: an outsider to Acme."""
    from workspaces.services import add_member

    user = make_user("charlie")
    add_member(globex, user, "admin")
    return user


def logged_in_client(user):
    """A test client of its own, so several personas can act in one test."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(alice):
    return logged_in_client(alice)


@pytest.fixture
def bob_client(bob):
    return logged_in_client(bob)


@pytest.fixture
def charlie_client(charlie):
    return logged_in_client(charlie)
