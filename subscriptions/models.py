from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from deliveries import formats, retry
from deliveries.signing import generate_signing_key
from webhooks_site.crypto import EncryptedTextField, mask
from workspaces.models import Workspace

MAX_HEADERS = 20
MAX_URL_LENGTH = 2048
MAX_TIMEOUT_SECONDS = 30
BATCH_SIZE_RANGE = (1, 500)
BATCH_INTERVAL_RANGE = (1, 3600)
MAX_ATTEMPTS_RANGE = (1, 50)
RATE_LIMIT_RANGE = (1, 1000)


class EventType(models.Model):
    """The event catalog (loaded from subscriptions/catalog.py by a data migration)."""

    key = models.CharField(max_length=100, unique=True)
    label = models.CharField(max_length=100)
    group = models.CharField(max_length=50)
    description = models.TextField()
    sample = models.JSONField()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return self.key


class Connector(models.Model):
    """Reusable authentication for a workspace's webhooks (Basic, Bearer or API key)."""

    class Kind(models.TextChoices):
        BASIC = "basic", "Basic (user and password)"
        BEARER = "bearer", "Bearer token"
        API_KEY = "api_key", "API key (in a header)"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connectors")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    username = models.CharField(max_length=200, blank=True)  # Basic only
    header_name = models.CharField(max_length=100, blank=True)  # API key only
    # The password, token or key. Encrypted at rest and never shown again in full.
    secret = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # "CRM" and "crm" are one name to a user, as the forms and the API check it.
            models.UniqueConstraint(
                "workspace", Lower("name"), name="connector_unique_name_ci"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def masked_secret(self) -> str:
        return mask(self.secret)

    def auth_headers(self) -> dict[str, str]:
        """The header(s) this connector adds to every request."""
        import base64

        if self.kind == self.Kind.BASIC:
            raw = f"{self.username}:{self.secret}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        if self.kind == self.Kind.BEARER:
            return {"Authorization": f"Bearer {self.secret}"}
        return {self.header_name: self.secret}

    def auth_header_names(self) -> set[str]:
        """Names of the headers carrying this connector's secret (masked in logs)."""
        return {"authorization"} if self.kind != self.Kind.API_KEY else {self.header_name.lower()}


class WebhookQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)

    def managed_in_settings(self):
        """Webhooks the Settings > Webhooks screens and the API manage (not chatbot steps')."""
        return self.filter(source=Webhook.Source.SETTINGS)


