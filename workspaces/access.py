"""Loading a workspace for the current user.

Non-members get 404 for everything in a workspace, so a URL never tells an outsider that a
workspace or object exists. Members who are not admins may read but not change: they get
403, which leaks nothing they cannot already see.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from workspaces.models import Membership, Workspace


def get_workspace_for_member(request, slug: str) -> Workspace:
    membership = (
        Membership.objects.select_related("workspace")
        .filter(workspace__slug=slug, user_id=request.user.pk)
        .first()
    )
    if membership is None:
        raise Http404("No such workspace")
    request.workspace = membership.workspace
    request.membership = membership
    return membership.workspace


def get_workspace_for_admin(request, slug: str) -> Workspace:
    workspace = get_workspace_for_member(request, slug)
    if not request.membership.is_admin:
        raise PermissionDenied("Only workspace admins can do this.")
    return workspace


def user_workspaces(user):
    return Workspace.objects.filter(memberships__user=user).order_by("name")
