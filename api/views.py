"""The management API: everything an admin does on the screens, from code.

``/api/v1/`` with ``Authorization: Bearer <admin API key>``; JSON in and out; lists paginated
by cursor; every failure as ``{"errors": [{"field", "message"}]}``. The rules and messages are
the forms' own (subscriptions/validation.py), the actions and queries the screens' own
(subscriptions/services.py, deliveries/services.py, deliveries/logs.py, deliveries/recovery.py).
Objects of another workspace are 404s, like objects that do not exist.
"""

from datetime import UTC, datetime
from typing import Literal

from django.db import IntegrityError, transaction
from django.utils import timezone
from ninja import NinjaAPI, Path, Query, Status
from ninja.errors import ValidationError
from ninja.parser import Parser

from api import schemas
from api.auth import ApiKeyAuth, PerKeyRateThrottle, audit
from api.errors import ApiError, check_text, install_handlers, not_found
from api.pagination import BAD_CURSOR, DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page, page_of
from deliveries import logs, recovery
from deliveries import services as delivery_services
from deliveries.api import parse_json
from deliveries.models import Attempt, Delivery
from subscriptions import catalog, validation
from subscriptions import services as webhook_services
from subscriptions.forms import WEBHOOK_FIELDS
from subscriptions.models import Connector, Webhook

MAX_ID = 2**63 - 1  # a bigger id cannot exist, and the database would refuse to compare it

DESCRIPTION = """
Manage a workspace's webhooks, connectors, test events and delivery logs from code.

**Authentication**: `Authorization: Bearer <admin API key>`. Admins create keys under
Settings > Workspaces > Access keys (or `python manage.py createapikey <workspace> --name NAME`);
a key is shown once. The workspace's client token only posts events (`POST /api/v1/events`)
and gets a 401 here.

**Lists** answer `{"data": [...], "next_cursor", "next"}`: pass `next_cursor` back as
`?cursor=` (with the same filters) until it is null. `limit` is 1 to 100 (default 20).

**Errors** always answer `{"errors": [{"field": "url", "message": "..."}]}` with the messages
the dashboard's forms show for the same input (`field` is null when the whole request is at
fault). 400 bad input, 401 no valid key, 404 not found in this workspace, 409 conflicts with
the current state, 429 over the per-key rate limit (see `Retry-After`).

Every call is recorded in the workspace's API activity log, which admins read in the dashboard.
"""


class StrictJSONParser(Parser):
    """The ingest API's JSON rules: no NaN or Infinity, bounded nesting; says what is wrong."""

    def parse_body(self, request):
        data = parse_json(request.body, check_strings=False)
        check_text(data)
        return data


class HookshotAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__

    def validation_error_from_error_contexts(self, error_contexts) -> ValidationError:
        """django-ninja 1.7's own, less the line that drops the refused value: api.errors hands
        that value to the rule the form applies to the same badly typed input. (It reads
        ninja's param-model attributes: check it when upgrading django-ninja.)"""
        errors = []
        for context in error_contexts:
            model = context.model
            for error in context.pydantic_validation_error.errors(include_url=False):
                error["loc"] = (model.__ninja_param_source__,) + (
                    model.__ninja_flatten_map_reverse__.get(error["loc"], error["loc"])
                )
                ctx = error.get("ctx")
                if ctx and isinstance(ctx.get("error"), Exception):
                    ctx["error"] = str(ctx["error"])
                errors.append(dict(error))
        return ValidationError(errors)


api = HookshotAPI(
    title="Hookshot management API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=ApiKeyAuth(),
    throttle=PerKeyRateThrottle(),
    parser=StrictJSONParser(),
)
install_handlers(api)
api.add_decorator(audit, mode="view")


def responses(ok: int, schema, *codes: int) -> dict:
    """The documented answers: ``ok`` and the error shape for 400, 401, 429 and ``codes``."""
    return {ok: schema, frozenset({400, 401, 429, *codes}): schemas.Errors}


def IdPath(description: str):  # noqa: N802 -- reads like the Path() it wraps
    return Path(..., ge=1, le=MAX_ID, description=description)


Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Rows per page, 1 to 100.")
Cursor = Query(None, description="The next_cursor of the previous page.")
Deleted = Query(False, description="true: the deleted webhooks, which can be restored.")
ResultFilter = Query(None, description="succeeded: 2xx answers only; failed: the others.")
EventTypeFilter = Query(None, description="Only attempts of this event type.")
Since = Query(None, description="Attempts started at or after this time.")
Until = Query(None, description="Attempts started at or before this time.")
MessageIdFilter = Query(None, description="Only the attempts of this delivery (msg_...).")


