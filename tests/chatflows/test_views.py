"""The chatbot screens: the campaign list and form, the flow editor's table, the simulator,
and who may do what (alice admin, bob member read-only, charlie outsider 404)."""

import json

import pytest

from chatflows.models import Campaign, ChatMessage, Conversation, Interaction
from deliveries.models import Delivery
from subscriptions.models import Webhook
from tests.chatflows.conftest import PHONE, add_option, make_question
from tests.chatflows.html import parse

Types = Interaction.RedirectType
URL = "https://hooks.example.com/chatbot"


@pytest.fixture
def flow(campaign, plans, make_campaign):
    """The help page's table: a plain interaction, a campaign, a Webhook redirect, an
    interaction with a webhook under it and a campaign with a webhook under it."""
    raffle = make_campaign(campaign_id="2001", name="Raffle Giveaway")
    poll = make_campaign(campaign_id="3003", name="Web Poll & Survey")
    welcome = campaign.welcome
    add_option(welcome, 4, label="Your name", redirect_type=Types.WEBHOOK, prompt="Name?",
               url=URL)
    add_option(welcome, 5, "Raffle", redirect_type=Types.CAMPAIGN, redirect_to_campaign=raffle)
    add_option(welcome, 6, "Plans again", redirect_type=Types.INTERACTION,
               redirect_to_interaction=welcome, webhook_toggle=True, url=URL)
    add_option(welcome, 7, "Poll", redirect_type=Types.CAMPAIGN, redirect_to_campaign=poll,
               webhook_toggle=True, url=URL)
    return campaign


def editor(client, campaign):
    return client.get(f"/w/acme/chatbots/{campaign.pk}/")


def rows(response):
    return {
        row.get("data-keyword"): row
        for row in parse(response.content).select("#welcome table.cf-menu tbody tr")
    }


# --- the editor's table --------------------------------------------------------------------------


def test_the_editor_shows_the_menu_as_a_table(alice_client, flow):
    response = editor(alice_client, flow)
    assert response.status_code == 200
    page = parse(response.content)
    headers = [th.text().strip() for th in page.select("#welcome table.cf-menu thead th")]
    assert headers == ["Keyword", "Menu text", "Redirect type", "Redirect to", "Actions"]
    row = rows(response)["5"]
    cells = [td.text() for td in row.select("td")]
    assert "5" in cells[0] and "Raffle" in cells[1]
    assert "Campaign" in cells[2] and "Raffle Giveaway" in cells[3]


def test_each_row_has_edit_and_delete_icons_with_accessible_labels(alice_client, flow):
    row = rows(editor(alice_client, flow))["1"]
    labels = [a.get("aria-label") for a in row.select("a.cf-icon-btn")]
    assert labels == ["Edit One month", "Delete One month"]


def test_the_link_icon_tells_a_webhook_redirect_from_a_toggle_webhook(alice_client, flow):
    table = rows(editor(alice_client, flow))
    assert table["1"].select_one(".cf-hook") is None  # no webhook
    assert table["5"].select_one(".cf-hook") is None
    redirect = table["4"].select_one(".cf-hook")
    assert redirect.get("data-kind") == "redirect"
    assert redirect.get("aria-label").startswith("Webhook (redirect)")
    assert redirect.get("title").startswith("Webhook (redirect)")
    for keyword in ("6", "7"):  # an interaction and a campaign with a webhook under them
        toggle = table[keyword].select_one(".cf-hook")
        assert toggle.get("data-kind") == "toggle"
        assert toggle.get("aria-label").startswith("Webhook (toggle)")
    assert "cf-hook-redirect" in redirect.get("class")
    assert "cf-hook-toggle" in table["6"].select_one(".cf-hook").get("class")


def test_the_editor_has_a_legend_for_the_two_link_icons(alice_client, flow):
    legend = parse(editor(alice_client, flow).content).select_one(".cf-legend").text()
    assert "Webhook (redirect)" in legend and "Webhook (toggle)" in legend


def test_a_webhook_step_shows_its_label_in_place_of_menu_text(alice_client, flow):
    row = rows(editor(alice_client, flow))["4"]
    assert "Your name" in row.select("td")[1].text()
    assert URL in row.select("td")[3].text()


def test_a_sub_menu_gets_its_own_table(alice_client, campaign):
    more = add_option(campaign.welcome, 1, "More", redirect_type=Types.MENU, prompt="More:")
    add_option(more, 1, "Family plan")
    page = parse(editor(alice_client, campaign).content)
    assert "Family plan" in page.select_one(f"#menu-{more.pk} table.cf-menu").text()
    links = [a.get("href") for a in page.select(f"#menu-{more.pk} a")]
    assert f"/w/acme/chatbots/{campaign.pk}/interactions/new/?menu={more.pk}" in links


