"""What the editor, the admin and the demo data do to campaigns and their steps.

Views parse and call these. Each function validates with the models' rules (the same
``problems()`` the forms show) and saves in one transaction, so nothing is saved half: a step
and its webhook, or neither.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from chatflows.models import WEBHOOK_TOPICS, WELCOME_LABEL, Campaign, Interaction
from subscriptions import services as subscriptions
from subscriptions.models import Webhook
from subscriptions.validation import MAX_NAME_LENGTH

Types = Interaction.RedirectType


@dataclass
class WebhookSettings:
    """What the editor's webhook section holds."""

    url: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    extra_body: dict = field(default_factory=dict)


# --- campaigns -------------------------------------------------------------------------------


@transaction.atomic
def create_campaign(campaign: Campaign, *, welcome_prompt: str = "") -> Campaign:
    """Save a new campaign with its Welcome Message (a menu, empty for now)."""
    campaign.clean()
    campaign.save()
    welcome = Interaction.objects.create(
        campaign=campaign,
        is_welcome=True,
        label=WELCOME_LABEL,
        prompt=welcome_prompt,
        redirect_type=Types.MENU,
    )
    campaign._welcome = welcome
    return campaign


@transaction.atomic
def update_campaign(campaign: Campaign) -> Campaign:
    campaign.clean()
    campaign.save()
    # The campaign ID is part of its webhooks' names.
    for step in campaign.steps.filter(webhook__isnull=False).select_related("webhook"):
        _rename_webhook(step)
    return campaign


def delete_campaign(campaign: Campaign) -> None:
    """Delete a campaign and its steps; their webhooks are soft-deleted (logs kept).
    Raises ValueError while another campaign's option redirects here."""
    pointing = list(
        Interaction.objects.filter(redirect_to_campaign=campaign)
        .exclude(campaign=campaign)
        .select_related("campaign")
    )
    if pointing:
        names = ", ".join(f"“{s.label}” of {s.campaign.name}" for s in pointing)
        raise ValueError(
            f"{campaign.name} is the Redirect To of {names}: change them first, so no option "
            "points nowhere."
        )
    with transaction.atomic():
        steps = campaign.steps.all()
        # Redirects inside the campaign would block the cascade (they PROTECT their target).
        steps.update(redirect_to_interaction=None, redirect_to_campaign=None)
        _soft_delete_webhooks(steps)
        campaign.delete()


# --- steps -----------------------------------------------------------------------------------


@transaction.atomic
def save_interaction(step: Interaction, webhook: WebhookSettings | None = None) -> Interaction:
    """Validate and save a step (new or edited) with its webhook.

    While the step uses a webhook (Redirect Type Webhook, or the toggle on), ``webhook`` holds
    its URL, custom headers and extra body, and the step owns an enabled
    ``subscriptions.Webhook`` (raw JSON format, the two chatbot topics) that the delivery engine
    sends through. When it no longer uses one, the webhook is disabled and kept, settings and
    logs included. Raises ValidationError (field -> message) and saves nothing when a rule is
    broken.
    """
    hook = step.webhook if step.webhook_id else None
    headers = None
    if step.uses_webhook:
        settings = webhook or WebhookSettings(url="")
        if hook is None:
            hook = Webhook(
                workspace=step.campaign.workspace,
                source=Webhook.Source.CHATFLOW,
                topics=list(WEBHOOK_TOPICS),
                format=Webhook.Format.RAW,
                method=Webhook.Method.POST,
            )
        hook.url = settings.url.strip()
        hook.extra_body = settings.extra_body
        step.webhook = hook
        headers = settings.headers
    problems = step.problems(headers=headers)
    if problems:
        raise ValidationError(problems)
    if step.uses_webhook:
        hook.name = webhook_name(step, exclude_pk=hook.pk)
        subscriptions.save_webhook(hook, headers)
        subscriptions.set_enabled(hook, True)
        step.webhook = hook
    elif hook is not None and hook.status == Webhook.Status.ENABLED:
        subscriptions.set_enabled(hook, False)
    step.save()
    return step


def delete_interaction(step: Interaction) -> None:
    """Delete an option and the options of its own menu; their webhooks are soft-deleted
    (pending deliveries cancelled, logs kept). Raises ValueError for the Welcome Message and
    while another step redirects to one of them."""
    if step.is_welcome:
        raise ValueError("The Welcome Message cannot be deleted: it is where every chat starts.")
    subtree = [step, *descendants(step)]
    ids = [s.pk for s in subtree]
    pointing = list(Interaction.objects.filter(redirect_to_interaction__in=ids).exclude(pk__in=ids))
    if pointing:
        names = ", ".join(f"“{s.label}”" for s in pointing)
        them = "it" if len(pointing) == 1 else "them"
        raise ValueError(
            f"“{step.label}” is the Redirect To of {names}: change {them} first, so no option "
            "points nowhere."
        )
    with transaction.atomic():
        steps = Interaction.objects.filter(pk__in=ids)
        steps.update(redirect_to_interaction=None)
        _soft_delete_webhooks(steps)
        step.delete()


