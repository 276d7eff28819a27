from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from subscriptions.models import Webhook
from workspaces import services
from workspaces.access import get_workspace_for_admin, get_workspace_for_member, user_workspaces
from workspaces.forms import WorkspaceSettingsForm
from workspaces.models import Workspace


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


@login_required
def access_keys(request, slug):
    workspace = get_workspace_for_admin(request, slug)
    return render(
        request,
        "workspaces/access_keys.html",
        {"workspace": workspace, "revealed_token": None},
    )


@login_required
@require_POST
def reveal_client_token(request, slug):
    """Reveal is a POST so the token never sits in a URL, a log line or the browser history."""
    workspace = get_workspace_for_admin(request, slug)
    if request.htmx:
        return render(
            request, "workspaces/_client_token_value.html", {"token": workspace.client_token}
        )
    return render(
        request,
        "workspaces/access_keys.html",
        {"workspace": workspace, "revealed_token": workspace.client_token},
    )


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
