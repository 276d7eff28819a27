"""The JSON of the management API. Field names are pinned (issue 5): the webhook form and the
API share them. Input schemas forbid unknown fields, so a misspelt field is an error rather
than silently ignored; the rules beyond types live in subscriptions/validation.py."""

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import ConfigDict, Field, StrictBool, StrictInt, StrictStr

from chatflows.models import Campaign, Interaction
from deliveries.models import Delivery
from subscriptions.models import Connector, Webhook
from subscriptions.services import KEY_GRACE_CHOICES


def _choices(choices) -> Any:
    return Literal[tuple(choices.values)]


Method = _choices(Webhook.Method)
Format = _choices(Webhook.Format)
Mode = _choices(Webhook.Mode)
RetryPolicy = _choices(Webhook.RetryPolicy)
WebhookStatus = _choices(Webhook.Status)
ConnectorKind = _choices(Connector.Kind)
DeliveryStatus = _choices(Delivery.Status)
Trigger = _choices(Delivery.Trigger)
GraceHours = Literal[KEY_GRACE_CHOICES]


def _drop_default(schema: dict) -> None:
    schema.pop("default", None)


def optional(**kwargs) -> Any:
    """A field that may be left out (PATCH) but, when given, must have its type (not null)."""
    return Field(default=None, json_schema_extra=_drop_default, **kwargs)


class Input(Schema):
    model_config = ConfigDict(extra="forbid")


class Error(Schema):
    field: str | None = Field(
        description="The field at fault, e.g. url or headers[2]; null when the whole request is."
    )
    message: str


class Errors(Schema):
    errors: list[Error]


class Page(Schema):
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )
    next: str | None = Field(description="The URL of the next page; null on the last page.")


# --- event types ----------------------------------------------------------------------------


class EventTypeOut(Schema):
    key: str
    label: str
    group: str
    description: str
    sample: dict[str, Any] = Field(description="A sample payload: what Send test event sends.")


class EventTypePage(Page):
    data: list[EventTypeOut]


# --- webhooks -------------------------------------------------------------------------------


class Header(Input):
    name: StrictStr
    value: StrictStr = ""


class WebhookOut(Schema):
    id: int
    name: str
    url: str
    method: Method
    format: Format
    topics: list[str]
    event_names: list[str]
    headers: list[Header]
    connector: int | None
    extra_body: dict[str, Any]
    mode: Mode
    batch_size: int
    batch_interval_seconds: int
    ordered: bool
    retry_policy: RetryPolicy
    max_attempts: int
    rate_limit_per_second: int | None
    timeout_seconds: int
    enabled: bool
    status: WebhookStatus
    disabled_reason: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class WebhookPage(Page):
    data: list[WebhookOut]


class WebhookFields(Input):
    """Every writable field, each optional: what PATCH takes."""

    name: StrictStr = optional()
    url: StrictStr = optional(description="http(s); may hold ${field} placeholders.")
    method: Method = optional()
    format: Format = optional()
    topics: list[StrictStr] = optional(
        description="Event type keys (GET /event-types), or system.<name>."
    )
    event_names: list[StrictStr] = optional(description="Custom event names (topic custom).")
    headers: list[Header] = optional(description="Replaces all custom headers.")
    connector: StrictInt | None = optional(description="A connector id, or null for none.")
    extra_body: dict[str, Any] = optional(description="Merged into every payload.")
    mode: Mode = optional()
    batch_size: StrictInt = optional()
    batch_interval_seconds: StrictInt = optional()
    ordered: StrictBool = optional()
    retry_policy: RetryPolicy = optional()
    max_attempts: StrictInt = optional()
    rate_limit_per_second: StrictInt | None = optional(description="null: no limit.")
    timeout_seconds: StrictInt = optional()
    enabled: StrictBool = optional()


class WebhookCreate(WebhookFields):
    """What POST takes: name, url and topics, the rest as the New webhook form starts."""

    name: StrictStr
    url: StrictStr
    topics: list[StrictStr]


class WebhookPatch(WebhookFields):
    pass


class KeyOut(Schema):
    key: str = Field(description="The current signing key (whsec_...).")
    previous_keys: list["PreviousKey"] = Field(
        description="Rolled keys still signing during their grace period."
    )


class PreviousKey(Schema):
    key: str
    expires_at: datetime


KeyOut.model_rebuild()


class RotateKeyIn(Input):
    grace_hours: GraceHours = Field(
        default=0, description="0: the old key stops at once; 24: it keeps signing for 24 h."
    )


class SendTestIn(Input):
    type: StrictStr = Field(description="One of the webhook's topics.")