def test_the_editor_preview_shows_what_the_bot_sends(alice_client, flow):
    preview = parse(editor(alice_client, flow).content).select_one("#welcome .cf-bubble").text()
    assert preview.startswith("Welcome! Which membership would you like?\n1. One month")


# --- campaigns -----------------------------------------------------------------------------------


def test_alice_creates_a_campaign_with_its_welcome_message(alice_client, acme):
    response = alice_client.post("/w/acme/chatbots/new/", {
        "campaign_id": "13010", "name": "EliPackage streaming", "channel": "sms",
        "status": "active", "welcome_prompt": "Hi there!", "end_message": "Bye!",
        "fallback_message": "Pick a number:",
    })
    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/w/acme/chatbots/{campaign.pk}/"
    assert (campaign.workspace, campaign.channel, campaign.end_message) == (acme, "sms", "Bye!")
    assert campaign.welcome.prompt == "Hi there!"
    assert campaign.welcome.label == "Welcome Message"


def test_a_campaign_id_is_refused_when_taken_or_malformed(alice_client, campaign):
    for campaign_id, words in (("13010", "exists already"), ("13 010", "letters, digits")):
        response = alice_client.post("/w/acme/chatbots/new/", {
            "campaign_id": campaign_id, "name": "X", "channel": "sms", "status": "active",
            "end_message": "Bye", "fallback_message": "Pick"})
        assert response.status_code == 200
        assert words in " ".join(response.context["form"].errors["campaign_id"])
    assert Campaign.objects.count() == 1


def test_changing_the_campaign_id_renames_its_webhooks(alice_client, campaign):
    make_question(campaign.welcome, URL)
    alice_client.post(f"/w/acme/chatbots/{campaign.pk}/settings/", {
        "campaign_id": "14000", "name": "EliPackage", "channel": "whatsapp", "status": "paused",
        "end_message": "Bye", "fallback_message": "Pick"})
    assert Webhook.objects.get().name == "Chatbot 14000 · Welcome Message"
    assert Campaign.objects.get().status == "paused"


def test_webhook_names_are_made_unique_in_the_workspace(campaign, acme):
    from subscriptions.services import create_webhook

    create_webhook(Webhook(workspace=acme, name="chatbot 13010 · welcome message",
                           url="https://example.com/a", topics=["form.submitted"]))
    step = make_question(campaign.welcome, URL)
    assert step.webhook.name == "Chatbot 13010 · Welcome Message (2)"


def test_deleting_a_campaign_soft_deletes_its_webhooks(alice_client, campaign):
    hook = make_question(campaign.welcome, URL).webhook
    response = alice_client.post(f"/w/acme/chatbots/{campaign.pk}/delete/")
    assert response.status_code == 302
    assert not Campaign.objects.exists()
    hook.refresh_from_db()
    assert hook.is_deleted


def test_deleting_an_option_deletes_its_sub_menu_and_soft_deletes_webhooks(alice_client, campaign):
    more = add_option(campaign.welcome, 1, "More", redirect_type=Types.MENU)
    sub = add_option(more, 1, "Call me", webhook_toggle=True, url=URL)
    response = alice_client.post(f"/w/acme/chatbots/{campaign.pk}/interactions/{more.pk}/delete/")
    assert response.status_code == 302
    assert list(Interaction.objects.all()) == [campaign.welcome]
    assert Webhook.objects.get(pk=sub.webhook_id).is_deleted


def test_deleting_a_redirect_target_is_refused_with_the_reason(alice_client, campaign, plans):
    add_option(campaign.welcome, 4, "Again", redirect_type=Types.INTERACTION,
               redirect_to_interaction=plans[0])
    response = alice_client.post(
        f"/w/acme/chatbots/{campaign.pk}/interactions/{plans[0].pk}/delete/")
    assert response.status_code == 200
    assert "is the Redirect To of “Again”" in response.content.decode()
    assert Interaction.objects.filter(pk=plans[0].pk).exists()


def test_the_welcome_message_cannot_be_deleted(alice_client, campaign):
    url = f"/w/acme/chatbots/{campaign.pk}/interactions/{campaign.welcome.pk}/delete/"
    assert alice_client.post(url).status_code == 403


# --- simulator -----------------------------------------------------------------------------------


Q = "%2B525500000000"  # the phone number in a query string


def sim_url(campaign):
    return f"/w/acme/chatbots/{campaign.pk}/simulator/?phone={Q}"


def simulate(client, campaign, text, phone=PHONE):
    return client.post(f"/w/acme/chatbots/{campaign.pk}/simulator/",
                       {"phone": phone, "text": text})


