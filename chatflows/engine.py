"""The flow engine: one inbound message in, the bot's reply (and the webhooks it fired) out.

Plain functions over the models; the API, the simulator and the tests all call
``handle_message``. The rules, in the order a conversation meets them:

1. **Start.** A phone number's first message (or its first after the conversation ended, or
   after 24 hours of silence) is not read: the bot arrives at the Welcome Message.
2. **Arriving at a step** sends its prompt, then by Redirect Type:
   Menu lists its options ("1. One month") and waits for a pick; Webhook waits for the answer
   to its prompt; Interaction and Campaign arrive at the Redirect To (another step of the
   campaign, or the other campaign's Welcome Message); End ends the conversation, with the
   campaign's end message when the step has no prompt of its own. A chain of redirects that
   comes back to a step it already passed in the same reply, without ever waiting for the
   user, ends the conversation instead of looping (menus that loop through a user's pick are
   fine).
3. **A pick** is the option's keyword (``1``, `` 1.``) or its menu text, ignoring case.
   Anything else gets the campaign's fallback line and the same menu again.
   A picked option with the **webhook toggle** on fires ``chatbot.option_selected`` at once,
   labelled with the section the menu belongs to (picks from the Welcome Message's menu
   report "Welcome Message", as in the product's help page), then the bot arrives at the
   option.
4. **An answer** to a Webhook step fires ``chatbot.response`` labelled with that step, then
   the bot sends the step's "reply after the answer" and **returns to a menu**: the step's
   own options if it has some (a Welcome Message that asks for a name, then offers plans),
   else the menu the step was picked from; a Welcome Message with no options ends the
   conversation.

Payloads are exactly the help page's fields; the webhook's extra body parameters are merged
in by the delivery engine when it renders the request (deliveries/formats.py: the event's own
fields win on a clash). ``date`` is UTC with milliseconds, ``2024-06-18T23:22:36.560Z``.

A webhook that is disabled (auto-disabled after failing, or deleted) fires nothing; the
conversation goes on.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from chatflows.models import (
    EVENT_OPTION_SELECTED,
    EVENT_RESPONSE,
    Campaign,
    ChatMessage,
    Conversation,
    Interaction,
)
from deliveries.models import Delivery
from deliveries.services import send

Types = Interaction.RedirectType
State = Conversation.State

# A conversation silent this long starts over at the Welcome Message (WhatsApp, for one, only
# lets a business answer freely within 24 hours of the user's last message).
CONVERSATION_TIMEOUT = timedelta(hours=24)
# Redirects followed within one reply before giving up (a chain, not a cycle, that long is
# a mistake too).
MAX_HOPS = 20
_KEYWORD_RE = re.compile(r"([0-9]{1,4})\.?")


@dataclass
class Reply:
    text: str
    fired: list[Delivery] = field(default_factory=list)


def zulu(moment: datetime) -> str:
    """``2024-06-18T23:22:36.560Z``: UTC, milliseconds, a Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def option_selected_payload(section, option, phone: str, now: datetime) -> dict:
    return {
        "campaignId": section.campaign.campaign_id,
        "label": section.label,
        "option": option.menu_text,
        "keyword": option.keyword,
        "phoneNumber": phone,
        "date": zulu(now),
    }


def response_payload(step, phone: str, text: str, now: datetime) -> dict:
    return {
        "campaignId": step.campaign.campaign_id,
        "label": step.label,
        "phoneNumber": phone,
        "date": zulu(now),
        "response": text,
    }


def menu_lines(step: Interaction) -> str:
    return "\n".join(option.menu_line for option in options_of(step))


def options_of(step: Interaction) -> list[Interaction]:
    return list(step.options.select_related("campaign", "webhook").order_by("keyword", "pk"))


def match_option(options: list[Interaction], text: str) -> Interaction | None:
    text = text.strip()
    if number := _KEYWORD_RE.fullmatch(text):
        keyword = int(number.group(1))
        return next((o for o in options if o.keyword == keyword), None)
    wanted = text.casefold()
    return next((o for o in options if o.menu_text and o.menu_text.casefold() == wanted), None)


