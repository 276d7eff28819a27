"""Chatbot flows: campaigns, their steps and the conversation each phone number is having.

A campaign's steps form a tree. The root is the **Welcome Message**; every other step is an
**Interaction**, listed in the menu of its parent step under a keyword (the number the user
types) and a menu text. Every step has a label (the "section" reported to webhooks), a prompt
(the text the bot sends when the user arrives at the step) and a **Redirect Type** saying what
happens then:

- ``menu``: the step's own options are listed below its prompt and the bot waits for a pick
  (the Welcome Message's usual type; on an interaction it makes a sub-menu);
- ``interaction`` / ``campaign``: the bot goes on to another step of this campaign, or to the
  Welcome Message of another campaign of the workspace (Redirect To);
- ``webhook``: the prompt is a question; the user's answer is sent to the step's webhook, then
  the bot goes back to a menu (see chatflows/engine.py);
- ``end``: the conversation ends; the next message starts over at the Welcome Message.

An option whose **webhook toggle** is on reports the pick to its webhook the moment it is
chosen, then carries on with its redirect. The webhook itself is an ordinary
``subscriptions.Webhook`` owned by the step, so delivery, signing, retries and logs are the
delivery engine's.

Every rule lives in ``Interaction.problems()``, which both ``clean()`` and the editor's form
call, so a rule reads the same wherever it is broken.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from subscriptions import validation
from subscriptions.models import Webhook
from workspaces.models import Workspace

WELCOME_LABEL = "Welcome Message"
CAMPAIGN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
PHONE_RE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164
MAX_LABEL = 100
MAX_MENU_TEXT = 200
MAX_TEXT = 4096  # prompts, replies and the user's messages
MAX_KEYWORD = 999
# The events a chatbot webhook sends (subscriptions/catalog.py).
EVENT_RESPONSE = "chatbot.response"
EVENT_OPTION_SELECTED = "chatbot.option_selected"
WEBHOOK_TOPICS = [EVENT_RESPONSE, EVENT_OPTION_SELECTED]

DEFAULT_END_MESSAGE = "Thanks for chatting with us. Send any message to start again."
DEFAULT_FALLBACK_MESSAGE = "Sorry, that is not one of the options. Reply with a number:"


class Campaign(models.Model):
    """A chatbot: what a phone number talks to on one channel."""

    class Channel(models.TextChoices):
        WHATSAPP = "whatsapp", "WhatsApp"
        SMS = "sms", "SMS"
        MESSENGER = "messenger", "Messenger"
        WEB = "web", "Web chat"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    # The identifier channels and webhooks use ("campaignId"), chosen by the user: "13010".
    campaign_id = models.CharField("campaign ID", max_length=40)
    name = models.CharField(max_length=100)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WHATSAPP)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    end_message = models.TextField(default=DEFAULT_END_MESSAGE)
    fallback_message = models.TextField(default=DEFAULT_FALLBACK_MESSAGE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "campaign_id"], name="campaign_unique_campaign_id"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.campaign_id})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def welcome(self) -> "Interaction":
        """The campaign's Welcome Message (created with the campaign, never deleted)."""
        if not hasattr(self, "_welcome"):
            self._welcome = self.steps.get(is_welcome=True)
        return self._welcome

    def problems(self) -> dict[str, str]:
        problems = {}
        if not CAMPAIGN_ID_RE.fullmatch(self.campaign_id or ""):
            problems["campaign_id"] = (
                "Enter a campaign ID of up to 40 letters, digits, dashes or underscores, "
                "such as 13010."
            )
        elif (
            Campaign.objects.filter(workspace_id=self.workspace_id, campaign_id=self.campaign_id)
            .exclude(pk=self.pk)
            .exists()
        ):
            problems["campaign_id"] = (
                f"Campaign {self.campaign_id} exists already in this workspace: pick another ID."
            )
        if not (self.name or "").strip():
            problems["name"] = "Give the campaign a name, such as Raffle Giveaway."
        elif len(self.name) > 100:
            problems["name"] = "The name can be at most 100 characters."
        if self.channel not in self.Channel.values:
            problems["channel"] = "Pick the channel: WhatsApp, SMS, Messenger or Web chat."
        if self.status not in self.Status.values:
            problems["status"] = "Pick Active or Paused."
        for field in ("end_message", "fallback_message"):
            value = getattr(self, field) or ""
            if not value.strip():
                problems[field] = "This message cannot be empty."
            elif len(value) > MAX_TEXT:
                problems[field] = f"At most {MAX_TEXT:,} characters."
        return problems

    def clean(self):
        if problems := self.problems():
            raise ValidationError(problems)