def test_the_simulator_shows_the_chat_as_a_transcript(alice_client, campaign, plans):
    assert simulate(alice_client, campaign, "hi").status_code == 302
    response = simulate(alice_client, campaign, "2", phone=PHONE)
    assert response["Location"].endswith("?phone=%2B525500000000")
    page = parse(alice_client.get(response["Location"]).content)
    bubbles = [(b.get("data-from"), b.text()) for b in page.select(".cf-chat-log .cf-bubble")]
    assert bubbles == [
        ("user", "hi"),
        ("bot", "Welcome! Which membership would you like?\n1. One month\n2. Six months\n"
                "3. One year"),
        ("user", "2"),
        ("bot", "Six months it is."),
    ]
    assert Conversation.objects.get().simulated is True


def test_the_simulator_shows_each_webhook_fired_with_its_payload(alice_client, campaign, plans):
    make_question(campaign.welcome, URL, extra_body={"source": "sim"},
                  answer_reply="Thanks!")
    simulate(alice_client, campaign, "hi")
    simulate(alice_client, campaign, "John Doe")
    delivery = Delivery.objects.get()
    page = parse(alice_client.get(sim_url(campaign)).content)
    item = page.select_one(f"#fired-{delivery.pk}")
    assert item.get("data-event-type") == "chatbot.response"
    assert delivery.message_id in item.text()
    body = json.loads(item.select_one("pre.cf-payload").text())
    assert body["response"] == "John Doe" and body["source"] == "sim"
    assert set(body) == {"campaignId", "label", "phoneNumber", "date", "response", "source"}
    # Pending: the panel polls until the delivery is finished.
    assert page.select_one("#fired[hx-get]") is not None


def test_the_fired_panel_stops_polling_once_delivered(alice_client, campaign, httpserver,
                                                      settings):
    from deliveries.drain import drain

    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    httpserver.expect_request("/hook").respond_with_json({"ok": True})
    make_question(campaign.welcome, httpserver.url_for("/hook"))
    simulate(alice_client, campaign, "hi")
    simulate(alice_client, campaign, "Ann")
    drain(Delivery.objects.get().webhook_id)
    response = alice_client.get(f"/w/acme/chatbots/{campaign.pk}/simulator/fired/?phone={Q}")
    page = parse(response.content)
    assert page.select_one("#fired[hx-get]") is None
    assert "HTTP 200" in page.select_one(".cf-fired-item .badge").text()


def test_the_simulator_refuses_a_bad_phone_number_or_an_empty_message(alice_client, campaign):
    response = simulate(alice_client, campaign, "hi", phone="5500")
    assert response.status_code == 400
    assert "E.164" in response.content.decode()
    response = simulate(alice_client, campaign, "   ")
    assert response.status_code == 400
    assert "Type a message" in response.content.decode()
    assert not ChatMessage.objects.exists()


def test_start_over_forgets_the_simulated_conversation_only(alice_client, campaign, plans):
    from chatflows.engine import handle_message

    handle_message(campaign, PHONE, "hi")  # a real customer
    simulate(alice_client, campaign, "hi")
    response = alice_client.post(f"/w/acme/chatbots/{campaign.pk}/simulator/reset/",
                                 {"phone": PHONE})
    assert response.status_code == 302
    assert list(Conversation.objects.values_list("simulated", flat=True)) == [False]


# --- XSS -----------------------------------------------------------------------------------------


XSS = "<script>alert(1)</script>"


def test_chat_messages_are_shown_as_text_in_the_simulator(alice_client, campaign, plans):
    simulate(alice_client, campaign, "hi")
    simulate(alice_client, campaign, XSS)
    html = alice_client.get(f"/w/acme/chatbots/{campaign.pk}/simulator/?phone={Q}")
    content = html.content.decode()
    assert XSS not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    texts = [b.text() for b in parse(content).select(".cf-bubble-user")]
    assert XSS in texts


def test_labels_and_prompts_are_shown_as_text_in_the_editor_and_simulator(
    alice_client, campaign
):
    add_option(campaign.welcome, 1, XSS, label=XSS, prompt=XSS, webhook_toggle=True, url=URL)
    campaign.name = XSS
    campaign.save()
    for url in (f"/w/acme/chatbots/{campaign.pk}/", "/w/acme/chatbots/",
                f"/w/acme/chatbots/{campaign.pk}/interactions/{Interaction.objects.last().pk}/"):
        content = alice_client.get(url).content.decode()
        assert XSS not in content, url
        assert "&lt;script&gt;" in content
    simulate(alice_client, campaign, "hi")
    simulate(alice_client, campaign, "1")
    content = alice_client.get(f"/w/acme/chatbots/{campaign.pk}/simulator/?phone={Q}")
    assert XSS not in content.content.decode()


