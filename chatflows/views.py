"""The chatbot screens under /w/<slug>/chatbots/: campaigns, the flow editor and the
simulator. Members of the workspace may look; admins change and simulate (a simulated message
fires real webhooks); everyone else gets 404."""

import contextlib
import json
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from chatflows import engine, services
from chatflows.forms import CampaignForm, InteractionForm
from chatflows.models import MAX_TEXT, PHONE_RE, Campaign, ChatMessage, Conversation, Interaction
from deliveries import formats
from workspaces.access import get_workspace_for_admin, get_workspace_for_member

Types = Interaction.RedirectType
DEFAULT_PHONE = "+525500000000"
NO_WORKER_AFTER = timedelta(seconds=10)


# --- access helpers ------------------------------------------------------------------------------


def get_campaign_for_member(request, slug, pk) -> Campaign:
    workspace = get_workspace_for_member(request, slug)
    return get_object_or_404(Campaign.objects.select_related("workspace"), workspace=workspace,
                             pk=pk)


def get_campaign_for_admin(request, slug, pk) -> Campaign:
    workspace = get_workspace_for_admin(request, slug)
    return get_object_or_404(Campaign.objects.select_related("workspace"), workspace=workspace,
                             pk=pk)


def get_step(campaign: Campaign, step_id) -> Interaction:
    return get_object_or_404(
        Interaction.objects.select_related("webhook", "parent"), campaign=campaign, pk=step_id
    )


def editor_url(campaign: Campaign, anchor: str = "") -> str:
    url = reverse("chatflow_campaign", args=[campaign.workspace.slug, campaign.pk])
    return f"{url}#{anchor}" if anchor else url


# --- campaigns -----------------------------------------------------------------------------------


@login_required
def campaign_list(request, slug):
    workspace = get_workspace_for_member(request, slug)
    campaigns = list(workspace.campaigns.order_by("name", "pk"))
    steps = Interaction.objects.filter(campaign__in=campaigns)
    counts: dict[int, dict] = {c.pk: {"options": 0, "webhooks": 0} for c in campaigns}
    for campaign_pk, is_welcome, toggle, kind in steps.values_list(
        "campaign_id", "is_welcome", "webhook_toggle", "redirect_type"
    ):
        counts[campaign_pk]["options"] += 0 if is_welcome else 1
        counts[campaign_pk]["webhooks"] += 1 if toggle or kind == Types.WEBHOOK else 0
    for campaign in campaigns:
        campaign.counts = counts[campaign.pk]
    return render(request, "chatflows/campaign_list.html", {"campaigns": campaigns})


@login_required
def campaign_form(request, slug, pk=None):
    workspace = get_workspace_for_admin(request, slug)
    campaign = get_object_or_404(Campaign, workspace=workspace, pk=pk) if pk else None
    form = CampaignForm(request.POST or None, workspace=workspace, instance=campaign)
    if request.method == "POST" and form.is_valid():
        target = form.apply(campaign or Campaign(workspace=workspace))
        try:
            if campaign is None:
                target = services.create_campaign(
                    target, welcome_prompt=form.cleaned_data.get("welcome_prompt", "").strip()
                )
                messages.success(request, f"Campaign {target.name} created: now add its menu.")
            else:
                services.update_campaign(target)
                messages.success(request, "Campaign saved.")
        except ValidationError as exc:
            form.add_problems({k: v[0] for k, v in exc.message_dict.items()})
        else:
            return redirect(editor_url(target))
    return render(request, "chatflows/campaign_form.html", {"form": form, "campaign": campaign})


@login_required
def campaign_delete(request, slug, pk):
    campaign = get_campaign_for_admin(request, slug, pk)
    error = ""
    if request.method == "POST":
        try:
            services.delete_campaign(campaign)
        except ValueError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Campaign {campaign.name} deleted.")
            return redirect("chatflow_campaign_list", slug=slug)
    return render(
        request, "chatflows/confirm_delete.html",
        {"campaign": campaign, "what": f"campaign {campaign.name}", "error": error,
         "consequence": "Its Welcome Message, every interaction and every conversation go too. "
                        "Its webhooks are deleted; their delivery logs are kept.",
         "cancel_url": editor_url(campaign)},
    )


