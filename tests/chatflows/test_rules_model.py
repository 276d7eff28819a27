"""Every rule of a step, at the model: Interaction.problems() and clean(), and the service that
saves (which refuses what clean() refuses). The same rules through the form are in
test_rules_form.py."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from chatflows import services
from chatflows.models import Campaign, Interaction
from chatflows.services import WebhookSettings
from tests.chatflows.conftest import add_option

Types = Interaction.RedirectType
URL = "https://hooks.example.com/chatbot"


def option(parent, **fields) -> Interaction:
    """An unsaved option of ``parent``'s menu, valid unless ``fields`` break a rule."""
    values = {"keyword": 9, "menu_text": "Nine", "label": "Nine", "redirect_type": Types.END,
              **fields}
    return Interaction(campaign=parent.campaign, parent=parent, **values)


def with_webhook(step, url=URL, extra_body=None):
    from subscriptions.models import Webhook

    step.webhook = Webhook(workspace=step.campaign.workspace, url=url, extra_body=extra_body or {})
    return step


def test_a_valid_option_has_no_problems(campaign):
    assert option(campaign.welcome).problems() == {}
    option(campaign.welcome).clean()  # does not raise


def test_clean_raises_the_problems_by_field(campaign):
    with pytest.raises(ValidationError) as caught:
        option(campaign.welcome, menu_text="").clean()
    assert set(caught.value.message_dict) == {"menu_text"}


# --- Redirect Type = Webhook ---------------------------------------------------------------------


def test_a_webhook_step_refuses_menu_text(campaign):
    step = with_webhook(option(campaign.welcome, redirect_type=Types.WEBHOOK, prompt="Name?"))
    assert "Menu Text is not used" in step.problems()["menu_text"]


def test_a_webhook_step_refuses_a_redirect_to_interaction(campaign, plans):
    step = with_webhook(option(campaign.welcome, redirect_type=Types.WEBHOOK, prompt="Name?",
                               menu_text="", redirect_to_interaction=plans[0]))
    assert "Redirect To is not used" in step.problems()["redirect_to"]


def test_a_webhook_step_refuses_a_redirect_to_campaign(campaign):
    step = with_webhook(option(campaign.welcome, redirect_type=Types.WEBHOOK, prompt="Name?",
                               menu_text="", redirect_to_campaign=campaign))
    assert "Redirect To is not used" in step.problems()["redirect_to"]


def test_a_webhook_step_refuses_the_toggle(campaign):
    step = with_webhook(option(campaign.welcome, redirect_type=Types.WEBHOOK, prompt="Name?",
                               menu_text="", webhook_toggle=True))
    assert "switch the toggle off" in step.problems()["webhook_toggle"]


def test_a_webhook_step_needs_a_prompt(campaign):
    step = with_webhook(option(campaign.welcome, redirect_type=Types.WEBHOOK, menu_text=""))
    assert "enter the prompt" in step.problems()["prompt"]


def test_a_webhook_step_needs_a_url(campaign):
    step = option(campaign.welcome, redirect_type=Types.WEBHOOK, menu_text="", prompt="Name?")
    assert "Enter the URL" in step.problems()["webhook_url"]
    assert "Enter the URL" in with_webhook(step, url="  ").problems()["webhook_url"]


def test_a_valid_webhook_step_has_no_menu_text_and_no_redirect(campaign):
    step = with_webhook(option(campaign.welcome, redirect_type=Types.WEBHOOK, menu_text="",
                               prompt="What is your name?"))
    assert step.problems() == {}
    assert step.menu_line == "9. Nine"  # the label stands in for the menu text


# --- the toggle ----------------------------------------------------------------------------------


def test_the_toggle_needs_a_url(campaign):
    step = option(campaign.welcome, webhook_toggle=True)
    assert "Enter the URL" in step.problems()["webhook_url"]
    assert with_webhook(step).problems() == {}


def test_the_welcome_message_has_no_toggle(campaign):
    welcome = with_webhook(campaign.welcome)
    welcome.webhook_toggle = True
    assert "switch the toggle on for its options" in welcome.problems()["webhook_toggle"]


@pytest.mark.parametrize("kind", [Types.INTERACTION, Types.CAMPAIGN, Types.END])
def test_the_welcome_message_shows_its_menu_or_asks_a_question(campaign, kind):
    welcome = campaign.welcome
    welcome.redirect_type = kind
    assert "Redirect Type Menu or Webhook" in welcome.problems()["redirect_type"]


