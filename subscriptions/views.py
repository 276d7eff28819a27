"""Settings > Integrations: webhooks and connectors.

Every view loads the workspace through workspaces.access first (outsiders get 404 before
anything else happens, members get 403 on changes) and fetches objects filtered by that
workspace, so a valid pk of another workspace is a 404 too.
"""

from datetime import UTC

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from deliveries import recovery
from deliveries.services import success_rates
from subscriptions import services
from subscriptions.forms import WEBHOOK_FIELDS, ConnectorForm, WebhookForm, describe_policy
from subscriptions.models import Connector, Webhook
from webhooks_site.crypto import mask
from workspaces.access import get_workspace_for_admin, get_workspace_for_member

REACHABILITY_TIMEOUT = 5  # seconds; the check runs while the admin waits for the page


# --- access helpers ---------------------------------------------------------------------------


def _get_webhook(workspace, pk, *, deleted=False) -> Webhook:
    webhooks = Webhook.objects.deleted() if deleted else Webhook.objects.live()
    webhooks = webhooks.managed_in_settings().select_related("connector")
    webhook = get_object_or_404(webhooks, workspace=workspace, pk=pk)
    webhook.workspace = workspace  # the very object the access check loaded
    return webhook


def get_webhook_for_member(request, slug, pk) -> Webhook:
    """A live webhook of the workspace: 404 to outsiders and for other workspaces' pks."""
    return _get_webhook(get_workspace_for_member(request, slug), pk)


def get_webhook_for_admin(request, slug, pk, *, deleted=False) -> Webhook:
    """As above, and 403 to members. ``deleted=True`` finds only deleted webhooks."""
    return _get_webhook(get_workspace_for_admin(request, slug), pk, deleted=deleted)


def get_connector_for_admin(request, slug, pk) -> Connector:
    workspace = get_workspace_for_admin(request, slug)
    connector = get_object_or_404(Connector, workspace=workspace, pk=pk)
    connector.workspace = workspace
    return connector


# --- webhooks ---------------------------------------------------------------------------------


def with_success_rates(webhooks):
    """Attach each webhook's 24 h success rate (one grouped query for the whole list)."""
    rates = success_rates([w.pk for w in webhooks])
    for webhook in webhooks:
        webhook.success_rate = rates.get(webhook.pk)
    return webhooks


@login_required
def webhook_list(request, slug):
    workspace = get_workspace_for_member(request, slug)
    webhooks = workspace.webhooks.live().managed_in_settings().order_by(Lower("name"), "pk")
    webhooks = with_success_rates(list(webhooks))
    return render(
        request,
        "subscriptions/webhook_list.html",
        {
            "workspace": workspace,
            "webhooks": webhooks,
            "deleted_count": workspace.webhooks.deleted().managed_in_settings().count(),
        },
    )


@login_required
def webhook_form(request, slug, pk=None):
    """New webhook (pk None) and edit, one view and one template. Members may look at an
    existing webhook's settings (read-only); only admins create and save."""
    if pk is None:
        workspace, webhook = get_workspace_for_admin(request, slug), None
    elif request.method == "POST":
        webhook = get_webhook_for_admin(request, slug, pk)
        workspace = webhook.workspace
    else:
        webhook = get_webhook_for_member(request, slug, pk)
        workspace = webhook.workspace

    if request.method != "POST":
        form = WebhookForm(workspace=workspace, instance=webhook)
        return _render_webhook_form(request, form, webhook)

    form = WebhookForm(request.POST, workspace=workspace, instance=webhook)
    if form.is_editing_rows:
        return _render_webhook_form(request, form.without_errors(), webhook)
    if not form.is_valid():
        return _render_webhook_form(request, form, webhook, status=400)

    creating = webhook is None
    webhook = form.instance
    for field in WEBHOOK_FIELDS:
        setattr(webhook, field, form.cleaned_data[field])
    try:
        with transaction.atomic():
            services.save_webhook(webhook, form.cleaned_data["headers"])
            services.set_status_from_checkbox(webhook, form.cleaned_data["enabled"])
    except IntegrityError:
        # Two saves raced for one name; the form's check ran before the other committed.
        if creating:
            webhook.pk = None
        form.add_error("name", "A webhook with this name exists already: pick another name.")
        return _render_webhook_form(request, form, None if creating else webhook, status=400)

    if creating:
        messages.success(request, f"Webhook “{webhook.name}” created. Its signing key is below.")
    else:
        messages.success(request, f"Webhook “{webhook.name}” saved.")
    _report_reachability(request, webhook)
    return redirect("webhook_edit", slug=slug, pk=webhook.pk)