# --- permissions ---------------------------------------------------------------------------------


def pages(campaign):
    step = campaign.welcome
    return [
        "/w/acme/chatbots/",
        f"/w/acme/chatbots/{campaign.pk}/",
        f"/w/acme/chatbots/{campaign.pk}/interactions/{step.pk}/",
        f"/w/acme/chatbots/{campaign.pk}/simulator/",
        f"/w/acme/chatbots/{campaign.pk}/simulator/fired/?phone=%2B525500000000",
    ]


def admin_pages(campaign, option):
    return [
        "/w/acme/chatbots/new/",
        f"/w/acme/chatbots/{campaign.pk}/settings/",
        f"/w/acme/chatbots/{campaign.pk}/delete/",
        f"/w/acme/chatbots/{campaign.pk}/interactions/new/",
        f"/w/acme/chatbots/{campaign.pk}/interactions/{option.pk}/delete/",
    ]


def posts(campaign, option):
    return [
        *admin_pages(campaign, option),
        f"/w/acme/chatbots/{campaign.pk}/interactions/{option.pk}/",
        f"/w/acme/chatbots/{campaign.pk}/simulator/",
        f"/w/acme/chatbots/{campaign.pk}/simulator/reset/",
    ]


def test_bob_the_member_may_look(bob_client, campaign, plans):
    for url in pages(campaign):
        assert bob_client.get(url).status_code == 200, url


def test_bob_sees_no_edit_controls(bob_client, campaign, plans):
    page = parse(editor(bob_client, campaign).content)
    assert page.select("a[aria-label^=Delete]") == []
    assert page.select("a[aria-label^=Edit]") == []
    form = parse(bob_client.get(pages(campaign)[2]).content)
    assert form.select_one("fieldset[disabled]") is not None


def test_bob_gets_403_on_every_change(bob_client, campaign, plans):
    for url in admin_pages(campaign, plans[0]):
        assert bob_client.get(url).status_code == 403, url
    for url in posts(campaign, plans[0]):
        assert bob_client.post(url, {"phone": PHONE, "text": "hi"}).status_code == 403, url
    assert Interaction.objects.count() == 4 and not ChatMessage.objects.exists()


def test_charlie_the_outsider_gets_404_everywhere(charlie_client, campaign, plans):
    for url in pages(campaign) + admin_pages(campaign, plans[0]):
        assert charlie_client.get(url).status_code == 404, url
    for url in posts(campaign, plans[0]):
        assert charlie_client.post(url, {"phone": PHONE, "text": "hi"}).status_code == 404, url
    assert Interaction.objects.count() == 4 and not ChatMessage.objects.exists()


def test_charlie_cannot_reach_acmes_campaign_through_his_own_workspace(
    charlie_client, campaign, plans
):
    url = f"/w/globex/chatbots/{campaign.pk}/"
    assert charlie_client.get(url).status_code == 404
    assert charlie_client.post(url + "simulator/", {"phone": PHONE, "text": "hi"}).status_code \
        == 404


def test_anonymous_visitors_are_sent_to_log_in(client, campaign):
    response = client.get(f"/w/acme/chatbots/{campaign.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_campaign_list_shows_each_campaign(alice_client, flow):
    page = parse(alice_client.get("/w/acme/chatbots/").content)
    names = [a.text() for a in page.select(".cf-row-title")]
    assert names == ["EliPackage streaming", "Raffle Giveaway", "Web Poll & Survey"]
    assert "3 webhooks" in page.select("table tbody tr")[0].text()


def test_the_simulator_says_where_the_conversation_is(alice_client, campaign, plans):
    make_question(campaign.welcome, URL)
    simulate(alice_client, campaign, "hi")
    state = parse(alice_client.get(sim_url(campaign)).content).select_one(".cf-state")
    assert state.get("data-state") == "awaiting"
    assert "Waiting for the answer to “Welcome Message”" in state.text()


def test_the_simulator_says_when_no_worker_picks_a_delivery_up(alice_client, campaign):
    from datetime import timedelta

    from django.utils import timezone

    make_question(campaign.welcome, URL)
    simulate(alice_client, campaign, "hi")
    simulate(alice_client, campaign, "Ann")
    page = parse(alice_client.get(sim_url(campaign)).content)
    assert page.select_one(".cf-fired-item .badge").text() == "Sending…"
    Delivery.objects.update(created_at=timezone.now() - timedelta(seconds=30))
    page = parse(alice_client.get(sim_url(campaign)).content)
    assert page.select_one(".cf-fired-item .badge").text() == "Waiting for a worker"