class RecoverIn(Input):
    since: datetime = Field(
        description="Failed deliveries created at or after this time are sent again."
    )


class RecoverOut(Schema):
    recovered: int


# --- deliveries and attempts ------------------------------------------------------------------


class DeliveryOut(Schema):
    id: int
    message_id: str
    webhook: int
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    is_test: bool
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    created_at: datetime


class AttemptSummary(Schema):
    id: int
    delivery: int
    message_id: str
    number: int
    trigger: Trigger
    event_type: str
    started_at: datetime
    duration_ms: int
    succeeded: bool
    status_code: int | None
    error: str | None


class AttemptOut(AttemptSummary):
    request_method: str
    request_url: str
    request_headers: dict[str, Any]
    request_body: str
    response_headers: dict[str, Any]
    response_body: str
    response_truncated: bool


class AttemptPage(Page):
    data: list[AttemptSummary]


# --- connectors -------------------------------------------------------------------------------


class ConnectorOut(Schema):
    id: int
    name: str
    kind: ConnectorKind
    username: str = Field(description="Basic only.")
    header_name: str = Field(description="API key only.")
    created_at: datetime
    updated_at: datetime


class ConnectorPage(Page):
    data: list[ConnectorOut]


class ConnectorFields(Input):
    name: StrictStr = optional()
    kind: ConnectorKind = optional()
    # The connector form's boxes take at most 200 characters.
    username: StrictStr = optional(max_length=200, description="Basic only.")
    header_name: StrictStr = optional(
        max_length=200, description="API key only: the header carrying the key."
    )
    secret: StrictStr = optional(
        description="The password, token or key. Write-only: never returned. Leave it out to "
        "keep the current one."
    )


class ConnectorCreate(ConnectorFields):
    name: StrictStr
    kind: ConnectorKind


class ConnectorPatch(ConnectorFields):
    pass


# --- chatbot flows ----------------------------------------------------------------------------

Channel = _choices(Campaign.Channel)
CampaignStatus = _choices(Campaign.Status)
RedirectType = _choices(Interaction.RedirectType)


class CampaignOut(Schema):
    id: int = Field(description="The id in API paths (/chatflows/campaigns/{campaign_pk}).")
    campaign_id: str = Field(description="The campaign ID channels and webhooks use: 13010.")
    name: str
    channel: Channel
    status: CampaignStatus
    end_message: str
    fallback_message: str
    created_at: datetime
    updated_at: datetime


class CampaignPage(Page):
    data: list[CampaignOut]


class CampaignCreate(Input):
    campaign_id: StrictStr = Field(description="Up to 40 letters, digits, dashes or underscores.")
    name: StrictStr
    channel: Channel
    status: CampaignStatus = Field(default="active")


class InteractionOut(Schema):
    id: int
    is_welcome: bool = Field(description="The Welcome Message: where every chat starts.")
    parent: int | None = Field(description="The step whose menu lists this one.")
    label: str
    prompt: str
    keyword: int | None
    menu_text: str
    redirect_type: RedirectType
    redirect_to_interaction: int | None
    redirect_to_campaign: int | None
    webhook_toggle: bool
    answer_reply: str
    webhook_url: str | None = Field(description="The step's webhook URL; null when none.")
    webhook_header_names: list[str] = Field(
        description="The names of the webhook's custom headers (values are never returned)."
    )


class InteractionPage(Page):
    data: list[InteractionOut]


class InteractionCreate(Input):
    """A new option in a menu of the campaign: the fields of the dashboard's Add interaction
    form, with its rules and messages."""

    parent: StrictInt | None = Field(
        default=None, description="The id of the menu step; the Welcome Message when left out."
    )
    label: StrictStr
    keyword: StrictInt | None = Field(
        default=None,
        description="The number the user types; the menu's first free one when left out.",
    )
    menu_text: StrictStr = ""
    prompt: StrictStr = ""
    redirect_type: RedirectType
    redirect_to_interaction: StrictInt | None = Field(
        default=None, description="A step id of this campaign (Redirect Type interaction)."
    )
    redirect_to_campaign: StrictInt | None = Field(
        default=None, description="A campaign id of this workspace (Redirect Type campaign)."
    )
    webhook_toggle: StrictBool = False
    answer_reply: StrictStr = Field(
        default="", description="Sent after the answer (Redirect Type webhook only)."
    )
    webhook_url: StrictStr = ""
    webhook_headers: list[Header] = Field(default_factory=list)
    webhook_extra_body: dict[str, Any] = Field(default_factory=dict)
