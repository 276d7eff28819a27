import hashlib
import secrets

from django.conf import settings
from django.db import models

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
        return cls.objects.filter(client_token_hash=hash_token(token)).first()


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