@login_required
def campaign_detail(request, slug, pk):
    """The flow editor: the Welcome Message and every menu as a table."""
    campaign = get_campaign_for_member(request, slug, pk)
    steps = list(
        campaign.steps.select_related(
            "webhook", "redirect_to_interaction", "redirect_to_campaign", "parent"
        ).order_by("keyword", "pk")
    )
    options: dict[int, list[Interaction]] = {}
    for step in steps:
        if step.parent_id:
            options.setdefault(step.parent_id, []).append(step)
    welcome = next(s for s in steps if s.is_welcome)
    others = sorted(
        (s for s in steps if not s.is_welcome and (s.redirect_type == Types.MENU
                                                   or options.get(s.pk))),
        key=lambda s: (s.label.lower(), s.pk),
    )
    sections = [{"step": s, "options": options.get(s.pk, [])} for s in [welcome, *others]]
    api_url = request.build_absolute_uri(reverse("chatflow_messages", args=[campaign.campaign_id]))
    return render(
        request,
        "chatflows/campaign_detail.html",
        {
            "campaign": campaign,
            "welcome": welcome,
            "sections": sections,
            "step_count": len(steps) - 1,
            "api_url": api_url,
        },
    )


# --- steps ---------------------------------------------------------------------------------------


@login_required
def interaction_form(request, slug, pk, step_id=None):
    """Add an option to a menu (``?menu=<step id>``), or edit a step (the Welcome Message
    included). Members see the settings read-only."""
    if request.method == "POST" or step_id is None:
        campaign = get_campaign_for_admin(request, slug, pk)
    else:
        campaign = get_campaign_for_member(request, slug, pk)
    read_only = not request.membership.is_admin
    if step_id is None:
        menu = _menu_from_query(campaign, request.GET.get("menu"))
        step = Interaction(campaign=campaign, parent=menu, redirect_type=Types.END)
        initial = {
            **InteractionForm.initial_from(step),
            "keyword": services.next_keyword(menu),
            "parent": menu.pk,
        }
    else:
        step = get_step(campaign, step_id)
        initial = None
    kwargs = {"campaign": campaign, "instance": step}
    if initial is not None:
        kwargs["initial"] = initial
    form = InteractionForm(request.POST or None, **kwargs)
    if request.method == "POST":
        if form.is_editing_rows:
            form.is_valid()
            form.without_errors()
        elif form.is_valid():
            form.apply(step)
            try:
                services.save_interaction(step, form.webhook_settings())
            except ValidationError as exc:
                form.add_problems({k: v[0] for k, v in exc.message_dict.items()})
            else:
                messages.success(request, f"“{step.label}” saved.")
                anchor = f"menu-{step.parent_id}" if step.parent_id else "welcome"
                return redirect(editor_url(campaign, anchor))
    return render(
        request,
        "chatflows/interaction_form.html",
        {
            "campaign": campaign,
            "step": step,
            "form": form,
            "read_only": read_only,
            "types_help": TYPE_HELP,
        },
    )


TYPE_HELP = {
    Types.MENU: "Sends the prompt with this step's own options below it, and waits for a pick.",
    Types.INTERACTION: "Sends the prompt, then goes on to another interaction of this campaign.",
    Types.CAMPAIGN: "Sends the prompt, then starts another campaign's Welcome Message.",
    Types.WEBHOOK: "Sends the prompt as a question; the answer goes to the webhook, then the "
                   "user is back at the menu.",
    Types.END: "Sends the prompt (or the campaign's end message) and ends the chat.",
}


def _menu_from_query(campaign, value) -> Interaction:
    if value and value.isdigit():
        menu = campaign.steps.filter(pk=int(value)).first()
        if menu is None:
            raise Http404("No such menu")
        return menu
    return campaign.welcome


@login_required
def interaction_delete(request, slug, pk, step_id):
    campaign = get_campaign_for_admin(request, slug, pk)
    step = get_step(campaign, step_id)
    if step.is_welcome:
        raise PermissionDenied("The Welcome Message cannot be deleted.")
    error = ""
    below = services.descendants(step)
    if request.method == "POST":
        try:
            services.delete_interaction(step)
        except ValueError as exc:
            error = str(exc)
        else:
            messages.success(request, f"“{step.label}” deleted.")
            return redirect(editor_url(campaign, f"menu-{step.parent_id}"))
    consequence = "Users can no longer pick it."
    if below:
        consequence += f" The {len(below)} option{'s' if len(below) > 1 else ''} of its own " \
                       "menu go too."
    if step.webhook_id:
        consequence += " Its webhook is deleted; its delivery logs are kept."
    return render(
        request, "chatflows/confirm_delete.html",
        {"campaign": campaign, "what": f"“{step.label}”", "error": error,
         "consequence": consequence, "cancel_url": editor_url(campaign)},
    )


# --- simulator -----------------------------------------------------------------------------------


