"""Every rule of a step, through the editor's form (a plain POST, as without JavaScript).
Nothing is saved when a rule is broken; values a Redirect Type does not use are refused and
cleared so the next Save goes through."""

import pytest

from chatflows.models import Interaction
from subscriptions.models import Webhook
from tests.chatflows.conftest import add_option
from tests.chatflows.html import parse

Types = Interaction.RedirectType
URL = "https://hooks.example.com/chatbot"


def new_url(campaign, menu=None):
    url = f"/w/acme/chatbots/{campaign.pk}/interactions/new/"
    return url + (f"?menu={menu.pk}" if menu else "")


def edit_url(step):
    return f"/w/acme/chatbots/{step.campaign_id}/interactions/{step.pk}/"


def form_data(campaign, **fields):
    data = {
        "parent": campaign.welcome.pk,
        "label": "Call me",
        "keyword": "4",
        "menu_text": "Call me",
        "prompt": "",
        "redirect_type": "end",
        "redirect_to_interaction": "",
        "redirect_to_campaign": "",
        "webhook_url": "",
        "webhook_extra_body": "",
        "header_name": [""],
        "header_value": [""],
    }
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


def errors_of(response) -> dict[str, str]:
    """Field name -> the error text the page shows next to it."""
    page = parse(response.content)
    found = {}
    for field in page.select(".field.has-error"):
        control = next((n for n in field.iter() if n.tag in ("input", "select", "textarea")),
                       None)
        key = control.get("name") if control else field.get("id")
        found[key] = " ".join(e.text() for e in field.select(".error"))
    return found


def value_of(response, name):
    """What the re-rendered form holds in a field."""
    control = parse(response.content).select_one(f"[name={name}]")
    if control.tag == "select":
        selected = control.select_one("option[selected]")
        return selected.get("value") if selected else ""
    if control.get("type") == "checkbox":
        return "checked" in control.attrs
    if control.tag == "textarea":
        return control.text()
    return control.get("value", "")


def post(client, url, data):
    return client.post(url, data)


def assert_nothing_saved(count_before=1):
    assert Interaction.objects.count() == count_before
    assert Webhook.objects.count() == 0


def test_a_valid_option_is_saved_and_shown_in_its_menu(alice_client, campaign):
    response = post(alice_client, new_url(campaign), form_data(campaign))
    assert response.status_code == 302
    assert response["Location"].endswith(f"#menu-{campaign.welcome.pk}")
    step = Interaction.objects.get(label="Call me")
    assert (step.parent, step.keyword, step.menu_text, step.redirect_type) == (
        campaign.welcome, 4, "Call me", "end")


def test_a_webhook_step_refuses_menu_text_and_clears_it(alice_client, campaign):
    data = form_data(campaign, redirect_type="webhook", prompt="Name?", webhook_url=URL)
    response = post(alice_client, new_url(campaign), data)
    assert response.status_code == 200
    assert "Menu Text is not used" in errors_of(response)["menu_text"]
    assert "cleared" in errors_of(response)["menu_text"]
    assert value_of(response, "menu_text") == ""
    assert_nothing_saved()
    # Saving again as shown goes through.
    data["menu_text"] = ""
    assert post(alice_client, new_url(campaign), data).status_code == 302


def test_a_webhook_step_refuses_redirect_to_and_clears_it(alice_client, campaign, plans):
    data = form_data(campaign, redirect_type="webhook", prompt="Name?", webhook_url=URL,
                     menu_text="", redirect_to_interaction=plans[0].pk)
    response = post(alice_client, new_url(campaign), data)
    assert "Redirect To is not used" in errors_of(response)["redirect_to_interaction"]
    assert value_of(response, "redirect_to_interaction") == ""
    assert Interaction.objects.count() == 4


def test_a_webhook_step_refuses_the_toggle_and_switches_it_off(alice_client, campaign):
    data = form_data(campaign, redirect_type="webhook", prompt="Name?", webhook_url=URL,
                     menu_text="", webhook_toggle="on")
    response = post(alice_client, new_url(campaign), data)
    assert "switch the toggle off" in errors_of(response)["webhook_toggle"]
    assert value_of(response, "webhook_toggle") is False
    assert_nothing_saved()


def test_a_webhook_step_needs_a_prompt_and_a_url(alice_client, campaign):
    data = form_data(campaign, redirect_type="webhook", menu_text="")
    errors = errors_of(post(alice_client, new_url(campaign), data))
    assert "enter the prompt" in errors["prompt"]
    assert "Enter the URL" in errors["webhook_url"]
    assert_nothing_saved()


def test_the_toggle_needs_a_url(alice_client, campaign):
    errors = errors_of(post(alice_client, new_url(campaign),
                            form_data(campaign, webhook_toggle="on")))
    assert "Enter the URL" in errors["webhook_url"]
    assert_nothing_saved()


def test_redirect_to_is_required_for_redirect_type_interaction(alice_client, campaign):
    errors = errors_of(post(alice_client, new_url(campaign),
                            form_data(campaign, redirect_type="interaction")))
    assert "Choose the interaction" in errors["redirect_to_interaction"]
    assert_nothing_saved()


