from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from workspaces import services
from workspaces.access import get_workspace_for_admin, get_workspace_for_member, user_workspaces


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