# --- access helpers ---------------------------------------------------------------------------


def get_webhook(request, webhook_id: int, *, deleted: bool | None = False) -> Webhook:
    """A webhook of the key's workspace: live ones (deleted=False), deleted ones (True) or
    either (None). Another workspace's id is a 404, like one that never existed."""
    workspace = request.auth.workspace
    webhooks = Webhook.objects.filter(workspace=workspace)
    if deleted is not None:
        webhooks = webhooks.filter(deleted_at__isnull=not deleted)
    webhook = webhooks.select_related("connector").filter(pk=webhook_id).first()
    if webhook is None:
        raise not_found("webhook")
    webhook.workspace = workspace
    return webhook


def get_delivery(request, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.filter(
        workspace=request.auth.workspace, pk=delivery_id, webhook__deleted_at__isnull=True
    ).first()
    if delivery is None:
        raise not_found("delivery")
    return delivery


def get_connector(request, connector_id: int) -> Connector:
    connector = Connector.objects.filter(workspace=request.auth.workspace, pk=connector_id).first()
    if connector is None:
        raise not_found("connector")
    return connector


def bad_request(errors: list[dict]) -> ApiError:
    return ApiError(400, errors=errors)


def cursor_id(value) -> int:
    """An id read back from a cursor (a client may have crafted it)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise ApiError(400, BAD_CURSOR, "cursor")
    return value


def query_text(value: str | None, field: str) -> str | None:
    if value is not None:
        check_text(value, field)
    return value


def _aware(moment: datetime, field: str) -> datetime:
    """A time as given, in UTC when it names no zone; 400 when it cannot be one in UTC."""
    try:
        return (moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise bad_request(
            [{"field": field, "message": "Enter a date and time between the years 1 and 9999."}]
        )


# --- event types ------------------------------------------------------------------------------


@api.get("/event-types", response=responses(200, schemas.EventTypePage), tags=["Event types"])
def list_event_types(request, cursor: str | None = Cursor, limit: int = Limit):
    """The event catalog: every topic a webhook can subscribe to, with a sample payload."""
    after = decode_cursor(cursor, length=1)
    start = 0 if after is None else cursor_id(after[0]) + 1
    indexed = list(enumerate(catalog.EVENT_TYPES))[start : start + limit + 1]
    return page(
        request,
        indexed,
        limit,
        sort_key=lambda row: [row[0]],
        serialize=lambda row: {
            "key": row[1].key,
            "label": row[1].label,
            "group": row[1].group,
            "description": row[1].description,
            "sample": row[1].sample(),
        },
    )


# --- webhooks ---------------------------------------------------------------------------------


def webhook_json(webhook: Webhook) -> dict:
    return {
        "id": webhook.pk,
        "name": webhook.name,
        "url": webhook.url,
        "method": webhook.method,
        "format": webhook.format,
        "topics": webhook.topics,
        "event_names": webhook.event_names,
        "headers": [{"name": h.name, "value": h.value} for h in webhook.headers.all()],
        "connector": webhook.connector_id,
        "extra_body": webhook.extra_body,
        "mode": webhook.mode,
        "batch_size": webhook.batch_size,
        "batch_interval_seconds": webhook.batch_interval_seconds,
        "ordered": webhook.ordered,
        "retry_policy": webhook.retry_policy,
        "max_attempts": webhook.max_attempts,
        "rate_limit_per_second": webhook.rate_limit_per_second,
        "timeout_seconds": webhook.timeout_seconds,
        "enabled": webhook.status == Webhook.Status.ENABLED,
        "status": webhook.status,
        "disabled_reason": webhook.disabled_reason,
        "created_at": webhook.created_at,
        "updated_at": webhook.updated_at,
        "deleted_at": webhook.deleted_at,
    }


def webhook_values(webhook: Webhook) -> dict:
    """A webhook's writable fields as the API takes them (a new one: the form's defaults)."""
    values = {field: getattr(webhook, field) for field in WEBHOOK_FIELDS}
    values["connector"] = webhook.connector_id
    values["topics"] = list(webhook.topics)
    values["event_names"] = list(webhook.event_names)
    values["headers"] = [(h.name, h.value) for h in webhook.headers.all()] if webhook.pk else []
    return values


def save_webhook(request, webhook: Webhook, changes: dict) -> Webhook:
    """Apply ``changes`` (the body's fields) to ``webhook`` and save it when the whole webhook
    follows the rules, exactly as the New webhook / Edit form does; 400 with every problem
    otherwise (nothing saved)."""
    workspace = request.auth.workspace
    creating = webhook.pk is None
    enabled = changes.pop("enabled", True if creating else None)
    data = webhook_values(webhook)
    data.update(changes)
    if "headers" in changes:
        data["headers"] = [
            (h["name"].strip(), h.get("value", "").strip()) for h in changes["headers"]
        ]
    data["topics"] = validation.clean_list(data["topics"])
    data["event_names"] = validation.clean_list(data["event_names"])

    errors: list[dict] = []
    connector_id = data["connector"]
    if connector_id is not None:
        data["connector"] = (
            Connector.objects.filter(workspace=workspace, pk=connector_id).first()
            if 0 < connector_id <= MAX_ID
            else None
        )
        if data["connector"] is None:
            errors.append({"field": "connector", "message": validation.UNKNOWN_CONNECTOR_MESSAGE})
            del data["connector"]
    topic_errors = validation.topic_key_problems(data["topics"])
    errors += [{"field": "topics", "message": message} for message in topic_errors]

    problems = validation.check_webhook(
        data, workspace=workspace, instance=webhook, check_topics=not topic_errors
    )
    for field, messages in problems.fields.items():
        errors += [{"field": field, "message": message} for message in messages]
    for index, message in enumerate(problems.header_rows):
        if message:
            errors.append({"field": f"headers[{index}]", "message": message})
    errors += [{"field": "headers", "message": message} for message in problems.headers]
    if errors:
        raise bad_request(errors)

    for field in WEBHOOK_FIELDS:
        setattr(webhook, field, data[field])
    try:
        with transaction.atomic():
            webhook_services.save_webhook(webhook, data["headers"])
            if enabled is not None:
                webhook_services.set_status_from_checkbox(webhook, enabled)
    except IntegrityError:
        # Two saves raced for one name; the check ran before the other one committed.
        if creating:
            webhook.pk = None
        message = (
            validation.check_webhook_name(webhook.name, workspace, exclude_pk=webhook.pk)
            or "A webhook with this name exists already: pick another name."
        )
        raise bad_request([{"field": "name", "message": message}])
    return webhook


@api.get("/webhooks", response=responses(200, schemas.WebhookPage), tags=["Webhooks"])
def list_webhooks(
    request,
    deleted: bool = Deleted,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """The workspace's webhooks, oldest first."""
    after = decode_cursor(cursor, length=1)
    webhooks = Webhook.objects.filter(
        workspace=request.auth.workspace, deleted_at__isnull=not deleted
    )
    if after is not None:
        webhooks = webhooks.filter(pk__gt=cursor_id(after[0]))
    rows = list(webhooks.prefetch_related("headers").order_by("pk")[: limit + 1])
    return page(request, rows, limit, lambda w: [w.pk], webhook_json)


@api.post("/webhooks", response=responses(201, schemas.WebhookOut), tags=["Webhooks"])
def create_webhook(request, payload: schemas.WebhookCreate):
    """Create a webhook (with a new signing key). Fields left out take the New webhook form's
    defaults; the rules and messages are the form's."""
    webhook = Webhook(workspace=request.auth.workspace)
    save_webhook(request, webhook, payload.model_dump(exclude_unset=True))
    return Status(201, webhook_json(webhook))


@api.get(
    "/webhooks/{webhook_id}", response=responses(200, schemas.WebhookOut, 404), tags=["Webhooks"]
)
def get_webhook_detail(request, webhook_id: int = IdPath("A webhook id.")):
    return webhook_json(get_webhook(request, webhook_id))


@api.patch(
    "/webhooks/{webhook_id}", response=responses(200, schemas.WebhookOut, 404), tags=["Webhooks"]
)
def update_webhook(
    request, payload: schemas.WebhookPatch, webhook_id: int = IdPath("A webhook id.")
):
    """Change some fields; the whole webhook must then follow the rules, as when the Edit form
    is saved. ``{"enabled": ...}`` alone is the list's toggle: nothing else is checked. Turning
    an auto-disabled webhook off leaves it auto-disabled (with its reason)."""
    webhook = get_webhook(request, webhook_id)
    changes = payload.model_dump(exclude_unset=True)
    if set(changes) == {"enabled"}:
        webhook_services.set_status_from_checkbox(webhook, changes["enabled"])
    elif changes:
        save_webhook(request, webhook, changes)
    return webhook_json(webhook)


@api.delete("/webhooks/{webhook_id}", response=responses(204, None, 404), tags=["Webhooks"])
def delete_webhook(request, webhook_id: int = IdPath("A webhook id.")):
    """Soft delete: the webhook gets nothing more and its pending deliveries are cancelled.
    It is listed with ?deleted=true and can be restored."""
    webhook_services.soft_delete(get_webhook(request, webhook_id))
    return Status(204, None)


@api.post(
    "/webhooks/{webhook_id}/restore",
    response=responses(200, schemas.WebhookOut, 404, 409),
    tags=["Webhooks"],
)
def restore_webhook(request, webhook_id: int = IdPath("A deleted webhook's id.")):
    """Bring a deleted webhook back, disabled: enable it when the endpoint is ready."""
    webhook = get_webhook(request, webhook_id, deleted=None)
    if not webhook.is_deleted:
        raise ApiError(409, "This webhook is not deleted.")
    try:
        webhook_services.restore(webhook)
    except ValueError as exc:
        raise ApiError(409, str(exc), "name")
    return webhook_json(webhook)


# --- signing keys -----------------------------------------------------------------------------


def key_json(webhook: Webhook) -> dict:
    now = timezone.now()
    keys = list(webhook.signing_keys.all())
    current = next((k for k in keys if k.expires_at is None), None)
    previous = sorted(
        (k for k in keys if k.expires_at is not None and k.expires_at > now),
        key=lambda k: k.expires_at,
        reverse=True,
    )
    return {
        "key": current.secret if current else "",
        "previous_keys": [{"key": k.secret, "expires_at": k.expires_at} for k in previous],
    }


@api.post(
    "/webhooks/{webhook_id}/rotate-key",
    response=responses(200, schemas.KeyOut, 404),
    tags=["Signing keys"],
)
def rotate_key(
    request,
    webhook_id: int = IdPath("A webhook id."),
    payload: schemas.RotateKeyIn | None = None,
):
    """Make a new signing key. With grace_hours 24 the old key keeps signing (a second
    signature) for 24 hours, so the receiver can switch without a failed delivery. Answers
    the keys, as GET /key does."""
    webhook = get_webhook(request, webhook_id)
    grace = payload.grace_hours if payload else 0
    webhook_services.rotate_signing_key(webhook, grace_hours=grace)
    request.audit_note = f"Rolled the signing key of “{webhook.name}” (grace {grace} h)"
    return key_json(webhook)


@api.get(
    "/webhooks/{webhook_id}/key",
    response=responses(200, schemas.KeyOut, 404),
    tags=["Signing keys"],
)
def get_key(request, webhook_id: int = IdPath("A webhook id.")):
    """The signing key in full, and rolled keys still in their grace. Each read is noted in
    the API activity log."""
    webhook = get_webhook(request, webhook_id)
    request.audit_note = f"Read the signing key of “{webhook.name}”"
    return key_json(webhook)


# --- test events, deliveries and attempts ---------------------------------------------------


def delivery_json(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "message_id": delivery.message_id,
        "webhook": delivery.webhook_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "is_test": delivery.is_test,
        "next_attempt_at": None if delivery.is_finished else delivery.next_attempt_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "created_at": delivery.created_at,
    }


def attempt_json(attempt: Attempt, *, full: bool = False) -> dict:
    data = {
        "id": attempt.pk,
        "delivery": attempt.delivery_id,
        "message_id": attempt.delivery.message_id,
        "number": attempt.number,
        "trigger": attempt.trigger,
        "event_type": attempt.event_type,
        "started_at": attempt.started_at,
        "duration_ms": attempt.duration_ms,
        "succeeded": attempt.succeeded,
        "status_code": attempt.response_status,
        "error": attempt.error_message or attempt.error_kind or None,
    }
    if full:
        data.update(
            request_method=attempt.request_method,
            request_url=attempt.request_url,
            request_headers=attempt.request_headers,
            request_body=attempt.request_body,
            response_headers=attempt.response_headers,
            response_body=attempt.response_body,
            response_truncated=attempt.response_truncated,
        )
    return data


@api.post(
    "/webhooks/{webhook_id}/test",
    response=responses(202, schemas.DeliveryOut, 404),
    tags=["Deliveries"],
)
def send_test_event(
    request, payload: schemas.SendTestIn, webhook_id: int = IdPath("A webhook id.")
):
    """Send the sample payload of one of the webhook's topics through the real delivery path
    (worker, format, headers, signature), marked as a test and never retried. Poll
    GET /deliveries/{id} for the outcome."""
    webhook = get_webhook(request, webhook_id)
    if message := validation.check_sendable_event_type(webhook.topics, payload.type):
        raise bad_request([{"field": "type", "message": message}])
    delivery = delivery_services.send_test(webhook, payload.type)
    return Status(202, delivery_json(delivery))


@api.get(
    "/deliveries/{delivery_id}",
    response=responses(200, schemas.DeliveryOut, 404),
    tags=["Deliveries"],
)
def get_delivery_detail(request, delivery_id: int = IdPath("A delivery id.")):
    return delivery_json(get_delivery(request, delivery_id))


@api.post(
    "/deliveries/{delivery_id}/resend",
    response=responses(202, schemas.DeliveryOut, 404, 409),
    tags=["Deliveries"],
)
def resend_delivery(request, delivery_id: int = IdPath("A delivery id.")):
    """Attempt the delivery again now, with the same webhook-id (receivers can dedupe)."""
    delivery = get_delivery(request, delivery_id)
    try:
        delivery = recovery.resend(delivery)
    except recovery.RecoveryError as exc:  # a worker is sending it right now
        raise ApiError(409, str(exc))
    return Status(202, delivery_json(delivery))


@api.post(
    "/webhooks/{webhook_id}/recover",
    response=responses(202, schemas.RecoverOut, 404),
    tags=["Deliveries"],
)
def recover_webhook(request, payload: schemas.RecoverIn, webhook_id: int = IdPath("A webhook id.")):
    """Retry all failed since: every failed delivery created at or after ``since`` (test
    deliveries aside) is sent again, each with its own webhook-id. A disabled webhook's
    deliveries wait until it is enabled. Answers how many were queued again."""
    webhook = get_webhook(request, webhook_id)
    recovered = recovery.retry_failed_since(webhook.pk, _aware(payload.since, "since"))
    return Status(202, {"recovered": recovered})


@api.get(
    "/webhooks/{webhook_id}/attempts",
    response=responses(200, schemas.AttemptPage, 404),
    tags=["Deliveries"],
)
def list_attempts(
    request,
    webhook_id: int = IdPath("A webhook id."),
    result: Literal["succeeded", "failed"] | None = ResultFilter,
    event_type: str | None = EventTypeFilter,
    since: datetime | None = Since,
    until: datetime | None = Until,
    message_id: str | None = MessageIdFilter,
    cursor: str | None = Cursor,
    limit: int = Limit,
):
    """The webhook's delivery log, newest first, with the logs page's filters and query
    (deliveries/logs.py). Rows carry no bodies: GET /attempts/{id} has the full request and
    response."""
    webhook = get_webhook(request, webhook_id)
    if message_id:
        # The logs page's own check and words for a message id.
        form = logs.LogFilterForm({"message_id": query_text(message_id, "message_id")})
        form.is_valid()
        if "message_id" in form.errors:
            raise bad_request(
                [{"field": "message_id", "message": m} for m in form.errors["message_id"]]
            )
    filters = logs.LogFilters(
        result=result or "",
        event_type=query_text(event_type, "event_type") or "",
        since=_aware(since, "since") if since else None,
        until=_aware(until, "until") if until else None,
        message_id=message_id or "",
    )
    position = None
    if cursor:
        position = logs.Cursor.decode(cursor)
        if position is None or position.newer or not 0 <= position.id <= MAX_ID:
            raise ApiError(400, BAD_CURSOR, "cursor")
    log_page = logs.page(webhook.pk, filters, position, size=limit)
    return page_of(request, log_page.attempts, log_page.older, attempt_json)


@api.get(
    "/attempts/{attempt_id}", response=responses(200, schemas.AttemptOut, 404), tags=["Deliveries"]
)
def get_attempt(request, attempt_id: int = IdPath("An attempt id.")):
    """One attempt in full: the request as sent (secrets masked) and the response (body up to
    64 KiB, response_truncated when cut)."""
    attempt = (
        Attempt.objects.select_related("delivery")
        .filter(
            pk=attempt_id,
            webhook__workspace=request.auth.workspace,
            webhook__deleted_at__isnull=True,
        )
        .first()
    )
    if attempt is None:
        raise not_found("attempt")
    return attempt_json(attempt, full=True)


# --- connectors -------------------------------------------------------------------------------


def connector_json(connector: Connector) -> dict:
    return {
        "id": connector.pk,
        "name": connector.name,
        "kind": connector.kind,
        "username": connector.username,
        "header_name": connector.header_name,
        "created_at": connector.created_at,
        "updated_at": connector.updated_at,
    }


def save_connector(request, connector: Connector, changes: dict) -> Connector:
    """As the connector form: every rule, then save; the secret only when one is given."""
    workspace = request.auth.workspace
    data = {
        "name": connector.name,
        "kind": connector.kind,
        "username": connector.username,
        "header_name": connector.header_name,
        "secret": "",
    }
    data.update(changes)
    problems = validation.check_connector(data, workspace=workspace, instance=connector)
    if problems:
        raise bad_request([{"field": f, "message": m} for f, m in problems.items()])
    connector.name = data["name"]
    connector.kind = data["kind"]
    connector.username = data["username"]
    connector.header_name = data["header_name"]
    if data["secret"]:
        connector.secret = data["secret"]
    creating = connector.pk is None
    try:
        with transaction.atomic():
            connector.save()
    except IntegrityError:
        if creating:
            connector.pk = None
        message = (
            validation.check_connector_name(connector.name, workspace, exclude_pk=connector.pk)
            or "A connector with this name exists already: pick another name."
        )
        raise bad_request([{"field": "name", "message": message}])
    return connector


@api.get("/connectors", response=responses(200, schemas.ConnectorPage), tags=["Connectors"])
def list_connectors(request, cursor: str | None = Cursor, limit: int = Limit):
    """The workspace's connectors (secrets are write-only: never returned)."""
    after = decode_cursor(cursor, length=1)
    connectors = Connector.objects.filter(workspace=request.auth.workspace)
    if after is not None:
        connectors = connectors.filter(pk__gt=cursor_id(after[0]))
    rows = list(connectors.order_by("pk")[: limit + 1])
    return page(request, rows, limit, lambda c: [c.pk], connector_json)


@api.post("/connectors", response=responses(201, schemas.ConnectorOut), tags=["Connectors"])
def create_connector(request, payload: schemas.ConnectorCreate):
    connector = Connector(workspace=request.auth.workspace)
    save_connector(request, connector, payload.model_dump(exclude_unset=True))
    return Status(201, connector_json(connector))


@api.get(
    "/connectors/{connector_id}",
    response=responses(200, schemas.ConnectorOut, 404),
    tags=["Connectors"],
)
def get_connector_detail(request, connector_id: int = IdPath("A connector id.")):
    return connector_json(get_connector(request, connector_id))


@api.patch(
    "/connectors/{connector_id}",
    response=responses(200, schemas.ConnectorOut, 404),
    tags=["Connectors"],
)
def update_connector(
    request, payload: schemas.ConnectorPatch, connector_id: int = IdPath("A connector id.")
):
    """Change some fields. Leave the secret out to keep the current one."""
    connector = get_connector(request, connector_id)
    changes = payload.model_dump(exclude_unset=True)
    if changes:
        save_connector(request, connector, changes)
    return connector_json(connector)


@api.delete(
    "/connectors/{connector_id}",
    response=responses(204, None, 404, 409),
    tags=["Connectors"],
)
def delete_connector(request, connector_id: int = IdPath("A connector id.")):
    """Delete a connector no live webhook uses (409 naming the webhooks that do)."""
    connector = get_connector(request, connector_id)
    try:
        webhook_services.delete_connector(connector)
    except ValueError as exc:
        raise ApiError(409, str(exc))
    return Status(204, None)
