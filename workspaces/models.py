import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from webhooks_site.crypto import EncryptedTextField, mask

CLIENT_TOKEN_PREFIX = "ct_"


def new_client_token() -> str:
    return CLIENT_TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Workspace(models.Model):
    """A customer of the product. Everything a user sees belongs to exactly one workspace."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    # The bearer token for the ingest API. Admins can reveal it, so it is stored encrypted;
    # the API looks requests up by its hash, never by decrypting every row.
    client_token = EncryptedTextField()
    client_token_hash = models.CharField(max_length=64, unique=True)
    client_token_rolled_at = models.DateTimeField(auto_now_add=True)
    # Policy: refuse plain-http webhook URLs at save.
    https_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.client_token:
            self.set_client_token()
        super().save(*args, **kwargs)

    def set_client_token(self, token: str | None = None) -> str:
        token = token or new_client_token()
        self.client_token = token
        self.client_token_hash = hash_token(token)
        return token

    @property
    def masked_client_token(self) -> str:
        return mask(self.client_token)

    @classmethod
    def for_client_token(cls, token: str):
        if not token:
            return None
        # The encrypted token itself is not loaded (nor decrypted) on every API request; it
        # is fetched if something asks for it.
        return (
            cls.objects.filter(client_token_hash=hash_token(token)).defer("client_token").first()
        )


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["workspace__name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user"),
        ]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


API_KEY_PREFIX = "hk_"
API_KEY_SHOWN_CHARS = 8  # "hk_" and five more: enough to tell a workspace's keys apart


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class ApiKey(models.Model):
    """A workspace admin key for the management API (/api/v1/), apart from the client token,
    which can only post events. The key is shown once, at creation; only its SHA-256 is kept,
    so neither a database dump nor an admin can read it back."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=API_KEY_SHOWN_CHARS)  # what pages show: "hk_AbCdE…"
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, workspace: Workspace, name: str, *, created_by=None) -> tuple["ApiKey", str]:
        """Create a key; returns (the row, the key). The key is never available again."""
        key = new_api_key()
        api_key = cls.objects.create(
            workspace=workspace,
            name=name,
            prefix=key[:API_KEY_SHOWN_CHARS],
            key_hash=hash_token(key),
            created_by=created_by,
        )
        return api_key, key

    @classmethod
    def for_key(cls, key: str):
        """The active key (with its workspace) a bearer token names, or None."""
        if not key or not key.startswith(API_KEY_PREFIX):
            return None
        return cls.objects.active().select_related("workspace").filter(
            key_hash=hash_token(key)
        ).first()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> None:
        """Stop the key at once (the row stays, so the audit log keeps naming it)."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
