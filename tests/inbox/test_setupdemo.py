from io import StringIO

import pytest
from django.core.management import call_command

from inbox.services import inbox_url
from subscriptions.models import Webhook
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def test_setupdemo_points_one_demo_webhook_at_the_demo_inbox_even_when_run_twice():
    call_command("setupdemo", stdout=StringIO())
    call_command("setupdemo", stdout=StringIO())

    demo = Workspace.objects.get(slug="demo")
    webhook = Webhook.objects.get(workspace=demo)
    assert webhook.name == "Demo inbox"
    assert webhook.url == inbox_url(demo)
    assert webhook.topics == [
        "content.viewed",
        "form.submitted",
        "message.delivered",
        "demo.session_finished",
    ]
    assert webhook.format == Webhook.Format.DEFAULT
    assert webhook.is_enabled
    assert webhook.header_dict() == {"X-Demo": "yes"}
    assert len(webhook.valid_keys()) == 1


def test_setupdemo_follows_a_changed_site_url(settings):
    call_command("setupdemo", stdout=StringIO())
    settings.SITE_URL = "https://hooks.example.com"
    call_command("setupdemo", stdout=StringIO())
    webhook = Webhook.objects.get(name="Demo inbox")
    assert webhook.url.startswith("https://hooks.example.com/inbox/")
