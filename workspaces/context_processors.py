from workspaces.access import user_workspaces


def current_workspace(request):
    """The workspace being viewed, the user's role in it, and the switcher's list."""
    workspace = getattr(request, "workspace", None)
    membership = getattr(request, "membership", None)
    user = getattr(request, "user", None)
    return {
        "workspace": workspace,
        "membership": membership,
        "is_workspace_admin": bool(membership and membership.is_admin),
        "user_workspaces": (
            list(user_workspaces(user)) if user is not None and user.is_authenticated else []
        ),
    }