class Webhook(models.Model):
    class Method(models.TextChoices):
        POST = "POST", "POST"
        GET = "GET", "GET (event fields as query parameters)"

    class Format(models.TextChoices):
        DEFAULT = formats.FORMAT_DEFAULT, "Default (JSON with a payload field)"
        RAW = formats.FORMAT_RAW, "Raw JSON (the event as is)"
        SLACK = formats.FORMAT_SLACK, "Slack (message for an incoming webhook)"
        XML = formats.FORMAT_XML, "XML"

    class Mode(models.TextChoices):
        SINGLE = "single", "One event per request"
        BATCHED = "batched", "Batched (a JSON array of events)"

    class RetryPolicy(models.TextChoices):
        EXPONENTIAL = retry.POLICY_DEFAULT, "Exponential backoff (1, 2, 4 … minutes, then hourly)"
        THREE_RETRIES = retry.POLICY_THREE_RETRIES, "3 retries (1, 2 and 4 minutes)"

    class Source(models.TextChoices):
        SETTINGS = "settings", "Settings > Webhooks"
        CHATFLOW = "chatflow", "A chatbot flow step"

    class Status(models.TextChoices):
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"
        AUTO_DISABLED = "auto_disabled", "Auto-disabled"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhooks")
    # A chatbot step's webhook is edited in its flow and fired only by the flow engine: the
    # webhook screens, the API and publish() leave it alone.
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SETTINGS)
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=MAX_URL_LENGTH)
    method = models.CharField(max_length=4, choices=Method.choices, default=Method.POST)
    format = models.CharField(max_length=10, choices=Format.choices, default=Format.DEFAULT)
    # Event type keys (see subscriptions/catalog.py); "custom" matches the names below.
    topics = models.JSONField(default=list)
    event_names = models.JSONField(default=list, blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.SINGLE)
    batch_size = models.PositiveSmallIntegerField(default=50)
    batch_interval_seconds = models.PositiveIntegerField(default=10)
    ordered = models.BooleanField(default=False)
    retry_policy = models.CharField(
        max_length=20, choices=RetryPolicy.choices, default=RetryPolicy.EXPONENTIAL
    )
    max_attempts = models.PositiveSmallIntegerField(default=retry.DEFAULT_MAX_ATTEMPTS)
    rate_limit_per_second = models.PositiveIntegerField(null=True, blank=True)
    timeout_seconds = models.PositiveSmallIntegerField(default=MAX_TIMEOUT_SECONDS)
    connector = models.ForeignKey(
        Connector, null=True, blank=True, on_delete=models.PROTECT, related_name="webhooks"
    )
    extra_body = models.JSONField(default=dict, blank=True)

    status = models.CharField(max_length=15, choices=Status.choices, default=Status.ENABLED)
    status_changed_at = models.DateTimeField(default=timezone.now)
    disabled_reason = models.CharField(max_length=300, blank=True)
    # Start of the current run of nothing-but-failures (auto-disable counts from here).
    failing_since = models.DateTimeField(null=True, blank=True)
    failure_warning_sent_at = models.DateTimeField(null=True, blank=True)
    # What the list shows, kept on the row it reads.
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_succeeded = models.BooleanField(null=True)

    # Held by the worker draining this webhook: one drain per webhook at a time, and a
    # worker that dies releases it when the time passes.
    drain_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # Names identify webhooks on screens; deleted ones free their name.
            models.UniqueConstraint(
                "workspace",
                models.functions.Lower("name"),
                condition=Q(deleted_at__isnull=True),
                name="webhook_unique_live_name",
            ),
        ]
        indexes = [
            # publish(): the live, enabled webhooks of one workspace.
            models.Index(fields=["workspace", "status"], name="webhook_fanout_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_enabled(self) -> bool:
        return self.status == self.Status.ENABLED and self.deleted_at is None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def matches(self, event_type: str, name: str = "") -> bool:
        """Does an event of this type (and custom name) go to this webhook?"""
        if event_type == "custom":
            return "custom" in self.topics and name in self.event_names
        return event_type in self.topics

    def header_dict(self) -> dict[str, str]:
        return {h.name: h.value for h in self.headers.all()}

    def current_key(self):
        return self.signing_keys.filter(expires_at__isnull=True).order_by("-created_at").first()

    def valid_keys(self, now=None) -> list[str]:
        """Keys that sign deliveries now: the current key first, then keys in their grace."""
        now = now or timezone.now()
        keys = self.signing_keys.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        return [k.secret for k in sorted(keys, key=lambda k: (k.expires_at is not None, k.pk))]


class WebhookHeader(models.Model):
    """A custom header sent with every request of a webhook (values may hold secrets)."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="headers")
    name = models.CharField(max_length=100)
    value = EncryptedTextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return self.name


class SigningKey(models.Model):
    """A webhook's signing secret. expires_at null = the current key; a rolled key keeps
    signing (as a second signature) until its expires_at."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="signing_keys")
    secret = EncryptedTextField(default=generate_signing_key)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook"],
                condition=Q(expires_at__isnull=True),
                name="signingkey_one_current_per_webhook",
            ),
        ]

    def __str__(self):
        return self.masked

    @property
    def masked(self) -> str:
        return mask(self.secret)

    def grace_left(self, now=None) -> timedelta | None:
        if self.expires_at is None:
            return None
        return self.expires_at - (now or timezone.now())
