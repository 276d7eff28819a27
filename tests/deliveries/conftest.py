import pytest

from subscriptions.models import Connector, Webhook
from subscriptions.services import create_webhook


@pytest.fixture
def allow_private(settings):
    """The receivers in these tests listen on 127.0.0.1."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    return settings


@pytest.fixture
def make_webhook(acme):
    def make(url, workspace=None, headers=None, **overrides):
        fields = {
            "workspace": workspace or acme,
            "name": overrides.pop("name", f"hook {Webhook.objects.count() + 1}"),
            "url": url,
            "topics": ["form.submitted", "content.viewed"],
            **overrides,
        }
        return create_webhook(Webhook(**fields), headers=headers or [])

    return make


@pytest.fixture
def make_connector(acme):
    def make(kind="bearer", **fields):
        defaults = {"workspace": acme, "name": f"{kind} connector", "kind": kind,
                    "secret": "s3cr3t-value-123"}
        return Connector.objects.create(**{**defaults, **fields})

    return make


def received(httpserver):
    """The requests the local receiver got, in order."""
    return [request for request, _response in httpserver.log]