def test_redirect_to_is_required_for_redirect_type_campaign(alice_client, campaign):
    errors = errors_of(post(alice_client, new_url(campaign),
                            form_data(campaign, redirect_type="campaign")))
    assert "Choose the campaign" in errors["redirect_to_campaign"]


def test_redirect_to_with_redirect_type_end_is_refused_and_cleared(alice_client, campaign, plans):
    response = post(alice_client, new_url(campaign),
                    form_data(campaign, redirect_to_interaction=plans[0].pk))
    assert "only used with Redirect Type Interaction or Campaign" in errors_of(response)[
        "redirect_to_interaction"]
    assert value_of(response, "redirect_to_interaction") == ""


def test_redirect_to_an_interaction_of_another_campaign_is_refused(
    alice_client, campaign, make_campaign
):
    raffle = make_campaign(campaign_id="2001", name="Raffle Giveaway")
    response = post(alice_client, new_url(campaign), form_data(
        campaign, redirect_type="interaction", redirect_to_interaction=raffle.welcome.pk))
    assert "an interaction of this campaign" in errors_of(response)["redirect_to_interaction"]
    assert Interaction.objects.count() == 2


def test_redirect_to_a_campaign_of_another_workspace_is_refused(
    alice_client, campaign, make_campaign, globex
):
    theirs = make_campaign(campaign_id="2001", name="Web Poll & Survey", workspace=globex)
    response = post(alice_client, new_url(campaign), form_data(
        campaign, redirect_type="campaign", redirect_to_campaign=theirs.pk))
    assert "a campaign of this workspace" in errors_of(response)["redirect_to_campaign"]
    assert "Web Poll" not in response.content.decode()  # not even offered
    assert Interaction.objects.count() == 2


def test_redirect_to_a_raffle_campaign_is_saved(alice_client, campaign, make_campaign):
    raffle = make_campaign(campaign_id="2001", name="Raffle Giveaway")
    response = post(alice_client, new_url(campaign), form_data(
        campaign, redirect_type="campaign", redirect_to_campaign=raffle.pk))
    assert response.status_code == 302
    assert Interaction.objects.get(label="Call me").redirect_to_campaign == raffle


def test_a_keyword_is_unique_within_its_menu(alice_client, campaign, plans):
    errors = errors_of(post(alice_client, new_url(campaign), form_data(campaign, keyword="2")))
    assert "Keyword 2 is taken in this menu by “Six months”" in errors["keyword"]
    assert Interaction.objects.count() == 4


def test_a_keyword_must_be_a_positive_number(alice_client, campaign):
    for keyword in ("0", "abc", "", "1000"):
        errors = errors_of(post(alice_client, new_url(campaign),
                                form_data(campaign, keyword=keyword)))
        assert "keyword" in errors, keyword
    assert_nothing_saved()


def test_editing_keeps_the_options_own_keyword(alice_client, campaign, plans):
    data = form_data(campaign, keyword="2", label="Six months", menu_text="Half a year")
    assert post(alice_client, edit_url(plans[1]), data).status_code == 302
    plans[1].refresh_from_db()
    assert plans[1].menu_text == "Half a year"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:8000/hook", "Blocked: loopback address"),
        ("https://user:pw@example.com/hook", "Remove the user name and password"),
        ("ftp://example.com/hook", "starting with https://"),
    ],
)
def test_the_webhook_url_is_checked_like_every_webhook(alice_client, campaign, url, words):
    errors = errors_of(post(alice_client, new_url(campaign),
                            form_data(campaign, webhook_toggle="on", webhook_url=url)))
    assert words in errors["webhook_url"]
    assert_nothing_saved()


def test_an_https_only_workspace_refuses_http_urls(alice_client, acme, campaign):
    acme.https_only = True
    acme.save()
    errors = errors_of(post(alice_client, new_url(campaign), form_data(
        campaign, webhook_toggle="on", webhook_url="http://example.com/hook")))
    assert "requires HTTPS" in errors["webhook_url"]


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("X Bad", "1", "not a valid header name"),
        ("X-Token", "a\r\nInjected: 1", "must fit on one line"),
        ("Content-Type", "text/plain", "set by the webhook itself"),
    ],
)
def test_header_rows_are_checked_like_every_webhook(alice_client, campaign, name, value, words):
    response = post(alice_client, new_url(campaign), form_data(
        campaign, webhook_toggle="on", webhook_url=URL, header_name=[name], header_value=[value]))
    assert response.status_code == 200
    page = parse(response.content)
    assert words in page.select_one(".cf-header-row.has-error .error").text()
    assert_nothing_saved()


@pytest.mark.parametrize("body", ['["a"]', "{nope", '"text"'])
def test_the_extra_body_must_be_a_json_object(alice_client, campaign, body):
    errors = errors_of(post(alice_client, new_url(campaign), form_data(
        campaign, webhook_toggle="on", webhook_url=URL, webhook_extra_body=body)))
    assert "must be a JSON object" in errors["webhook_extra_body"]
    assert_nothing_saved()


