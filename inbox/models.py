"""The per-workspace test inbox: a URL inside the product that accepts webhook requests and
keeps the newest ones, so a user can try webhooks without a server of their own."""

import json
import secrets

from django.db import models
from django.utils import timezone

from workspaces.models import Workspace

# How many requests an inbox keeps; older ones are pruned as new ones arrive.
KEEP_REQUESTS = 500
# Bodies over this are refused with 413 (the receive view never reads them).
MAX_BODY_BYTES = 1024 * 1024
# What is stored (and shown) of an accepted body; the rest is dropped and flagged.
MAX_STORED_BODY_BYTES = 256 * 1024


def new_inbox_token() -> str:
    # The URL is the secret: 32 random bytes, URL-safe base64 (43 characters).
    return secrets.token_urlsafe(32)


class Inbox(models.Model):
    class ResponseStatus(models.IntegerChoices):
        OK = 200, "200 OK"
        CREATED = 201, "201 Created"
        NO_CONTENT = 204, "204 No Content"
        BAD_REQUEST = 400, "400 Bad Request"
        UNAUTHORIZED = 401, "401 Unauthorized"
        NOT_FOUND = 404, "404 Not Found"
        GONE = 410, "410 Gone"
        TOO_MANY_REQUESTS = 429, "429 Too Many Requests"
        SERVER_ERROR = 500, "500 Internal Server Error"
        UNAVAILABLE = 503, "503 Service Unavailable"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="inbox")
    token = models.CharField(max_length=64, unique=True, default=new_inbox_token)
    response_status = models.PositiveSmallIntegerField(
        choices=ResponseStatus.choices, default=ResponseStatus.OK
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "inboxes"

    def __str__(self):
        return f"Test inbox of {self.workspace}"

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> "Inbox":
        """The workspace's inbox, created on first use (safe under concurrent first uses)."""
        inbox, _ = cls.objects.get_or_create(workspace=workspace)
        return inbox

    @property
    def answers_success(self) -> bool:
        return 200 <= self.response_status < 300


class InboxRequest(models.Model):
    """One request the inbox received, as it arrived. The signature check is computed when the
    request arrives, so a later key reset or webhook change does not rewrite history."""

    class SignatureState(models.TextChoices):
        VERIFIED = "verified", "Signature verified"
        # One scheme verified and the other did not (e.g. a replayed request whose
        # webhook-timestamp is out of tolerance, or a sender using only one scheme).
        PARTIAL = "partial", "Partly verified"
        MISMATCH = "mismatch", "Signature mismatch"
        UNSIGNED = "unsigned", "Unsigned"
        # The body was refused (too large) before it was read.
        NOT_CHECKED = "not_checked", "Not checked"

    inbox = models.ForeignKey(Inbox, on_delete=models.CASCADE, related_name="requests")
    received_at = models.DateTimeField(default=timezone.now)
    method = models.CharField(max_length=16)
    path = models.TextField()
    query_string = models.TextField(blank=True)
    # Header name -> value, as received, except credentials, which are masked before storing.
    headers = models.JSONField(default=dict)
    content_type = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    body_size = models.PositiveIntegerField(default=0)  # bytes received (or announced, if 413)
    body_truncated = models.BooleanField(default=False)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    signature_state = models.CharField(max_length=12, choices=SignatureState.choices)
    # One entry per live webhook of the workspace when the request arrived:
    # {"webhook_id", "webhook_name", "standard": bool, "hex": bool}. Empty when unsigned.
    signature_check = models.JSONField(default=list, blank=True)
    answered_status = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            # The dashboard list (newest first) and prune_requests(), on every receive.
            models.Index(fields=["inbox", "-received_at"], name="inboxrequest_recent_idx"),
        ]

    def __str__(self):
        return f"{self.method} {self.relative_path}"

    @property
    def verified_by(self) -> str:
        """Name of the webhook whose key verified this request (both schemes first, then one)."""
        for entry in self.signature_check:
            if entry.get("standard") and entry.get("hex"):
                return entry.get("webhook_name", "")
        for entry in self.signature_check:
            if entry.get("standard") or entry.get("hex"):
                return entry.get("webhook_name", "")
        return ""

    @property
    def relative_path(self) -> str:
        """The path below the inbox's own URL ("/" for the URL itself): what the list shows,
        so the token (the inbox's secret) is not repeated on every row."""
        parts = self.path.split("/", 3)  # "", "inbox", token, rest
        if len(parts) < 3 or parts[1] != "inbox":
            return self.path
        return "/" + (parts[3] if len(parts) == 4 else "")

    @property
    def answered_success(self) -> bool:
        return 200 <= self.answered_status < 300

    @property
    def pretty_body(self) -> str:
        """The body for reading: JSON re-indented, anything else as received."""
        if not self.body or self.body_truncated:
            return self.body
        try:
            return json.dumps(json.loads(self.body), indent=2, ensure_ascii=False)
        except ValueError:
            return self.body

    @property
    def is_json(self) -> bool:
        return "json" in self.content_type.lower()
