"""The flow engine: what the bot replies and which events it fires, message by message.
What a real receiver gets for those events is in test_delivery.py."""

import re
from datetime import UTC, datetime

import pytest

from chatflows import engine
from chatflows.engine import handle_message
from chatflows.models import ChatMessage, Conversation, Interaction
from deliveries.models import Delivery, Event
from tests.chatflows.conftest import PHONE, add_option, make_question

Types = Interaction.RedirectType
URL = "https://hooks.example.com/chatbot"
MENU = "1. One month\n2. Six months\n3. One year"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def say(campaign, *texts, phone=PHONE):
    return [handle_message(campaign, phone, text) for text in texts][-1]


def test_the_first_message_gets_the_welcome_prompt_and_the_menu(campaign, plans):
    reply = say(campaign, "hi")
    assert reply.text == "Welcome! Which membership would you like?\n" + MENU
    assert reply.fired == []


def test_an_unknown_keyword_gets_the_menu_again(campaign, plans):
    say(campaign, "hi")
    for text in ("7", "zero", "1 2", "", "<script>"):
        reply = handle_message(campaign, PHONE, text)
        assert reply.text == "Sorry, that is not one of the options. Reply with a number:\n" + MENU
    assert Conversation.objects.get().state == Conversation.State.MENU


@pytest.mark.parametrize("text", ["2", " 2 ", "2.", "six months", "SIX MONTHS"])
def test_an_option_is_picked_by_its_keyword_or_its_menu_text(campaign, plans, text):
    assert say(campaign, "hi", text).text == "Six months it is."


def test_end_finishes_the_chat_and_the_next_message_starts_over(campaign, plans):
    say(campaign, "hi", "1")
    assert Conversation.objects.get().state == Conversation.State.ENDED
    assert say(campaign, "hello again").text.endswith(MENU)


def test_end_without_a_prompt_sends_the_campaigns_end_message(campaign):
    add_option(campaign.welcome, 1, "Bye")
    campaign.end_message = "See you!"
    campaign.save()
    assert say(campaign, "hi", "1").text == "See you!"


def test_the_toggle_fires_the_option_at_once_then_continues_to_redirect_to(campaign, plans):
    more = add_option(campaign.welcome, 4, "More plans", redirect_type=Types.MENU,
                      prompt="More plans:")
    add_option(more, 1, "Family")
    add_option(campaign.welcome, 5, "Talk to us", redirect_type=Types.INTERACTION,
               redirect_to_interaction=more, webhook_toggle=True, url=URL, prompt="Sure.")
    reply = say(campaign, "hi", "5")

    assert reply.text == "Sure.\n\nMore plans:\n1. Family"
    [delivery] = reply.fired
    assert delivery.event_type == "chatbot.option_selected"
    payload = delivery.event.payload
    assert list(payload) == ["campaignId", "label", "option", "keyword", "phoneNumber", "date"]
    assert payload["campaignId"] == "13010" and isinstance(payload["campaignId"], str)
    assert payload["label"] == "Welcome Message"  # the section the menu belongs to
    assert payload["option"] == "Talk to us"
    assert payload["keyword"] == 5 and type(payload["keyword"]) is int
    assert payload["phoneNumber"] == PHONE
    assert DATE_RE.match(payload["date"])


def test_a_pick_without_the_toggle_fires_nothing(campaign, plans):
    assert say(campaign, "hi", "1").fired == []
    assert Delivery.objects.count() == 0


def test_picking_a_webhook_option_asks_its_prompt_and_waits_for_the_answer(campaign, plans):
    add_option(campaign.welcome, 4, label="Your name", redirect_type=Types.WEBHOOK,
               prompt="What is your name?", url=URL, answer_reply="Thanks!")
    asked = say(campaign, "hi", "4")
    assert asked.text == "What is your name?"
    assert asked.fired == []
    assert Conversation.objects.get().state == Conversation.State.AWAITING

    answered = say(campaign, "John Doe")
    [delivery] = answered.fired
    assert delivery.event_type == "chatbot.response"
    payload = delivery.event.payload
    assert list(payload) == ["campaignId", "label", "phoneNumber", "date", "response"]
    assert payload["label"] == "Your name"  # the section that asked
    assert payload["response"] == "John Doe"
    # Then back to the menu the question was picked from.
    assert answered.text == "Thanks!\n" + MENU + "\n4. Your name"
    assert Conversation.objects.get().step == campaign.welcome


def test_a_welcome_message_can_ask_first_and_then_offer_its_menu(campaign, plans):
    """The help page's first example: the Welcome Message itself asks for the name."""
    make_question(campaign.welcome, URL, prompt="Hi! What is your name?",
                  answer_reply="Nice to meet you. Pick a plan:")
    assert say(campaign, "hi").text == "Hi! What is your name?"
    answered = say(campaign, "John Doe")
    assert answered.text == "Nice to meet you. Pick a plan:\n" + MENU
    assert answered.fired[0].event.payload["label"] == "Welcome Message"
    assert say(campaign, "3").text == "One year it is."


def test_a_welcome_question_without_options_ends_the_chat(campaign):
    make_question(campaign.welcome, URL, answer_reply="Thanks, we will call you.")
    say(campaign, "hi")
    assert say(campaign, "Ana").text == "Thanks, we will call you."
    assert Conversation.objects.get().state == Conversation.State.ENDED


def test_the_answer_to_a_question_is_sent_exactly_as_typed(campaign):
    make_question(campaign.welcome, URL)
    say(campaign, "hi")
    text = "  <b>Zoë</b> & “friends”\nline 2  "
    assert say(campaign, text).fired[0].event.payload["response"] == text