def test_a_webhook_step_is_saved_with_its_webhook(alice_client, campaign):
    data = form_data(
        campaign, label="Your name", redirect_type="webhook", menu_text="", prompt="Name?",
        webhook_url=URL, webhook_extra_body='{"source": "whatsapp"}',
        header_name=["X-Api-Key", "X-Tenant"], header_value=["k-1", "acme"],
        answer_reply="Thanks!",
    )
    assert post(alice_client, new_url(campaign), data).status_code == 302
    step = Interaction.objects.get(label="Your name")
    hook = step.webhook
    assert (hook.url, hook.format, hook.method, hook.status) == (URL, "raw", "POST", "enabled")
    assert hook.topics == ["chatbot.response", "chatbot.option_selected"]
    assert hook.extra_body == {"source": "whatsapp"}
    assert hook.header_dict() == {"X-Api-Key": "k-1", "X-Tenant": "acme"}
    assert hook.name == "Chatbot 13010 · Your name"
    assert hook.current_key() is not None
    assert step.answer_reply == "Thanks!"


def test_header_rows_can_be_edited_and_deleted(alice_client, campaign):
    step = add_option(campaign.welcome, 4, "Call me", webhook_toggle=True, url=URL,
                      headers=[("X-One", "1"), ("X-Two", "2")])
    page = alice_client.get(edit_url(step)).content.decode()
    assert 'value="X-One"' in page and 'aria-label="Edit this header"' in page
    assert 'aria-label="Delete this header"' in page
    data = form_data(campaign, webhook_toggle="on", webhook_url=URL,
                     header_name=["X-One"], header_value=["changed"])  # X-Two deleted
    assert post(alice_client, edit_url(step), data).status_code == 302
    step.webhook.refresh_from_db()
    assert step.webhook.header_dict() == {"X-One": "changed"}


def test_without_javascript_add_and_delete_header_rerender_without_saving(alice_client, campaign):
    base = form_data(campaign, webhook_toggle="on", webhook_url=URL,
                     header_name=["X-One", "X-Two"], header_value=["1", "2"])
    added = post(alice_client, new_url(campaign), {**base, "add_header": "1"})
    assert added.status_code == 200
    assert added.content.decode().count('name="header_name"') == 3 + 1  # + the <template>
    removed = post(alice_client, new_url(campaign), {**base, "remove_header": "0"})
    assert 'value="X-One"' not in removed.content.decode()
    assert 'value="X-Two"' in removed.content.decode()
    assert_nothing_saved()


def test_switching_the_toggle_off_disables_the_webhook_and_keeps_its_settings(
    alice_client, campaign
):
    step = add_option(campaign.welcome, 4, "Call me", webhook_toggle=True, url=URL,
                      headers=[("X-One", "1")])
    assert post(alice_client, edit_url(step), form_data(campaign)).status_code == 302
    step.refresh_from_db()
    assert step.webhook_toggle is False
    assert step.webhook.status == "disabled"
    assert step.webhook.url == URL and step.webhook.header_dict() == {"X-One": "1"}
    page = alice_client.get(edit_url(step)).content.decode()
    assert f'value="{URL}"' in page  # ready to switch back on


def test_the_welcome_message_form_offers_menu_or_webhook_only(alice_client, campaign):
    welcome = campaign.welcome
    page = parse(alice_client.get(edit_url(welcome)).content)
    options = [o.get("value") for o in page.select("[name=redirect_type] option")]
    assert options == ["menu", "webhook"]
    assert page.select_one("[name=webhook_toggle]") is None
    assert page.select_one("[name=menu_text]") is None
    response = post(alice_client, edit_url(welcome), {"redirect_type": "end", "prompt": "Hi"})
    assert "redirect_type" in errors_of(response)


def test_the_welcome_message_can_ask_a_question_answered_to_a_webhook(alice_client, campaign):
    response = post(alice_client, edit_url(campaign.welcome), {
        "redirect_type": "webhook", "prompt": "Your name?", "webhook_url": URL,
        "header_name": [""], "header_value": [""], "answer_reply": "Thanks!",
    })
    assert response.status_code == 302
    welcome = Interaction.objects.get(pk=campaign.welcome.pk)
    assert welcome.is_question and welcome.webhook.url == URL
    assert welcome.webhook.name == "Chatbot 13010 · Welcome Message"


def test_the_form_fields_are_marked_for_the_script_that_hides_them(alice_client, campaign):
    page = parse(alice_client.get(new_url(campaign)).content)
    assert page.select_one("[data-show=menu-text] [name=menu_text]")
    assert page.select_one("[data-show=redirect-interaction] [name=redirect_to_interaction]")
    assert page.select_one("[data-show=redirect-campaign] [name=redirect_to_campaign]")
    assert page.select_one("[data-show=toggle] [name=webhook_toggle]")
    assert page.select_one("[data-show=webhook] [name=webhook_url]")