# --- Redirect To ---------------------------------------------------------------------------------


def test_redirect_type_interaction_without_a_target_is_refused(campaign):
    step = option(campaign.welcome, redirect_type=Types.INTERACTION)
    assert "Choose the interaction" in step.problems()["redirect_to"]


def test_redirect_type_campaign_without_a_target_is_refused(campaign):
    step = option(campaign.welcome, redirect_type=Types.CAMPAIGN)
    assert "Choose the campaign" in step.problems()["redirect_to"]


def test_redirect_to_an_interaction_of_another_campaign_is_refused(campaign, make_campaign):
    raffle = make_campaign(campaign_id="2001", name="Raffle Giveaway")
    step = option(campaign.welcome, redirect_type=Types.INTERACTION,
                  redirect_to_interaction=raffle.welcome)
    assert "an interaction of this campaign" in step.problems()["redirect_to"]


def test_redirect_to_a_campaign_of_another_workspace_is_refused(campaign, make_campaign, globex):
    theirs = make_campaign(campaign_id="2001", name="Web Poll & Survey", workspace=globex)
    step = option(campaign.welcome, redirect_type=Types.CAMPAIGN, redirect_to_campaign=theirs)
    assert "a campaign of this workspace" in step.problems()["redirect_to"]


def test_redirect_to_a_campaign_of_this_workspace_is_accepted(campaign, make_campaign):
    raffle = make_campaign(campaign_id="2001", name="Raffle Giveaway")
    step = option(campaign.welcome, redirect_type=Types.CAMPAIGN, redirect_to_campaign=raffle)
    assert step.problems() == {}


def test_an_interaction_cannot_redirect_to_itself(campaign, plans):
    step = plans[0]
    step.redirect_type = Types.INTERACTION
    step.redirect_to_interaction = step
    assert "cannot redirect to itself" in step.problems()["redirect_to"]


def test_a_redirect_to_with_redirect_type_end_is_refused(campaign, plans):
    step = option(campaign.welcome, redirect_type=Types.END, redirect_to_interaction=plans[0])
    assert "only used with Redirect Type Interaction or Campaign" in step.problems()["redirect_to"]


def test_menus_may_loop_back(campaign, plans):
    """Cycles are allowed: "0. Back" style options and two interactions pointing at each other."""
    back = add_option(campaign.welcome, 4, "Start again", redirect_type=Types.INTERACTION,
                      redirect_to_interaction=campaign.welcome)
    assert back.pk
    first = add_option(campaign.welcome, 5, "Plans", redirect_type=Types.MENU)
    second = add_option(first, 1, "Back to start", redirect_type=Types.INTERACTION,
                        redirect_to_interaction=campaign.welcome)
    # Plans' option 1 goes back to the Welcome Message, whose option 5 opens Plans again.
    assert first.problems() == {} and second.problems() == {}


def test_a_redirect_target_cannot_be_deleted_while_an_option_points_to_it(campaign, plans):
    add_option(campaign.welcome, 4, "Go to one month", redirect_type=Types.INTERACTION,
               redirect_to_interaction=plans[0])
    with pytest.raises(ValueError, match="is the Redirect To of “Go to one month”"):
        services.delete_interaction(plans[0])
    with pytest.raises(ProtectedError):  # and the database refuses it too
        plans[0].delete()


def test_a_campaign_target_cannot_be_deleted_while_an_option_points_to_it(campaign, make_campaign):
    raffle = make_campaign(campaign_id="2001", name="Raffle Giveaway")
    add_option(campaign.welcome, 2, "Raffle", redirect_type=Types.CAMPAIGN,
               redirect_to_campaign=raffle)
    with pytest.raises(ValueError, match="Raffle Giveaway is the Redirect To of “Raffle”"):
        services.delete_campaign(raffle)
    assert Campaign.objects.filter(pk=raffle.pk).exists()


# --- keywords and menus --------------------------------------------------------------------------


def test_a_keyword_is_unique_within_its_menu(campaign, plans):
    step = option(campaign.welcome, keyword=2)
    assert "Keyword 2 is taken in this menu by “Six months”" in step.problems()["keyword"]


def test_the_same_keyword_may_be_used_in_another_menu(campaign, plans):
    submenu = add_option(campaign.welcome, 4, "More", redirect_type=Types.MENU)
    assert option(submenu, keyword=2).problems() == {}


