from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from subscriptions.models import Webhook
from workspaces import services
from workspaces.access import get_workspace_for_admin, get_workspace_for_member, user_workspaces
from workspaces.forms import WorkspaceSettingsForm
from workspaces.models import ApiKey, Workspace


@login_required
def home(request):
    """Land on the first workspace the user belongs to."""
    workspace = user_workspaces(request.user).first()
    if workspace is None:
        return render(request, "workspaces/no_workspace.html")
    return redirect("workspace_dashboard", slug=workspace.slug)


@login_required
def dashboard(request, slug):
    workspace = get_workspace_for_member(request, slug)
    return render(request, "workspaces/dashboard.html", {"workspace": workspace})


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        error_messages={"required": "Name the key after what uses it, such as “Deploy script”."},
    )


def _access_keys_page(request, workspace, *, status=200, **context):
    return render(
        request,
        "workspaces/access_keys.html",
        {
            "workspace": workspace,
            "revealed_token": None,
            "api_keys": workspace.api_keys.select_related("created_by"),
            "key_form": ApiKeyForm(),
            **context,
        },
        status=status,
    )


@login_required
def access_keys(request, slug):
    workspace = get_workspace_for_admin(request, slug)
    return _access_keys_page(request, workspace)


@login_required
@require_POST
def create_api_key(request, slug):
    """The new key is rendered in this response, not after a redirect: it is shown this once
    and never stored anywhere, not even in the session."""
    workspace = get_workspace_for_admin(request, slug)
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _access_keys_page(request, workspace, key_form=form, status=400)
    api_key, key = ApiKey.issue(workspace, form.cleaned_data["name"], created_by=request.user)
    return _access_keys_page(request, workspace, new_key=key, new_api_key=api_key)


@login_required
def revoke_api_key(request, slug, pk):
    workspace = get_workspace_for_admin(request, slug)
    api_key = get_object_or_404(ApiKey.objects.active(), workspace=workspace, pk=pk)
    if request.method == "POST":
        api_key.revoke()
        messages.success(
            request,
            f"API key “{api_key.name}” revoked: calls made with it now get 401.",
        )
        return redirect("access_keys", slug=slug)
    return render(
        request, "workspaces/revoke_api_key.html", {"workspace": workspace, "api_key": api_key}
    )


API_ACTIVITY_PAGE = 50


@login_required
def api_activity(request, slug):
    """The management API's audit log: every call made with the workspace's keys, newest
    first, in pages of 50 (keyset on time and id, ?before=<time>_<id>)."""
    from api.models import ApiCall

    workspace = get_workspace_for_admin(request, slug)
    calls = ApiCall.objects.filter(workspace=workspace).select_related("api_key")
    key_id = request.GET.get("key", "")
    if key_id.isdigit():
        calls = calls.filter(api_key_id=int(key_id))
    before = _parse_before(request.GET.get("before", ""))
    if before:
        moment, pk = before
        calls = calls.filter(Q(created_at__lt=moment) | Q(created_at=moment, pk__lt=pk))
    rows = list(calls.order_by("-created_at", "-pk")[: API_ACTIVITY_PAGE + 1])
    next_before = None
    if len(rows) > API_ACTIVITY_PAGE:
        rows = rows[:API_ACTIVITY_PAGE]
        next_before = f"{rows[-1].created_at.isoformat()}_{rows[-1].pk}"
    return render(
        request,
        "workspaces/api_activity.html",
        {
            "workspace": workspace,
            "calls": rows,
            "next_before": next_before,
            "key_filter": key_id if key_id.isdigit() else "",
            "api_keys": workspace.api_keys.all(),
        },
    )


def _parse_before(value: str):
    moment, _, pk = value.rpartition("_")
    parsed = parse_datetime(moment) if moment else None
    if parsed is None or not pk.isdigit():
        return None
    return parsed, int(pk)


@login_required
@require_POST
def reveal_client_token(request, slug):
    """Reveal is a POST so the token never sits in a URL, a log line or the browser history."""
    workspace = get_workspace_for_admin(request, slug)
    if request.htmx:
        return render(
            request, "workspaces/_client_token_value.html", {"token": workspace.client_token}
        )
    return _access_keys_page(request, workspace, revealed_token=workspace.client_token)


@login_required
def roll_client_token(request, slug):
    workspace = get_workspace_for_admin(request, slug)
    if request.method == "POST":
        services.roll_client_token(workspace)
        messages.success(
            request,
            "A new client token is active. The old token stopped working: update the products "
            "that post events.",
        )
        return redirect("access_keys", slug=slug)
    return render(request, "workspaces/roll_client_token.html", {"workspace": workspace})


@login_required
def workspace_settings(request, slug):
    """Settings > Workspaces > General: the name and the "HTTPS only" policy. Turning the policy
    on changes no webhook: the ones still on http:// are listed, and keep working until they
    are next saved (which then requires https://)."""
    workspace = get_workspace_for_admin(request, slug)
    was_https_only = workspace.https_only
    # A copy, so a rejected name never shows up in the page's own header.
    editable = Workspace.objects.get(pk=workspace.pk)
    form = WorkspaceSettingsForm(request.POST or None, instance=editable)
    if request.method == "POST" and form.is_valid():
        workspace = form.save()
        messages.success(request, "Workspace settings saved.")
        http_webhooks = _http_webhooks(workspace)
        if workspace.https_only and not was_https_only and http_webhooks:
            messages.warning(
                request,
                "HTTPS only is on. These webhooks still use http:// and were not changed: "
                f"{', '.join(w.name for w in http_webhooks)}. Saving them will require an "
                "https:// URL.",
            )
        return redirect("workspace_settings", slug=slug)
    return render(
        request,
        "workspaces/settings.html",
        {
            "workspace": workspace,
            "form": form,
            "http_webhooks": _http_webhooks(workspace),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _http_webhooks(workspace) -> list[Webhook]:
    return list(
        Webhook.objects.live()
        .filter(workspace=workspace, url__istartswith="http://")
        .order_by("name")
        .only("pk", "name")
    )
