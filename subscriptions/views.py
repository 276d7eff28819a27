from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from workspaces.access import get_workspace_for_member


@login_required
def webhook_list(request, slug):
    workspace = get_workspace_for_member(request, slug)
    return render(request, "subscriptions/webhook_list.html", {"workspace": workspace})
