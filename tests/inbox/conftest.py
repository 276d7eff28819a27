import pytest


@pytest.fixture
def make_webhook(acme):
    """make_webhook(**overrides): a live, enabled webhook of Acme with a fresh signing key."""
    from subscriptions.models import Webhook
    from subscriptions.services import create_webhook

    def make(**overrides):
        fields = {
            "workspace": acme,
            "name": "Orders",
            "url": "https://example.com/hooks",
            "topics": ["content.viewed"],
        }
        fields.update(overrides)
        return create_webhook(Webhook(**fields))

    return make


@pytest.fixture
def inbox(acme):
    from inbox.models import Inbox

    return Inbox.for_workspace(acme)


@pytest.fixture
def receive_url(inbox):
    from inbox.services import receive_path

    return receive_path(inbox)