def _report_reachability(request, webhook):
    """The GET eSputnik runs after a save: its result is a message, never a reason to refuse."""
    result = services.probe(webhook, timeout=REACHABILITY_TIMEOUT)
    if result.ok:
        messages.success(
            request,
            f"Reachability check: {result.url} answered HTTP {result.status_code} "
            f"in {result.duration_ms} ms.",
        )
    elif result.answered:
        messages.info(
            request,
            f"Reachability check: {result.url} answered HTTP {result.status_code} in "
            f"{result.duration_ms} ms. It is reachable; deliveries count as successful only "
            "when your endpoint answers them with a 2xx status.",
        )
    else:
        messages.warning(
            request,
            f"Reachability check failed: {result.error}. The webhook is saved; deliveries "
            "will be retried until your endpoint answers.",
        )


def _render_webhook_form(request, form, webhook, *, status=200, revealed_key=None):
    workspace = form.workspace
    read_only = not request.membership.is_admin
    if read_only:
        # Members see the settings, not the credentials custom headers often carry (as with
        # the signing key and the connectors' secrets).
        for row in form.header_rows:
            row["value"] = mask(row["value"])
    keys = []
    if webhook is not None:
        now = timezone.now()
        keys = [k for k in webhook.signing_keys.all() if k.expires_at is None or k.expires_at > now]
    return render(
        request,
        "subscriptions/webhook_form.html",
        {
            "workspace": workspace,
            "webhook": webhook,
            "form": form,
            "read_only": read_only,
            "current_key": next((k for k in keys if k.expires_at is None), None),
            "grace_keys": [k for k in keys if k.expires_at is not None],
            "revealed_key": revealed_key,
            "has_connectors": form.fields["connector"].queryset.exists(),
        },
        status=status,
    )


@login_required
@require_GET
def webhook_header_row(request, slug):
    """One empty header row, appended by the form's "Add header" button (htmx)."""
    get_workspace_for_admin(request, slug)
    return render(request, "subscriptions/_header_row.html", {"row": {"name": "", "value": ""}})