def descendants(step: Interaction) -> list[Interaction]:
    """Every option below ``step`` (its menu, their menus...)."""
    found: list[Interaction] = []
    frontier = [step.pk]
    seen = {step.pk}
    while frontier:
        children = [
            s for s in Interaction.objects.filter(parent_id__in=frontier) if s.pk not in seen
        ]
        found += children
        seen.update(s.pk for s in children)
        frontier = [s.pk for s in children]
    return found


def next_keyword(section: Interaction) -> int:
    """The first free keyword of a menu (what a new option's form suggests)."""
    taken = set(section.options.values_list("keyword", flat=True))
    keyword = 1
    while keyword in taken:
        keyword += 1
    return keyword


# --- the webhooks the steps own ---------------------------------------------------------------


def webhook_name(step: Interaction, *, exclude_pk=None) -> str:
    """"Chatbot 13010 · Welcome Message", made unique among the workspace's live webhooks
    (ignoring case, as the webhook list requires) with " (2)", " (3)"..."""
    workspace = step.campaign.workspace
    base = f"Chatbot {step.campaign.campaign_id} · {step.label}"[:MAX_NAME_LENGTH]
    taken = {
        name.lower()
        for name in Webhook.objects.live()
        .filter(workspace=workspace, name__istartswith=base[: MAX_NAME_LENGTH - 10])
        .exclude(pk=exclude_pk)
        .values_list("name", flat=True)
    }
    if base.lower() not in taken:
        return base
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = base[: MAX_NAME_LENGTH - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
        number += 1


def _rename_webhook(step: Interaction) -> None:
    hook = step.webhook
    if hook is None or hook.is_deleted:
        return
    name = webhook_name(step, exclude_pk=hook.pk)
    if hook.name != name:
        hook.name = name
        hook.save(update_fields=["name", "updated_at"])


def _soft_delete_webhooks(steps) -> None:
    hooks = Webhook.objects.live().filter(
        pk__in=steps.exclude(webhook__isnull=True).values("webhook_id")
    )
    for hook in list(hooks):
        subscriptions.soft_delete(hook)


# --- demo data --------------------------------------------------------------------------------

DEMO_CAMPAIGN_ID = "13010"


def create_demo_campaign(workspace, webhook_url: str) -> Campaign:
    """The help page's example: campaign 13010 asks for the user's name (Redirect Type
    Webhook on the Welcome Message), then offers three streaming memberships; picking
    "One year" reports the pick through the toggle. Both webhooks go to ``webhook_url`` (the
    workspace's test inbox). Idempotent: run again, it only points the webhooks at
    ``webhook_url``."""
    existing = Campaign.objects.filter(workspace=workspace, campaign_id=DEMO_CAMPAIGN_ID).first()
    if existing is not None:
        for step in existing.steps.filter(webhook__isnull=False).select_related("webhook"):
            hook = step.webhook
            if hook.url != webhook_url and not hook.is_deleted:
                hook.url = webhook_url
                hook.save(update_fields=["url", "updated_at"])
        return existing

    demo_headers = [("X-Chatbot-Campaign", DEMO_CAMPAIGN_ID)]
    with transaction.atomic():
        campaign = create_campaign(
            Campaign(
                workspace=workspace,
                campaign_id=DEMO_CAMPAIGN_ID,
                name="EliPackage streaming",
                channel=Campaign.Channel.WHATSAPP,
            ),
        )
        welcome = campaign.welcome
        welcome.redirect_type = Types.WEBHOOK
        welcome.prompt = "Hi! This is EliPackage. Before we start, what is your name?"
        welcome.answer_reply = "Nice to meet you! Which streaming membership would you like?"
        save_interaction(welcome, WebhookSettings(url=webhook_url, headers=demo_headers))
        plans = [
            (1, "One month", "One month it is. We will text you a payment link shortly.", False),
            (2, "Six months", "Six months it is. We will text you a payment link shortly.", False),
            (3, "One year", "One year, our best price! An agent will contact you today.", True),
        ]
        for keyword, text, prompt, toggle in plans:
            save_interaction(
                Interaction(
                    campaign=campaign,
                    parent=welcome,
                    label=text,
                    keyword=keyword,
                    menu_text=text,
                    prompt=prompt,
                    redirect_type=Types.END,
                    webhook_toggle=toggle,
                ),
                WebhookSettings(url=webhook_url, headers=demo_headers) if toggle else None,
            )
    return campaign
