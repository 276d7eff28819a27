"""The chatbot flows in the management API: campaigns and their steps (interactions).

The rules and messages are the dashboard's: campaigns are saved by chatflows.services
(Campaign.problems()), steps by services.save_interaction (Interaction.problems()), and a menu
or Redirect To that is not this campaign's (or workspace's) gets the Add interaction form's
own message. Registered on the API of api/views.py, so auth, rate limit, errors and the audit
log are those of every endpoint.
"""

from django.core.exceptions import ValidationError as ModelValidationError
from django.db import IntegrityError, transaction
from ninja import Status

from api import schemas
from api.errors import not_found
from api.pagination import decode_cursor, page
from api.views import MAX_ID, Cursor, IdPath, Limit, api, bad_request, cursor_id, responses
from chatflows import services
from chatflows.forms import InteractionForm
from chatflows.models import Campaign, Interaction
from chatflows.services import WebhookSettings

TAGS = ["Chatbot flows"]
Types = Interaction.RedirectType


def _form_message(field: str) -> str:
    """The Add interaction form's message for a choice it does not offer."""
    return InteractionForm.base_fields[field].error_messages["invalid_choice"]


def _errors(problems: dict) -> list[dict]:
    return [
        {"field": field, "message": message}
        for field, messages in problems.items()
        for message in ([messages] if isinstance(messages, str) else messages)
    ]


def get_campaign(request, campaign_pk: int) -> Campaign:
    campaign = Campaign.objects.filter(workspace=request.auth.workspace, pk=campaign_pk).first()
    if campaign is None:
        raise not_found("campaign")
    campaign.workspace = request.auth.workspace
    return campaign


def _find(queryset, pk: int | None):
    if pk is None or not 0 < pk <= MAX_ID:
        return None
    return queryset.filter(pk=pk).first()


# --- campaigns --------------------------------------------------------------------------------


def campaign_json(campaign: Campaign) -> dict:
    return {
        "id": campaign.pk,
        "campaign_id": campaign.campaign_id,
        "name": campaign.name,
        "channel": campaign.channel,
        "status": campaign.status,
        "end_message": campaign.end_message,
        "fallback_message": campaign.fallback_message,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
    }


@api.get("/chatflows/campaigns", response=responses(200, schemas.CampaignPage), tags=TAGS)
def list_campaigns(request, cursor: str | None = Cursor, limit: int = Limit):
    """The workspace's chatbot campaigns, oldest first."""
    after = decode_cursor(cursor, length=1)
    campaigns = Campaign.objects.filter(workspace=request.auth.workspace)
    if after is not None:
        campaigns = campaigns.filter(pk__gt=cursor_id(after[0]))
    rows = list(campaigns.order_by("pk")[: limit + 1])
    return page(request, rows, limit, lambda c: [c.pk], campaign_json)


@api.post("/chatflows/campaigns", response=responses(201, schemas.CampaignOut), tags=TAGS)
def create_campaign(request, payload: schemas.CampaignCreate):
    """Create a campaign with its (empty) Welcome Message, as the New campaign form does."""
    workspace = request.auth.workspace
    # As the form's cleaning: text trimmed, the messages at their defaults.
    campaign = Campaign(
        workspace=workspace,
        campaign_id=payload.campaign_id.strip(),
        name=payload.name.strip(),
        channel=payload.channel,
        status=payload.status,
    )
    try:
        with transaction.atomic():
            services.create_campaign(campaign)
    except ModelValidationError as exc:
        raise bad_request(_errors(exc.message_dict))
    except IntegrityError:
        # Two creations raced for one campaign ID: the check ran before the other committed.
        campaign.pk = None
        problems = campaign.problems() or {
            "campaign_id": "This campaign ID exists already: pick another ID."
        }
        raise bad_request(_errors(problems))
    return Status(201, campaign_json(campaign))


@api.get(
    "/chatflows/campaigns/{campaign_pk}",
    response=responses(200, schemas.CampaignOut, 404),
    tags=TAGS,
)
def get_campaign_detail(request, campaign_pk: int = IdPath("A campaign's id (not campaign_id).")):
    return campaign_json(get_campaign(request, campaign_pk))


# --- interactions -----------------------------------------------------------------------------


def interaction_json(step: Interaction) -> dict:
    hook = step.webhook if step.webhook_id else None
    return {
        "id": step.pk,
        "is_welcome": step.is_welcome,
        "parent": step.parent_id,
        "label": step.label,
        "prompt": step.prompt,
        "keyword": step.keyword,
        "menu_text": step.menu_text,
        "redirect_type": step.redirect_type,
        "redirect_to_interaction": step.redirect_to_interaction_id,
        "redirect_to_campaign": step.redirect_to_campaign_id,
        "webhook_toggle": step.webhook_toggle,
        "answer_reply": step.answer_reply,
        "webhook_url": hook.url if hook is not None else None,
        "webhook_header_names": [h.name for h in hook.headers.all()] if hook is not None else [],
    }