@login_required
def simulator(request, slug, pk):
    if request.method == "POST":
        campaign = get_campaign_for_admin(request, slug, pk)
    else:
        campaign = get_campaign_for_member(request, slug, pk)
    phone = (request.POST.get("phone") or request.GET.get("phone") or DEFAULT_PHONE).strip()
    errors: dict[str, str] = {}
    text = ""
    if request.method == "POST":
        text = request.POST.get("text", "")
        errors = simulator_problems(phone, text)
        if not errors:
            engine.handle_message(campaign, phone, text, simulated=True)
            return redirect(simulator_url(campaign, phone))
    elif not PHONE_RE.fullmatch(phone):
        errors["phone"] = phone_message()
    context = simulator_context(campaign, phone if "phone" not in errors else "")
    context.update({"phone": phone, "errors": errors, "text": text})
    return render(request, "chatflows/simulator.html", context, status=400 if errors else 200)


@login_required
def simulator_fired(request, slug, pk):
    """The fired-webhooks panel alone (polled while a delivery is under way)."""
    campaign = get_campaign_for_member(request, slug, pk)
    phone = request.GET.get("phone", "")
    if not PHONE_RE.fullmatch(phone):
        raise Http404("No such conversation")
    return render(request, "chatflows/_fired.html", simulator_context(campaign, phone))


@login_required
@require_POST
def simulator_reset(request, slug, pk):
    campaign = get_campaign_for_admin(request, slug, pk)
    phone = request.POST.get("phone", "")
    if PHONE_RE.fullmatch(phone):
        engine.reset_conversation(campaign, phone, simulated=True)
    return redirect(simulator_url(campaign, phone if PHONE_RE.fullmatch(phone) else ""))


def simulator_url(campaign, phone: str) -> str:
    url = reverse("chatflow_simulator", args=[campaign.workspace.slug, campaign.pk])
    return f"{url}?{urlencode({'phone': phone})}" if phone else url


def phone_message() -> str:
    return "Enter a phone number in E.164 format: a + and 7 to 15 digits, such as +525500000000."


def simulator_problems(phone: str, text: str) -> dict[str, str]:
    errors = {}
    if not PHONE_RE.fullmatch(phone):
        errors["phone"] = phone_message()
    if not text.strip():
        errors["text"] = "Type a message to send."
    elif len(text) > MAX_TEXT:
        errors["text"] = f"A message can be at most {MAX_TEXT:,} characters."
    return errors


def simulator_context(campaign: Campaign, phone: str) -> dict:
    conversation = (
        Conversation.objects.filter(campaign=campaign, phone_number=phone, simulated=True)
        .select_related("step")
        .first()
        if phone
        else None
    )
    transcript: list[ChatMessage] = []
    fired: list[dict] = []
    if conversation is not None:
        transcript = list(
            conversation.messages.prefetch_related("deliveries__webhook", "deliveries__event")
        )
        for message in transcript:
            for delivery in sorted(message.deliveries.all(), key=lambda d: d.pk):
                fired.append(fired_item(message, delivery))
    fired.reverse()  # newest first
    return {
        "campaign": campaign,
        "conversation": conversation,
        "transcript": transcript,
        "fired": fired,
        "polling": any(not item["delivery"].is_finished for item in fired),
        "fired_url": simulator_url_fired(campaign, phone) if phone else "",
    }


def simulator_url_fired(campaign, phone) -> str:
    url = reverse("chatflow_simulator_fired", args=[campaign.workspace.slug, campaign.pk])
    return f"{url}?{urlencode({'phone': phone})}"


def fired_item(message: ChatMessage, delivery) -> dict:
    """A fired webhook as the simulator shows it: the body as the receiver got it (the last
    attempt's request), or as it will be sent while no attempt has been made yet."""
    attempt = delivery.attempts.order_by("-number").first()
    webhook = delivery.webhook
    if attempt is not None and attempt.request_body:
        body = attempt.request_body
    else:
        raw, _ = formats.render(
            webhook.format, delivery.event_type, delivery.event_payload,
            extra_body=webhook.extra_body,
        )
        body = raw.decode()
    with contextlib.suppress(ValueError):  # not JSON: shown as it is
        body = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    waited = timezone.now() - delivery.created_at
    return {
        "message": message,
        "delivery": delivery,
        # Nothing attempted for a while: say so rather than "Sending…" for ever.
        "no_worker": not delivery.is_finished and delivery.attempt_count == 0
        and waited > NO_WORKER_AFTER,
        "webhook": webhook,
        "attempt": attempt,
        "body": body,
        "kind": "response" if delivery.event_type.endswith("response") else "option",
    }
