"""create_demo_campaign(): the help page's example, ready for `make run`."""

from chatflows.engine import handle_message
from chatflows.models import Campaign, Interaction
from chatflows.services import create_demo_campaign
from subscriptions.models import Webhook
from tests.chatflows.conftest import PHONE

INBOX = "https://hooks.example.com/inbox/abc/"


def test_the_demo_campaign_asks_a_name_then_offers_three_memberships(acme):
    campaign = create_demo_campaign(acme, INBOX)
    assert (campaign.campaign_id, campaign.name) == ("13010", "EliPackage streaming")
    welcome = campaign.welcome
    assert welcome.redirect_type == Interaction.RedirectType.WEBHOOK
    assert welcome.webhook.url == INBOX

    asked = handle_message(campaign, PHONE, "hi")
    assert asked.fired == [] and "name" in asked.text
    answered = handle_message(campaign, PHONE, "John Doe")
    assert answered.text.endswith("1. One month\n2. Six months\n3. One year")
    assert answered.fired[0].event.payload["response"] == "John Doe"
    picked = handle_message(campaign, PHONE, "3")
    assert picked.fired[0].event.payload["option"] == "One year"
    assert picked.fired[0].event.payload["keyword"] == 3
    assert handle_message(campaign, PHONE, "hi again").fired == []


def test_only_one_year_has_the_toggle(acme):
    campaign = create_demo_campaign(acme, INBOX)
    toggles = dict(campaign.steps.filter(is_welcome=False).values_list("menu_text",
                                                                       "webhook_toggle"))
    assert toggles == {"One month": False, "Six months": False, "One year": True}


def test_running_it_again_only_follows_the_inbox_url(acme):
    create_demo_campaign(acme, INBOX)
    create_demo_campaign(acme, "https://other.example.com/inbox/abc/")
    assert Campaign.objects.count() == 1
    assert set(Webhook.objects.values_list("url", flat=True)) == {
        "https://other.example.com/inbox/abc/"}
    assert Webhook.objects.count() == 2