@pytest.mark.parametrize("keyword", [0, -1, 1000, None, "two"])
def test_a_keyword_is_a_number_from_1_to_999(campaign, keyword):
    assert "keyword" in option(campaign.welcome, keyword=keyword).problems()


def test_an_option_needs_menu_text_unless_it_is_a_webhook_step(campaign):
    assert "Enter the text the menu shows" in option(campaign.welcome, menu_text=" ").problems()[
        "menu_text"]


def test_an_option_can_only_join_a_menu_that_is_shown(campaign, plans):
    step = option(plans[0])  # One month ends the chat: it shows no menu
    assert "shows no menu" in step.problems()["parent"]


def test_an_option_with_options_must_keep_showing_them(campaign):
    submenu = add_option(campaign.welcome, 4, "More", redirect_type=Types.MENU)
    add_option(submenu, 1, "Sub")
    submenu.redirect_type = Types.END
    assert "has options in its own menu" in submenu.problems()["redirect_type"]


def test_an_option_cannot_be_listed_in_its_own_menu(campaign):
    submenu = add_option(campaign.welcome, 4, "More", redirect_type=Types.MENU)
    child = add_option(submenu, 1, "Sub", redirect_type=Types.MENU)
    submenu.parent = child
    assert "its own menu" in submenu.problems()["parent"]


# --- the webhook's URL, headers and body (the rules every webhook follows) -----------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "starting with https://"),
        ("https://user:secret@example.com/x", "Remove the user name and password"),
        ("https://exa mple.com/x", "cannot contain spaces"),
        ("http://127.0.0.1:8000/x", "Blocked: loopback address 127.0.0.1"),
        ("http://10.0.0.5/x", "Blocked: private address"),
        ("https://example.com/x?n=${nope}", "nope"),
    ],
)
def test_the_webhook_url_follows_the_workspace_rules(campaign, url, message):
    step = with_webhook(option(campaign.welcome, webhook_toggle=True), url=url)
    assert message in step.problems()["webhook_url"]


def test_chatbot_fields_may_be_used_as_url_placeholders(campaign):
    step = with_webhook(option(campaign.welcome, webhook_toggle=True),
                        url="https://example.com/c/${campaignId}?phone=${phoneNumber}")
    assert step.problems() == {}


def test_private_addresses_are_accepted_when_the_setting_allows_them(campaign, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    step = with_webhook(option(campaign.welcome, webhook_toggle=True), url="http://127.0.0.1:9/x")
    assert step.problems() == {}


def test_an_https_only_workspace_refuses_http(campaign, acme):
    acme.https_only = True
    acme.save()
    campaign.workspace.refresh_from_db()
    step = with_webhook(option(campaign.welcome, webhook_toggle=True), url="http://example.com/x")
    assert "requires HTTPS" in step.problems()["webhook_url"]


def test_the_extra_body_must_be_a_json_object(campaign):
    step = with_webhook(option(campaign.welcome, webhook_toggle=True), extra_body=["a"])
    assert "must be a JSON object" in step.problems()["webhook_extra_body"]


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("X Bad", "1")], "not a valid header name"),
        ([("X-Token", "a\r\nInjected: yes")], "must fit on one line"),
        ([("Content-Type", "text/plain")], "set by the webhook itself"),
        ([("webhook-signature", "forged")], "set by the webhook itself"),
        ([("X-Key", "1"), ("x-key", "2")], "listed twice"),
    ],
)
def test_custom_headers_follow_the_header_rules(campaign, headers, message):
    step = option(campaign.welcome, webhook_toggle=True)
    with pytest.raises(ValidationError) as caught:
        services.save_interaction(step, WebhookSettings(url=URL, headers=headers))
    assert message in caught.value.message_dict["webhook_headers"][0]
    assert not Interaction.objects.filter(keyword=9).exists()


# --- campaigns -----------------------------------------------------------------------------------


@pytest.mark.parametrize("campaign_id", ["", "13 010", "a/b", "x" * 41])
def test_a_campaign_id_is_short_and_url_safe(acme, campaign_id):
    campaign = Campaign(workspace=acme, campaign_id=campaign_id, name="X")
    assert "campaign_id" in campaign.problems()


def test_a_campaign_id_is_unique_in_its_workspace_only(campaign, acme, globex):
    assert "exists already" in Campaign(workspace=acme, campaign_id="13010", name="X").problems()[
        "campaign_id"]
    assert Campaign(workspace=globex, campaign_id="13010", name="X").problems() == {}