@login_required
@require_GET
def webhook_retry_policy(request, slug):
    """The retry sentence for the policy boxes' current values (htmx, as they change)."""
    get_workspace_for_member(request, slug)
    sentence = describe_policy(request.GET.get("retry_policy"), request.GET.get("max_attempts"))
    return HttpResponse(sentence, content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def webhook_toggle(request, slug, pk):
    webhook = get_webhook_for_admin(request, slug, pk)
    was_auto_disabled = webhook.status == Webhook.Status.AUTO_DISABLED
    services.set_enabled(webhook, not webhook.is_enabled)
    # Back on after an auto-disable: offer to replay what failed while it was down.
    replay_note = recovery.replay_message(webhook, was_auto_disabled)
    if replay_note:
        messages.info(request, replay_note)
        if request.htmx:  # a full page load, so the message (and its link) shows
            return HttpResponse(headers={"HX-Redirect": reverse("webhook_list", args=[slug])})
    if request.htmx:
        return render(
            request,
            "subscriptions/_webhook_row.html",
            {"workspace": webhook.workspace, "webhook": with_success_rates([webhook])[0]},
        )
    state = "enabled" if webhook.is_enabled else "disabled"
    messages.success(request, f"Webhook “{webhook.name}” {state}.")
    return redirect("webhook_list", slug=slug)


@login_required
def webhook_delete(request, slug, pk):
    webhook = get_webhook_for_admin(request, slug, pk)
    if request.method == "POST":
        services.soft_delete(webhook)
        messages.success(
            request,
            f"Webhook “{webhook.name}” deleted. It gets no more events; you can restore it "
            "from Deleted webhooks.",
        )
        return redirect("webhook_list", slug=slug)
    return render(
        request,
        "subscriptions/webhook_delete.html",
        {"workspace": webhook.workspace, "webhook": webhook},
    )


@login_required
def webhook_deleted_list(request, slug):
    workspace = get_workspace_for_member(request, slug)
    return render(
        request,
        "subscriptions/webhook_deleted_list.html",
        {
            "workspace": workspace,
            "webhooks": workspace.webhooks.deleted().managed_in_settings().order_by("-deleted_at"),
        },
    )


@login_required
@require_POST
def webhook_restore(request, slug, pk):
    webhook = get_webhook_for_admin(request, slug, pk, deleted=True)
    try:
        services.restore(webhook)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("webhook_deleted_list", slug=slug)
    messages.success(
        request,
        f"Webhook “{webhook.name}” restored. It is disabled: switch it on when your endpoint "
        "is ready.",
    )
    return redirect("webhook_list", slug=slug)


@login_required
@require_POST
def webhook_test_connection(request, slug, pk):
    """A GET to the webhook's URL, shown in place (htmx) or on its own page. Stores nothing."""
    webhook = get_webhook_for_admin(request, slug, pk)
    result = services.probe(webhook, timeout=webhook.timeout_seconds)
    context = {"workspace": webhook.workspace, "webhook": webhook, "result": result}
    if request.htmx:
        return render(request, "subscriptions/_probe_result.html", context)
    return render(request, "subscriptions/webhook_test_connection.html", context)


@login_required
@require_POST
def webhook_reveal_key(request, slug, pk):
    """A POST, so the key never sits in a URL, a log line or the browser history."""
    webhook = get_webhook_for_admin(request, slug, pk)
    key = webhook.current_key()
    if request.htmx:
        return render(
            request, "subscriptions/_signing_key_value.html", {"key": key.secret if key else ""}
        )
    form = WebhookForm(workspace=webhook.workspace, instance=webhook)
    return _render_webhook_form(request, form, webhook, revealed_key=key.secret if key else None)


@login_required
def webhook_reset_key(request, slug, pk):
    webhook = get_webhook_for_admin(request, slug, pk)
    if request.method == "POST":
        grace = 24 if request.POST.get("grace") == "24" else 0
        services.rotate_signing_key(webhook, grace_hours=grace)
        if grace:
            old = webhook.signing_keys.exclude(expires_at=None).order_by("-expires_at").first()
            until = old.expires_at.astimezone(UTC).strftime("%-d %b %Y, %H:%M") if old else ""
            messages.success(
                request,
                f"A new signing key is active. The previous key keeps signing until {until} UTC: "
                "switch your endpoint to the new key before then.",
            )
        else:
            messages.success(
                request, "A new signing key is active. The previous key stopped working."
            )
        return redirect("webhook_edit", slug=slug, pk=pk)
    return render(
        request,
        "subscriptions/webhook_reset_key.html",
        {"workspace": webhook.workspace, "webhook": webhook},
    )


# --- connectors -------------------------------------------------------------------------------


@login_required
def connector_list(request, slug):
    workspace = get_workspace_for_member(request, slug)
    connectors = workspace.connectors.annotate(
        used_by=Count("webhooks", filter=Q(webhooks__deleted_at__isnull=True))
    ).order_by(Lower("name"), "pk")
    return render(
        request,
        "subscriptions/connector_list.html",
        {"workspace": workspace, "connectors": connectors},
    )


@login_required
def connector_form(request, slug, pk=None):
    if pk is None:
        workspace, connector = get_workspace_for_admin(request, slug), None
    else:
        connector = get_connector_for_admin(request, slug, pk)
        workspace = connector.workspace
    form = ConnectorForm(
        request.POST if request.method == "POST" else None,
        workspace=workspace,
        instance=connector,
    )
    if request.method == "POST" and form.is_valid():
        connector = form.instance
        connector.name = form.cleaned_data["name"]
        connector.kind = form.cleaned_data["kind"]
        connector.username = form.cleaned_data["username"]
        connector.header_name = form.cleaned_data["header_name"]
        if form.cleaned_data["secret"]:
            connector.secret = form.cleaned_data["secret"]
        creating = connector.pk is None
        try:
            connector.save()
        except IntegrityError:
            form.add_error("name", "A connector with this name exists already: pick another name.")
        else:
            verb = "created" if creating else "saved"
            messages.success(request, f"Connector “{connector.name}” {verb}.")
            return redirect(_after_connector_save(request, slug))
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "subscriptions/connector_form.html",
        {
            "workspace": workspace,
            "connector": connector,
            "form": form,
            "next": _safe_next(request),
            "used_by": list(connector.webhooks.live().order_by("name")) if connector else [],
        },
        status=status,
    )


def _safe_next(request) -> str:
    """Where "New connector" was opened from, when it is one of our own pages."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    safe = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if safe else ""


def _after_connector_save(request, slug) -> str:
    return _safe_next(request) or reverse("connector_list", args=[slug])


@login_required
def connector_delete(request, slug, pk):
    connector = get_connector_for_admin(request, slug, pk)
    used_by = list(connector.webhooks.live().order_by("name"))
    if request.method == "POST":
        try:
            services.delete_connector(connector)
        except ValueError as exc:
            messages.error(request, str(exc))
            return redirect("connector_edit", slug=slug, pk=pk)
        messages.success(request, f"Connector “{connector.name}” deleted.")
        return redirect("connector_list", slug=slug)
    return render(
        request,
        "subscriptions/connector_delete.html",
        {"workspace": connector.workspace, "connector": connector, "used_by": used_by},
    )