class _Turn:
    """One inbound message being answered: collects the reply's blocks and the deliveries."""

    def __init__(self, conversation: Conversation, now: datetime):
        self.conversation = conversation
        self.phone = conversation.phone_number
        self.now = now
        self.blocks: list[str] = []
        self.fired: list[Delivery] = []
        self.visited: set[int] = set()

    def say(self, *texts: str) -> None:
        text = "\n".join(t for t in texts if t and t.strip())
        if text:
            self.blocks.append(text)

    def fire(self, step: Interaction, event_type: str, payload: dict) -> None:
        webhook = step.webhook
        if webhook is None or not webhook.is_enabled:
            return
        self.fired.append(send(webhook, event_type, payload))

    def wait_at(self, step: Interaction, state: str) -> None:
        self.conversation.step = step
        self.conversation.state = state

    def end(self, campaign: Campaign, *, say_goodbye: bool) -> None:
        self.conversation.step = None
        self.conversation.state = State.ENDED
        if say_goodbye:
            self.say(campaign.end_message)

    # --- the rules -----------------------------------------------------------------------

    def arrive(self, step: Interaction | None, campaign: Campaign) -> None:
        """Send the step's prompt and follow its Redirect Type (rule 2)."""
        if step is None:  # a Redirect To removed behind the editor's back
            self.end(campaign, say_goodbye=True)
            return
        if step.pk in self.visited or len(self.visited) >= MAX_HOPS:
            self.end(step.campaign, say_goodbye=True)
            return
        self.visited.add(step.pk)
        kind = step.redirect_type
        if kind == Types.WEBHOOK:
            self.say(step.prompt)
            self.wait_at(step, State.AWAITING)
        elif kind == Types.MENU:
            menu = menu_lines(step)
            if menu:
                self.say(step.prompt, menu)
                self.wait_at(step, State.MENU)
            else:
                self.say(step.prompt)
                self.end(step.campaign, say_goodbye=not step.prompt.strip())
        elif kind == Types.INTERACTION:
            self.say(step.prompt)
            self.arrive(step.redirect_to_interaction, step.campaign)
        elif kind == Types.CAMPAIGN:
            self.say(step.prompt)
            target = step.redirect_to_campaign
            self.arrive(target.welcome if target else None, step.campaign)
        else:  # End
            self.say(step.prompt)
            self.end(step.campaign, say_goodbye=not step.prompt.strip())

    def pick(self, section: Interaction, text: str) -> None:
        """The user is at ``section``'s menu (rule 3)."""
        options = options_of(section)
        if not options:  # the menu was emptied since: start over
            self.arrive(section.campaign.welcome, section.campaign)
            return
        option = match_option(options, text)
        if option is None:
            self.say(section.campaign.fallback_message, menu_lines(section))
            return
        if option.webhook_toggle and not option.is_question:
            self.fire(
                option, EVENT_OPTION_SELECTED,
                option_selected_payload(section, option, self.phone, self.now),
            )
        self.arrive(option, section.campaign)

    def answer(self, step: Interaction, text: str) -> None:
        """The user answered a Webhook step's prompt (rule 4)."""
        self.fire(step, EVENT_RESPONSE, response_payload(step, self.phone, text, self.now))
        if step.options.exists():
            self.say(step.answer_reply, menu_lines(step))
            self.wait_at(step, State.MENU)
        elif step.parent_id is not None:
            parent = step.parent
            self.say(step.answer_reply or parent.prompt, menu_lines(parent))
            self.wait_at(parent, State.MENU)
        else:
            self.say(step.answer_reply)
            self.end(step.campaign, say_goodbye=not step.answer_reply.strip())


def handle_message(
    campaign: Campaign, phone: str, text: str, now=None, *, simulated: bool = False
) -> Reply:
    """Answer one message of ``phone`` to ``campaign``: the reply text and the deliveries it
    fired. Stores the conversation's new state and both messages. ``phone`` and ``text`` are
    expected valid (the API and the simulator check them first)."""
    now = now or timezone.now()
    with transaction.atomic():
        conversation = _locked_conversation(campaign, phone, simulated, now)
        turn = _Turn(conversation, now)
        step = _current_step(conversation)
        if now - conversation.last_message_at > CONVERSATION_TIMEOUT:
            step = None  # back after a long silence: start over rather than mid-menu
        if step is not None and conversation.state == State.AWAITING and step.is_question:
            turn.answer(step, text)
        elif step is not None and conversation.state == State.MENU:
            turn.pick(step, text)
        else:
            turn.arrive(campaign.welcome, campaign)
        if not turn.blocks:  # never send an empty message
            turn.say(campaign.end_message)
        reply = Reply("\n\n".join(turn.blocks), turn.fired)

        conversation.last_message_at = now
        conversation.save()
        inbound = ChatMessage.objects.create(
            conversation=conversation, direction=ChatMessage.Direction.IN, text=text,
            created_at=now,
        )
        if reply.fired:
            inbound.deliveries.set(reply.fired)
        ChatMessage.objects.create(
            conversation=conversation, direction=ChatMessage.Direction.OUT, text=reply.text,
            created_at=now,
        )
    return reply


def _locked_conversation(campaign, phone, simulated, now) -> Conversation:
    # Write first: on PostgreSQL the UPDATE locks the row, so two messages of one number are
    # answered one after the other; on SQLite it takes the write lock at the start of the
    # transaction (a transaction that reads first and writes later fails at once with
    # "database is locked" when a worker wrote in between, instead of waiting).
    Conversation.objects.filter(
        campaign=campaign, phone_number=phone, simulated=simulated
    ).update(simulated=simulated)
    conversation, _ = Conversation.objects.get_or_create(
        campaign=campaign, phone_number=phone, simulated=simulated,
        defaults={"started_at": now, "last_message_at": now},
    )
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if conversation.state in (State.NEW, State.ENDED):
        conversation.started_at = now
    return conversation


def _current_step(conversation: Conversation) -> Interaction | None:
    if conversation.step_id is None:
        return None
    return (
        Interaction.objects.select_related("campaign", "webhook", "parent")
        .filter(pk=conversation.step_id)
        .first()
    )


def reset_conversation(campaign: Campaign, phone: str, *, simulated: bool) -> None:
    """Forget a conversation and its transcript (the simulator's "Start over")."""
    Conversation.objects.filter(
        campaign=campaign, phone_number=phone, simulated=simulated
    ).delete()