@api.get(
    "/chatflows/campaigns/{campaign_pk}/interactions",
    response=responses(200, schemas.InteractionPage, 404),
    tags=TAGS,
)
def list_interactions(
    request,
    campaign_pk: int = IdPath("A campaign's id (not campaign_id)."),
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """The campaign's Welcome Message (first: it is created with the campaign) and its
    interactions, oldest first. Webhook header values are never returned, only their names."""
    campaign = get_campaign(request, campaign_pk)
    after = decode_cursor(cursor, length=1)
    steps = campaign.steps.all()
    if after is not None:
        steps = steps.filter(pk__gt=cursor_id(after[0]))
    rows = list(
        steps.select_related("webhook")
        .prefetch_related("webhook__headers")
        .order_by("pk")[: limit + 1]
    )
    return page(request, rows, limit, lambda s: [s.pk], interaction_json)


def _problem_field(key: str, step: Interaction) -> str:
    """The API field a step's problem belongs to (the model says redirect_to for both)."""
    if key != "redirect_to":
        return key
    if step.redirect_type == Types.CAMPAIGN or (
        step.redirect_to_campaign_id and not step.redirect_to_interaction_id
    ):
        return "redirect_to_campaign"
    return "redirect_to_interaction"


@api.post(
    "/chatflows/campaigns/{campaign_pk}/interactions",
    response=responses(201, schemas.InteractionOut, 404),
    tags=TAGS,
)
def create_interaction(
    request,
    payload: schemas.InteractionCreate,
    campaign_pk: int = IdPath("A campaign's id (not campaign_id)."),
):
    """Add an option to one of the campaign's menus, as the Add interaction form does: the
    same rules and messages (a Webhook step, say, takes no menu text or Redirect To and needs
    a prompt and a URL). A step using a webhook (Redirect Type webhook, or the toggle on) gets
    its own enabled webhook with ``webhook_url``, ``webhook_headers`` and
    ``webhook_extra_body``."""
    campaign = get_campaign(request, campaign_pk)
    data = payload.model_dump()
    steps = campaign.steps.all()

    # The choices the form offers: a menu of this campaign, a step of this campaign, a
    # campaign of this workspace.
    errors: list[dict] = []
    if data["parent"] is None:
        parent = campaign.welcome
    else:
        menus = steps.filter(redirect_type__in=[Types.MENU, Types.WEBHOOK])
        parent = _find(menus, data["parent"])
        if parent is None:
            errors.append({"field": "parent", "message": _form_message("parent")})
    targets = {
        "redirect_to_interaction": _find(steps, data["redirect_to_interaction"]),
        "redirect_to_campaign": _find(
            Campaign.objects.filter(workspace=campaign.workspace), data["redirect_to_campaign"]
        ),
    }
    for field, target in targets.items():
        if data[field] is not None and target is None:
            errors.append({"field": field, "message": _form_message(field)})
    if errors:
        raise bad_request(errors)

    keyword = data["keyword"]
    if keyword is None:
        keyword = services.next_keyword(parent)
    redirect_type = data["redirect_type"]
    # As the form's cleaning: text trimmed, a reply only for a question.
    step = Interaction(
        campaign=campaign,
        parent=parent,
        label=data["label"].strip(),
        keyword=keyword,
        menu_text=data["menu_text"].strip(),
        prompt=data["prompt"].strip(),
        redirect_type=redirect_type,
        redirect_to_interaction=targets["redirect_to_interaction"],
        redirect_to_campaign=targets["redirect_to_campaign"],
        webhook_toggle=data["webhook_toggle"],
        answer_reply=data["answer_reply"].strip() if redirect_type == Types.WEBHOOK else "",
    )
    headers = [
        (h["name"].strip(), h["value"].strip())
        for h in data["webhook_headers"]
        if h["name"].strip() or h["value"].strip()
    ]
    settings = WebhookSettings(
        url=data["webhook_url"].strip(), headers=headers, extra_body=data["webhook_extra_body"]
    )
    try:
        with transaction.atomic():
            services.save_interaction(step, settings)
    except ModelValidationError as exc:
        problems = {_problem_field(k, step): v for k, v in exc.message_dict.items()}
        raise bad_request(_errors(problems))
    except IntegrityError:
        # Two options raced for one keyword: the check ran before the other committed.
        step.pk = None
        step.webhook = None
        message = (
            step.problems().get("keyword")
            or "This keyword is taken in this menu: pick another number."
        )
        raise bad_request([{"field": "keyword", "message": message}])
    step = Interaction.objects.select_related("webhook").get(pk=step.pk)
    return Status(201, interaction_json(step))
