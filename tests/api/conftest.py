"""API test set-up: admin API keys for Acme and Globex, and a client that sends one.

acme_key belongs to Acme (alice's workspace); globex_key to Globex (charlie's), an outsider to
everything of Acme's.
"""

import json

import pytest
from django.test import Client

from workspaces.models import ApiKey

API = "/api/v1"


class ApiClient:
    """Django's test client with a bearer key and JSON bodies."""

    def __init__(self, key: str | None):
        self.client = Client()
        self.key = key

    def _headers(self, headers):
        merged = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        merged.update(headers or {})
        return merged

    def request(self, method: str, path: str, body=None, *, headers=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else "")
        return self.client.generic(
            method,
            API + path,
            data=data,
            content_type="application/json",
            headers=self._headers(headers),
        )

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


@pytest.fixture(autouse=True)
def _no_dns_lookups(settings):
    """Receiver hosts are accepted without resolving them (a lookup can take seconds here);
    the tests about private addresses turn the check back on."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True


@pytest.fixture
def acme_key(acme, alice):
    """Acme's admin API key (created by alice)."""
    return ApiKey.issue(acme, "Deploy script", created_by=alice)


@pytest.fixture
def globex_key(globex):
    """Globex's admin API key: an outsider to Acme."""
    return ApiKey.issue(globex, "Globex CI")


@pytest.fixture
def api(acme_key):
    """An API client with Acme's key."""
    return ApiClient(acme_key[1])


@pytest.fixture
def globex_api(globex_key):
    return ApiClient(globex_key[1])


def errors_of(response) -> list[tuple[str | None, str]]:
    body = response.json()
    return [(error["field"], error["message"]) for error in body["errors"]]