def test_a_campaign_redirect_continues_in_the_other_campaign(campaign, make_campaign):
    raffle = make_campaign(campaign_id="2001", name="Raffle Giveaway",
                           welcome_prompt="Raffle time! Guess a number:")
    add_option(raffle.welcome, 7, "Seven", prompt="Lucky seven!")
    add_option(campaign.welcome, 1, "Raffle", redirect_type=Types.CAMPAIGN,
               redirect_to_campaign=raffle, webhook_toggle=True, url=URL)
    reply = say(campaign, "hi", "1")
    assert reply.text == "Raffle time! Guess a number:\n7. Seven"
    assert reply.fired[0].event.payload["campaignId"] == "13010"
    # The next message (to campaign 13010's number) is answered by the raffle's menu.
    assert say(campaign, "7").text == "Lucky seven!"


def test_campaign_ids_in_payloads_are_those_of_the_step_that_fired(campaign, make_campaign):
    poll = make_campaign(campaign_id="3003", name="Web Poll & Survey", welcome_prompt="")
    make_question(poll.welcome, URL, prompt="Rate us from 1 to 5")
    add_option(campaign.welcome, 1, "Poll", redirect_type=Types.CAMPAIGN,
               redirect_to_campaign=poll)
    say(campaign, "hi", "1")
    payload = say(campaign, "5").fired[0].event.payload
    assert payload["campaignId"] == "3003"


def test_a_loop_of_redirects_that_never_waits_ends_instead_of_spinning(campaign):
    a = add_option(campaign.welcome, 1, "A", redirect_type=Types.MENU, prompt="At A")
    b = add_option(a, 1, "B", redirect_type=Types.INTERACTION, redirect_to_interaction=a)
    # A points back at B (behind the editor's back): A -> B -> A with nothing to wait for.
    Interaction.objects.filter(pk=a.pk).update(redirect_type=Types.INTERACTION,
                                               redirect_to_interaction=b)
    reply = say(campaign, "hi", "1")
    assert reply.text.endswith(campaign.end_message)
    assert Conversation.objects.get().state == Conversation.State.ENDED


def test_a_menu_that_loops_through_the_users_pick_keeps_going(campaign, plans):
    add_option(campaign.welcome, 4, "Back to start", redirect_type=Types.INTERACTION,
               redirect_to_interaction=campaign.welcome)
    for _ in range(3):
        assert say(campaign, "4").text.startswith("Welcome!")


def test_a_disabled_webhook_fires_nothing_and_the_chat_goes_on(campaign, plans):
    from subscriptions.services import auto_disable

    step = add_option(campaign.welcome, 4, "Call me", webhook_toggle=True, url=URL, prompt="OK!")
    auto_disable(step.webhook, "Every attempt failed")
    assert say(campaign, "hi", "4").text == "OK!"
    assert Delivery.objects.count() == 0


def test_every_message_and_reply_is_kept_with_the_deliveries_it_fired(campaign, plans):
    plans[2].webhook_toggle = True
    from chatflows import services

    services.save_interaction(plans[2], services.WebhookSettings(url=URL))
    say(campaign, "hi", "3")
    transcript = list(ChatMessage.objects.values_list("direction", "text"))
    assert transcript == [("in", "hi"), ("out", "Welcome! Which membership would you like?\n"
                           + MENU), ("in", "3"), ("out", "One year it is.")]
    pick = ChatMessage.objects.get(text="3")
    assert list(pick.deliveries.all()) == [Delivery.objects.get()]


def test_each_phone_number_has_its_own_conversation(campaign, plans):
    say(campaign, "hi", phone="+525500000001")
    assert say(campaign, "hi", phone="+525500000002").text.endswith(MENU)
    assert say(campaign, "2", phone="+525500000001").text == "Six months it is."


def test_simulated_conversations_never_move_a_real_one(campaign, plans):
    say(campaign, "hi")
    handle_message(campaign, PHONE, "hi", simulated=True)
    handle_message(campaign, PHONE, "1", simulated=True)
    assert say(campaign, "2").text == "Six months it is."
    assert Conversation.objects.count() == 2


def test_the_date_is_utc_with_milliseconds_and_a_z():
    from datetime import timedelta, timezone

    moment = datetime(2024, 6, 18, 17, 22, 36, 560999, tzinfo=timezone(timedelta(hours=-6)))
    assert engine.zulu(moment) == "2024-06-18T23:22:36.560Z"
    assert engine.zulu(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05.000Z"


def test_the_date_is_when_the_message_was_handled(campaign):
    make_question(campaign.welcome, URL)
    say(campaign, "hi")
    now = datetime(2024, 6, 18, 23, 22, 36, 560000, tzinfo=UTC)
    reply = handle_message(campaign, PHONE, "John Doe", now=now)
    assert reply.fired[0].event.payload == {
        "campaignId": "13010",
        "label": "Welcome Message",
        "phoneNumber": "+525500000000",
        "date": "2024-06-18T23:22:36.560Z",
        "response": "John Doe",
    }
    assert Event.objects.get().type == "chatbot.response"


def test_a_conversation_silent_for_a_day_starts_over(campaign, plans):
    from datetime import timedelta

    start = datetime(2024, 6, 18, 10, 0, tzinfo=UTC)
    handle_message(campaign, PHONE, "hi", now=start)
    assert handle_message(campaign, PHONE, "7", now=start + timedelta(hours=23)).text.startswith(
        "Sorry")
    late = handle_message(campaign, PHONE, "2", now=start + timedelta(hours=47, minutes=1))
    assert late.text == "Welcome! Which membership would you like?\n" + MENU
