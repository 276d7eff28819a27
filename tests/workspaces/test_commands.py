from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from workspaces.models import Membership, Workspace


@pytest.mark.django_db
def test_createworkspace_prints_the_client_token_alone_on_the_last_line():
    out = StringIO()
    call_command("createworkspace", "acme", name="Acme", admin="alice", stdout=out)
    lines = out.getvalue().strip().splitlines()
    workspace = Workspace.objects.get(slug="acme")
    assert lines[-1] == workspace.client_token
    assert any(line.startswith("Admin user 'alice' password: ") for line in lines)
    password = next(line for line in lines if "password:" in line).split(": ", 1)[1]
    assert get_user_model().objects.get(username="alice").check_password(password)
    assert Membership.objects.get(workspace=workspace).role == "admin"


@pytest.mark.django_db
def test_createworkspace_reuses_an_existing_user_and_keeps_their_password():
    user = get_user_model().objects.create_user("alice", password="s3cret-pass")
    out = StringIO()
    call_command("createworkspace", "acme", name="Acme", admin="alice", stdout=out)
    user.refresh_from_db()
    assert user.check_password("s3cret-pass")
    assert "password:" not in out.getvalue()


@pytest.mark.django_db
def test_createworkspace_refuses_a_taken_or_invalid_slug():
    call_command("createworkspace", "acme", name="Acme", admin="alice", stdout=StringIO())
    with pytest.raises(CommandError, match="already exists"):
        call_command("createworkspace", "acme", name="Other", admin="bob", stdout=StringIO())
    with pytest.raises(CommandError, match="not a valid slug"):
        call_command("createworkspace", "Bad Slug", name="X", admin="bob", stdout=StringIO())
    assert Workspace.objects.count() == 1
    assert not get_user_model().objects.filter(username="bob").exists()


@pytest.mark.django_db
def test_setupdemo_prints_a_login_that_works(settings):
    from chatflows.models import Campaign
    from subscriptions.models import Webhook

    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # as make run sets it: the inbox is local
    out = StringIO()
    call_command("setupdemo", stdout=out)
    text = out.getvalue()
    password = text.split("Password  ")[1].split()[0]
    user = get_user_model().objects.get(username="admin")
    assert user.check_password(password)
    assert Membership.objects.get(user=user, workspace__slug="demo").role == "admin"
    call_command("setupdemo", stdout=StringIO())  # running it twice is fine
    assert Workspace.objects.filter(slug="demo").count() == 1
    assert Webhook.objects.live().managed_in_settings().filter(name="Demo inbox").count() == 1
    assert Campaign.objects.filter(workspace__slug="demo").count() == 1


@pytest.mark.django_db
def test_setupdemo_leaves_the_chatbot_demo_out_when_private_networks_are_refused(settings):
    from chatflows.models import Campaign

    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    out = StringIO()
    call_command("setupdemo", stdout=out)
    assert "Chatbot demo left out: Blocked: loopback address" in out.getvalue()
    assert not Campaign.objects.exists()
