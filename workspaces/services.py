from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from workspaces.models import Membership, Workspace


@transaction.atomic
def create_workspace(*, slug: str, name: str, admin=None) -> Workspace:
    workspace = Workspace.objects.create(slug=slug, name=name)
    if admin is not None:
        Membership.objects.create(workspace=workspace, user=admin, role=Membership.Role.ADMIN)
    return workspace


def add_member(workspace: Workspace, user, role: str = Membership.Role.MEMBER) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    return membership


def roll_client_token(workspace: Workspace) -> str:
    """Replace the ingest token; the old one stops working at once."""
    token = workspace.set_client_token()
    workspace.client_token_rolled_at = timezone.now()
    workspace.save(update_fields=["client_token", "client_token_hash", "client_token_rolled_at"])
    return token


def get_or_create_user(username: str, password: str | None = None):
    """Return (user, password_set) creating the user if needed; the password is set only when
    given or when the user is new (then generated, so the caller can print it)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if password is None and created:
        password = _random_password()
    if password is not None:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user, password


def _random_password() -> str:
    import secrets

    return secrets.token_urlsafe(12)