class Interaction(models.Model):
    """A step of a campaign: the Welcome Message (``is_welcome``) or a menu option."""

    class RedirectType(models.TextChoices):
        MENU = "menu", "Menu"
        INTERACTION = "interaction", "Interaction"
        CAMPAIGN = "campaign", "Campaign"
        WEBHOOK = "webhook", "Webhook"
        END = "end", "End"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="steps")
    # The step whose menu lists this one; null only for the Welcome Message.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="options"
    )
    is_welcome = models.BooleanField(default=False)
    label = models.CharField(max_length=MAX_LABEL)
    prompt = models.TextField(blank=True)
    keyword = models.PositiveSmallIntegerField(null=True, blank=True)
    menu_text = models.CharField(max_length=MAX_MENU_TEXT, blank=True)
    redirect_type = models.CharField(
        max_length=12, choices=RedirectType.choices, default=RedirectType.END
    )
    # PROTECT: a Redirect To may never point nowhere; deleting a target is refused first.
    redirect_to_interaction = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="redirected_from"
    )
    redirect_to_campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="redirected_from"
    )
    webhook_toggle = models.BooleanField(default=False)
    # Where this step's webhook goes (URL, custom headers, extra body parameters). Kept, but
    # disabled, while the step uses no webhook, so turning it back on restores the settings.
    webhook = models.OneToOneField(
        Webhook,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="chatflow_interaction",
    )
    # Sent after a Webhook step's answer, before the menu the user goes back to.
    answer_reply = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["keyword", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "keyword"], name="interaction_unique_keyword_per_menu"
            ),
            models.UniqueConstraint(
                fields=["campaign"],
                condition=Q(is_welcome=True),
                name="interaction_one_welcome_per_campaign",
            ),
            # The Welcome Message is the root; every other step sits in a menu under a keyword.
            models.CheckConstraint(
                condition=Q(is_welcome=True, parent__isnull=True, keyword__isnull=True)
                | Q(is_welcome=False, parent__isnull=False, keyword__isnull=False),
                name="interaction_welcome_is_the_root",
            ),
        ]

    def __str__(self):
        return self.label

    # --- what the step is ------------------------------------------------------------------

    @property
    def is_question(self) -> bool:
        return self.redirect_type == self.RedirectType.WEBHOOK

    @property
    def has_menu(self) -> bool:
        """Its own options are shown: after its prompt (Menu) or after the answer (Webhook)."""
        return self.redirect_type in (self.RedirectType.MENU, self.RedirectType.WEBHOOK)

    @property
    def uses_webhook(self) -> bool:
        return self.is_question or self.webhook_toggle

    @property
    def webhook_kind(self) -> str:
        """"redirect", "toggle" or "" (what the editor's link icon shows)."""
        if self.is_question:
            return "redirect"
        return "toggle" if self.webhook_toggle else ""

    @property
    def menu_line(self) -> str:
        """How the option reads in its parent's menu. A Webhook step has no menu text (the
        form does not offer one), so its label stands in."""
        return f"{self.keyword}. {self.menu_text or self.label}"

    @property
    def redirect_target(self):
        if self.redirect_type == self.RedirectType.INTERACTION:
            return self.redirect_to_interaction
        if self.redirect_type == self.RedirectType.CAMPAIGN:
            return self.redirect_to_campaign
        return None

    def allowed_redirect_types(self) -> list[str]:
        """The Welcome Message is reached, never picked: it shows its menu or asks a question.
        Going elsewhere from it is what its menu options are for."""
        if self.is_welcome:
            return [self.RedirectType.MENU, self.RedirectType.WEBHOOK]
        return list(self.RedirectType.values)

    # --- the rules ---------------------------------------------------------------------------

    def problems(self, *, headers: list[tuple[str, str]] | None = None) -> dict[str, str]:
        """Field name -> what is wrong, for every rule of a step. ``self.webhook`` may be an
        unsaved Webhook holding the URL and extra body about to be saved; ``headers``, when
        given, are the custom header rows about to be saved with it."""
        problems: dict[str, str] = {}
        kind = self.redirect_type
        types = self.RedirectType

        if self.is_welcome:
            if self.label != WELCOME_LABEL:
                problems["label"] = f"The Welcome Message's label is “{WELCOME_LABEL}”."
        elif not (self.label or "").strip():
            problems["label"] = "Give the interaction a label, such as Membership plans."
        elif len(self.label) > MAX_LABEL:
            problems["label"] = f"A label can be at most {MAX_LABEL} characters."

        if len(self.prompt or "") > MAX_TEXT:
            problems["prompt"] = f"The prompt can be at most {MAX_TEXT:,} characters."
        if len(self.answer_reply or "") > MAX_TEXT:
            problems["answer_reply"] = f"At most {MAX_TEXT:,} characters."

        if kind not in self.allowed_redirect_types():
            problems["redirect_type"] = (
                "The Welcome Message either shows its menu or asks a question whose answer "
                "goes to a webhook (Redirect Type Menu or Webhook)."
                if self.is_welcome
                else "Pick a Redirect Type."
            )

        self._menu_problems(problems)

        if kind == types.WEBHOOK:
            # Menu Text and Redirect To do not apply: the step asks, the answer goes out.
            if self.menu_text:
                problems["menu_text"] = (
                    "Menu Text is not used when the Redirect Type is Webhook (the menu shows "
                    "the label instead): leave it empty."
                )
            if self.redirect_to_interaction_id or self.redirect_to_campaign_id:
                problems["redirect_to"] = (
                    "Redirect To is not used when the Redirect Type is Webhook (after the "
                    "answer the user goes back to the menu): leave it empty."
                )
            if self.webhook_toggle:
                problems["webhook_toggle"] = (
                    "The webhook toggle is for options that go on to a Redirect To; with "
                    "Redirect Type Webhook the answer is sent to the webhook already: switch "
                    "the toggle off."
                )
            if not (self.prompt or "").strip():
                problems["prompt"] = (
                    "A Webhook step asks a question: enter the prompt, such as "
                    "“What is your name?”."
                )
        elif not self.is_welcome and not (self.menu_text or "").strip():
            problems["menu_text"] = "Enter the text the menu shows, such as One month."
        elif len(self.menu_text or "") > MAX_MENU_TEXT:
            problems["menu_text"] = f"Menu Text can be at most {MAX_MENU_TEXT} characters."
        elif any(ch in (self.menu_text or "") for ch in "\r\n"):
            problems["menu_text"] = "Menu Text must fit on one line."

        self._redirect_problems(problems)

        if self.webhook_toggle and self.is_welcome:
            problems["webhook_toggle"] = (
                "The Welcome Message is not picked from a menu: switch the toggle on for its "
                "options instead (they report “Welcome Message” as their label)."
            )
        if self.uses_webhook:
            problems.update(self._webhook_problems(headers))
        return problems

    def _menu_problems(self, problems: dict) -> None:
        if self.is_welcome:
            if self.parent_id is not None:
                problems["parent"] = "The Welcome Message is not part of a menu."
            if self.keyword is not None:
                problems["keyword"] = "The Welcome Message has no keyword."
            return
        parent = self.parent if self.parent_id else None
        if parent is None:
            problems["parent"] = "Choose the menu this option belongs to."
        elif parent.campaign_id != self.campaign_id:
            problems["parent"] = "Choose a menu of this campaign."
        elif self._is_ancestor_of(parent):
            problems["parent"] = "An option cannot be listed in its own menu."
        elif not parent.has_menu:
            problems["parent"] = (
                f"“{parent.label}” shows no menu (its Redirect Type is "
                f"{parent.get_redirect_type_display()}): set it to Menu first."
            )
        keyword = self.keyword
        if keyword is None or isinstance(keyword, bool) or not isinstance(keyword, int):
            problems["keyword"] = "Enter the number the user types to pick this option, such as 1."
        elif not 1 <= keyword <= MAX_KEYWORD:
            problems["keyword"] = f"The keyword must be a number from 1 to {MAX_KEYWORD}."
        elif parent is not None and "parent" not in problems:
            taken = (
                Interaction.objects.filter(parent=parent, keyword=keyword)
                .exclude(pk=self.pk)
                .first()
            )
            if taken:
                problems["keyword"] = (
                    f"Keyword {keyword} is taken in this menu by “{taken.label}”: "
                    "pick another number."
                )
        if self.pk and not self.has_menu and self.options.exists():
            problems["redirect_type"] = (
                f"“{self.label}” has options in its own menu, which only Redirect Type Menu "
                "(or Webhook) shows: delete or move them first."
            )

    def _is_ancestor_of(self, step) -> bool:
        if self.pk is None:
            return False
        seen = set()
        while step is not None and step.pk not in seen:
            if step.pk == self.pk:
                return True
            seen.add(step.pk)
            step = step.parent
        return False

    def _redirect_problems(self, problems: dict) -> None:
        types = self.RedirectType
        kind = self.redirect_type
        if kind == types.WEBHOOK:
            return  # reported above
        if kind == types.INTERACTION:
            target = self.redirect_to_interaction if self.redirect_to_interaction_id else None
            if target is None:
                problems["redirect_to"] = "Choose the interaction to go to (Redirect To)."
            elif target.campaign_id != self.campaign_id:
                problems["redirect_to"] = (
                    "Redirect To must be an interaction of this campaign: to go to another "
                    "campaign, use Redirect Type Campaign."
                )
            elif self.pk and target.pk == self.pk:
                problems["redirect_to"] = (
                    "An interaction cannot redirect to itself: to show its own options, use "
                    "Redirect Type Menu."
                )
            elif self.redirect_to_campaign_id:
                problems["redirect_to"] = "Choose an interaction or a campaign, not both."
        elif kind == types.CAMPAIGN:
            target = self.redirect_to_campaign if self.redirect_to_campaign_id else None
            if target is None:
                problems["redirect_to"] = "Choose the campaign to go to (Redirect To)."
            elif target.workspace_id != self.campaign.workspace_id:
                problems["redirect_to"] = "Redirect To must be a campaign of this workspace."
            elif self.redirect_to_interaction_id:
                problems["redirect_to"] = "Choose an interaction or a campaign, not both."
        elif self.redirect_to_interaction_id or self.redirect_to_campaign_id:
            problems["redirect_to"] = (
                f"Redirect To is only used with Redirect Type Interaction or Campaign, not "
                f"{self.get_redirect_type_display()}: leave it empty."
            )

    def _webhook_problems(self, headers) -> dict[str, str]:
        """The webhook's URL and extra body (and header rows when given), with the same
        rules as every webhook of the product (subscriptions/validation.py)."""
        webhook = self.webhook
        url = (webhook.url if webhook is not None else "") or ""
        if not url.strip():
            return {
                "webhook_url": "Enter the URL the webhook sends to, such as "
                "https://example.com/chatbot."
            }
        problems: dict[str, str] = {}
        url_problems = validation.url_problems(
            url,
            https_only=self.campaign.workspace.https_only,
            allowed_placeholders=validation.placeholder_fields(WEBHOOK_TOPICS),
        )
        if not url_problems and (blocked := validation.check_destination(url)):
            url_problems = [blocked]
        if url_problems:
            problems["webhook_url"] = " ".join(url_problems)
        if error := validation.check_extra_body(webhook.extra_body):
            problems["webhook_extra_body"] = error
        if headers is not None:
            row_errors, overall = validation.header_problems(headers)
            messages = [e for e in row_errors if e] + overall
            if messages:
                problems["webhook_headers"] = " ".join(messages)
        return problems

    def clean(self):
        if problems := self.problems():
            raise ValidationError(problems)


class Conversation(models.Model):
    """Where one phone number is in a campaign's flow. Simulator conversations are kept apart
    from the real ones, so an admin testing with a customer's number never moves them."""

    class State(models.TextChoices):
        NEW = "new", "Not started"
        MENU = "menu", "At a menu"
        AWAITING = "awaiting", "Waiting for an answer"
        ENDED = "ended", "Ended"

    # The campaign the messages arrive for (the API's <campaignId>).
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="conversations")
    phone_number = models.CharField(max_length=16)
    simulated = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.NEW)
    # The menu the user is at, or the question awaiting an answer. After a Campaign redirect
    # it belongs to the other campaign.
    step = models.ForeignKey(
        Interaction, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "phone_number", "simulated"],
                name="conversation_unique_phone",
            ),
        ]

    def __str__(self):
        return f"{self.phone_number} in {self.campaign}"


class ChatMessage(models.Model):
    """One message of a conversation, for the simulator's transcript and the admin."""

    class Direction(models.TextChoices):
        IN = "in", "From the user"
        OUT = "out", "From the bot"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=3, choices=Direction.choices)
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    # The webhooks this user message fired (on the user's message: it is what they report).
    deliveries = models.ManyToManyField("deliveries.Delivery", blank=True, related_name="+")

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The transcript of one conversation, in order.
            models.Index(fields=["conversation", "created_at"], name="chatmessage_transcript_idx"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()}: {self.text[:40]}"
