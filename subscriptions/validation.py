"""The rules a webhook and a connector must follow, shared by the forms and the management API.

Every function here is plain: it takes values (never a request or a form), looks at the
database only where a rule needs it (unique names), and returns the messages to show the user.
A function named ``check_*`` returns one message or None; a function returning several problems
returns a list (empty: valid). The words are written for the person who typed the value, so the
forms put them next to the field as they are and the API returns them unchanged.

Parsing helpers (``parse_*``) turn what a person types into the domain value and are shared too:
the form's text areas and the API's JSON arrays end up as the same lists.
"""

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from deliveries import retry
from deliveries.signing import SIGNATURE_HEADER_NAMES
from subscriptions import catalog
from subscriptions.models import (
    BATCH_INTERVAL_RANGE,
    BATCH_SIZE_RANGE,
    MAX_ATTEMPTS_RANGE,
    MAX_HEADERS,
    MAX_TIMEOUT_SECONDS,
    MAX_URL_LENGTH,
    RATE_LIMIT_RANGE,
    Connector,
    Webhook,
)
from subscriptions.placeholders import (
    PLACEHOLDER_RE,
    payload_field_paths,
    validate_placeholders,
)

MAX_EVENT_NAMES = 50
MAX_HEADER_NAME_LENGTH = 100  # WebhookHeader.name
MAX_HEADER_VALUE_LENGTH = 1000
MAX_NAME_LENGTH = 100  # Webhook.name and Connector.name

# RFC 7230 section 3.2.6: token = 1*tchar.
_TOKEN_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Set by the HTTP client or the delivery engine; a custom value would break the request or
# forge our signature. User-Agent is deliberately allowed (some receivers filter on it).
RESERVED_HEADER_NAMES = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection"}
    | {name.lower() for name in SIGNATURE_HEADER_NAMES}
)
RESERVED_HEADER_PREFIX = "webhook-"  # the Standard Webhooks namespace, all of it
_SEPARATORS_RE = re.compile(r"[,\n\r]+")


# --- small parsers -------------------------------------------------------------------------


def parse_list(text: str) -> list[str]:
    """Split text typed one per line or comma separated; trims, drops blanks and repeats."""
    items = (item.strip() for item in _SEPARATORS_RE.split(text or ""))
    return list(dict.fromkeys(item for item in items if item))


def parse_extra_body(text: str) -> tuple[dict, str | None]:
    """The extra body parameters typed as JSON: (the object, None) or ({}, message)."""
    if not (text or "").strip():
        return {}, None
    message = 'Extra body parameters must be a JSON object like {"source": "crm"}.'
    try:
        value = json.loads(text)
    except ValueError as exc:
        where = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
        return {}, f"{message} This is not valid JSON ({where})."
    error = check_extra_body(value)
    return (value, None) if error is None else ({}, error)


# --- names ---------------------------------------------------------------------------------


def check_webhook_name(name: str, workspace, *, exclude_pk=None) -> str | None:
    """Required, at most 100 characters, unique among the workspace's live webhooks
    (ignoring case; deleted webhooks free their name)."""
    name = (name or "").strip()
    if not name:
        return "Give the webhook a name, such as “Orders to CRM”."
    if len(name) > MAX_NAME_LENGTH:
        return f"The name can be at most {MAX_NAME_LENGTH} characters."
    taken = Webhook.objects.live().filter(workspace=workspace, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        return f"A webhook named “{taken.first().name}” exists already: pick another name."
    return None


def check_connector_name(name: str, workspace, *, exclude_pk=None) -> str | None:
    name = (name or "").strip()
    if not name:
        return "Give the connector a name, such as “CRM API key”."
    if len(name) > MAX_NAME_LENGTH:
        return f"The name can be at most {MAX_NAME_LENGTH} characters."
    taken = Connector.objects.filter(workspace=workspace, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        return f"A connector named “{taken.first().name}” exists already: pick another name."
    return None


# --- the URL ----------------------------------------------------------------------------------


def url_problems(url: str, *, https_only: bool, allowed_placeholders: set[str] | None) -> list[str]:
    """Everything wrong with a webhook URL that can be told without the network.

    ``allowed_placeholders`` is what ``placeholder_fields()`` returns for the chosen topics
    (None accepts any well-formed ``${name}``).
    """
    url = (url or "").strip()
    if not url:
        return ["Enter the URL that should receive the events, such as https://example.com/hooks."]
    if len(url) > MAX_URL_LENGTH:
        return [f"The URL can be at most {MAX_URL_LENGTH:,} characters (it has {len(url):,})."]
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return ["The URL cannot contain spaces or line breaks: encode a space as %20."]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return ["This is not a valid URL: check the host name and the port number."]
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return [
            "Enter a URL starting with https:// (or http://): webhooks are sent over HTTP only."
        ]
    if "@" in parts.netloc:
        return [
            "Remove the user name and password from the URL: add them as a connector "
            "(Authentication) or a custom header instead, where they are kept secret."
        ]
    if not parts.hostname:
        return ["The URL has no host name: enter a full URL such as https://example.com/webhooks."]
    problems = []
    if https_only and scheme != "https":
        problems.append(
            "This workspace's policy requires HTTPS: use an https:// URL "
            "(admins can change the policy in Settings > General)."
        )
    problems += validate_placeholders(url, allowed_placeholders)
    return problems


def check_destination(url: str) -> str | None:
    """Refuse a URL whose host is a private, loopback or otherwise internal address, unless
    ``WEBHOOKS_ALLOW_PRIVATE_NETWORKS`` is on. Placeholders are filled with "x" first.

    A host that does not resolve (yet) is accepted: the reachability check after saving
    warns about it, and deliveries are retried until it answers. Only the host matters here,
    so call it once ``url_problems()`` found nothing.
    """
    if getattr(settings, "WEBHOOKS_ALLOW_PRIVATE_NETWORKS", False):
        return None
    from deliveries import http

    filled = PLACEHOLDER_RE.sub("x", url.strip())
    try:
        http.check_destination(filled)
    except http.OutgoingRequestError as exc:
        if exc.kind == "blocked":
            return f"{exc.message}. Webhooks can only be sent to addresses on the public internet."
        if exc.kind == "invalid_url":
            return f"This URL cannot be requested: {exc.message}."
    return None


# --- topics -----------------------------------------------------------------------------------


def topic_problems(topics: list[str]) -> list[str]:
    """At least one topic, each one the catalog accepts (excluded system events are refused)."""
    if not topics:
        return ["Pick at least one topic: the webhook receives only the events you tick."]
    return [message for key in topics if (message := catalog.validate_event_type(key, name="-"))]


def system_event_problems(keys: list[str]) -> list[str]:
    """Extra ``system.<name>`` keys typed in the "Other system events" box."""
    problems = []
    for key in keys:
        if not key.startswith(catalog.SYSTEM_PREFIX):
            problems.append(
                f"“{key}” is not a system event: system events start with system., "
                "such as system.email_opened."
            )
            continue
        message = catalog.validate_event_type(key)
        if message and key not in catalog.EXCLUDED_SYSTEM_EVENTS:
            message = (
                f"“{key}” is not a valid system event: after system. use lowercase letters, "
                "digits and underscores, such as system.email_opened."
            )
        if message:
            problems.append(message)
    return problems


def event_name_problems(names: list[str], *, custom_selected: bool) -> list[str]:
    """The custom event names a webhook on the "custom" topic receives."""
    if not custom_selected:
        if names:
            return ["Tick “Custom event” to receive these events, or clear this box."]
        return []
    if not names:
        return ["List the custom event names to receive, such as Added To Cart."]
    if len(names) > MAX_EVENT_NAMES:
        return [f"At most {MAX_EVENT_NAMES} custom event names (there are {len(names)})."]
    limit = catalog.CUSTOM_EVENT_NAME_MAX_LENGTH
    return [
        f"“{name[:40]}…” is too long: a custom event name can be at most {limit} characters."
        for name in names
        if len(name) > limit
    ]


def placeholder_fields(topics: list[str]) -> set[str] | None:
    """The ``${name}`` placeholders the chosen topics' events can fill: the union of their
    sample payloads' field paths. None (any name) when a topic's fields cannot be known from a
    sample: custom events, and system events without a catalog entry."""
    fields: set[str] = set()
    for key in topics:
        spec = catalog.get(key)
        if key == catalog.CUSTOM_EVENT or spec is None:
            return None
        fields |= payload_field_paths(spec.sample())
    return fields


def sample_payload(topics: list[str]) -> dict:
    """The sample event of the first topic that has one (what test requests fill the URL with)."""
    for key in topics:
        spec = catalog.get(key)
        if spec is not None:
            return spec.sample()
    return {}


# --- headers ----------------------------------------------------------------------------------


def check_header_name(name: str) -> str | None:
    if not name:
        return "Give this header a name, or clear its value to remove it."
    if len(name) > MAX_HEADER_NAME_LENGTH:
        return f"A header name can be at most {MAX_HEADER_NAME_LENGTH} characters."
    if not _TOKEN_RE.fullmatch(name):
        return (
            f"“{name}” is not a valid header name: use letters, digits and dashes, "
            "such as X-Api-Version (no spaces or colons)."
        )
    lowered = name.lower()
    if lowered in RESERVED_HEADER_NAMES or lowered.startswith(RESERVED_HEADER_PREFIX):
        return f"{name} is set by the webhook itself and cannot be changed: pick another name."
    return None


def check_header_value(value: str) -> str | None:
    if any(ch in value for ch in "\r\n\x00"):
        return "A header value must fit on one line (no line breaks)."
    if len(value) > MAX_HEADER_VALUE_LENGTH:
        return f"A header value can be at most {MAX_HEADER_VALUE_LENGTH:,} characters."
    return _sendable_in_a_header(value, "A header value")


def _sendable_in_a_header(value: str, what: str) -> str | None:
    """What HTTP can carry in a header: no surrounding spaces (a pasted value often has one),
    and Latin-1 characters only. Checked here so a webhook never fails at send time."""
    if value != value.strip(" \t"):
        return f"{what} cannot start or end with a space: remove the spaces around it."
    bad = next((ch for ch in value if ord(ch) > 0xFF), None)
    if bad is not None:
        return (
            f"{what} cannot contain “{bad}”: HTTP headers carry only Latin-1 characters. "
            "Replace it (a curly quote with a straight one, for example)."
        )
    return None


def header_problems(
    headers: list[tuple[str, str]], *, connector: Connector | None = None
) -> tuple[list[str | None], list[str]]:
    """Check custom header rows, in order.

    Returns (one message or None per row, messages about the rows as a whole). A name used
    twice (ignoring case) or also sent by the chosen connector is reported on its row.
    """
    row_errors: list[str | None] = []
    seen: set[str] = set()
    connector_names = connector.auth_header_names() if connector else set()
    for name, value in headers:
        error = check_header_name(name) or check_header_value(value)
        if error is None and name.lower() in seen:
            error = f"{name} is listed twice: keep one row per header."
        if error is None and name.lower() in connector_names:
            error = f"The connector “{connector.name}” sends {name} already: remove this row."
        seen.add(name.lower())
        row_errors.append(error)
    overall = []
    if len(headers) > MAX_HEADERS:
        overall.append(f"At most {MAX_HEADERS} custom headers (there are {len(headers)}).")
    return row_errors, overall


# --- numbers and the rest ---------------------------------------------------------------------


def _check_range(value, bounds: tuple[int, int], what: str, unit: str = "") -> str | None:
    low, high = bounds
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        return f"Enter {what} as a whole number from {low:,} to {high:,}{unit}."
    if not low <= value <= high:
        return f"{what[0].upper()}{what[1:]} must be from {low:,} to {high:,}{unit}."
    return None


def check_batch_size(value) -> str | None:
    return _check_range(value, BATCH_SIZE_RANGE, "the batch size", " events")


def check_batch_interval(value) -> str | None:
    return _check_range(value, BATCH_INTERVAL_RANGE, "the batch interval", " seconds")


def check_max_attempts(value) -> str | None:
    return _check_range(value, MAX_ATTEMPTS_RANGE, "the number of attempts")


def check_rate_limit(value) -> str | None:
    """Optional: None means no limit."""
    if value is None:
        return None
    return _check_range(value, RATE_LIMIT_RANGE, "the rate limit", " requests per second")


def check_timeout(value) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > MAX_TIMEOUT_SECONDS:
        return f"The timeout can be at most {MAX_TIMEOUT_SECONDS} seconds."
    return _check_range(value, (1, MAX_TIMEOUT_SECONDS), "the timeout", " seconds")


def check_retry_policy(value) -> str | None:
    if value not in retry.POLICIES:
        return "Pick a retry policy."
    return None


def check_extra_body(value) -> str | None:
    if not isinstance(value, dict):
        return 'Extra body parameters must be a JSON object like {"source": "crm"}.'
    return None


# --- connectors -------------------------------------------------------------------------------


def check_single_line(value: str, what: str) -> str | None:
    if any(ch in (value or "") for ch in "\r\n\x00"):
        return f"The {what} must fit on one line (no line breaks)."
    return None


SECRET_NAMES = {
    Connector.Kind.BASIC: "The password",
    Connector.Kind.BEARER: "The token",
    Connector.Kind.API_KEY: "The API key",
}


def connector_problems(
    *, kind: str, username: str, header_name: str, secret: str, secret_required: bool
) -> dict[str, str]:
    """Field name -> message for a connector's credentials (the name is checked apart)."""
    problems: dict[str, str] = {}
    if kind not in Connector.Kind.values:
        problems["kind"] = "Pick how the connector authenticates."
        return problems
    if kind == Connector.Kind.BASIC:
        if not username:
            problems["username"] = "Basic authentication needs a user name."
        elif ":" in username:
            problems["username"] = "A Basic user name cannot contain a colon (:)."
        elif error := check_single_line(username, "user name"):
            problems["username"] = error
    if kind == Connector.Kind.API_KEY:
        if not header_name:
            problems["header_name"] = "Name the header that carries the key, such as X-API-Key."
        elif error := check_header_name(header_name):
            problems["header_name"] = error
    if secret:
        error = check_single_line(secret, "secret")
        # Basic credentials are base64-encoded, so any character goes; the others are sent
        # in a header as they are.
        if error is None and kind != Connector.Kind.BASIC:
            error = _sendable_in_a_header(secret, SECRET_NAMES[kind])
        if error:
            problems["secret"] = error
    elif secret_required:
        problems["secret"] = {
            Connector.Kind.BASIC: "Enter the password.",
            Connector.Kind.BEARER: "Enter the token.",
            Connector.Kind.API_KEY: "Enter the API key.",
        }[kind]
    return problems


# --- whole objects (the form and the management API both call these) --------------------------

# A ticked box the catalog does not have (the form's topics checkboxes); the API gives the
# same message for a key that is neither a catalog topic nor a system.<name> key.
UNKNOWN_TOPIC_MESSAGE = "“%(value)s” is not a topic of the catalog."
# A connector id that is not one of this workspace's connectors.
UNKNOWN_CONNECTOR_MESSAGE = "Select a valid choice: pick one of your connectors."
# The Send test event choice: only a topic the webhook has.
TEST_TYPE_MESSAGE = "Choose one of this webhook's topics."


def clean_list(items) -> list[str]:
    """Trim each item, drop blanks and repeats, keep the order (names given as a list)."""
    return list(dict.fromkeys(item.strip() for item in items if item and item.strip()))


def topic_key_problems(keys: list[str]) -> list[str]:
    """Topics given as one list of keys (the API), each judged as the form judges it where a
    person would enter it: catalog keys are its checkboxes, other ``system.<name>`` keys go in
    "Other system events", anything else is not a topic."""
    known = {spec.key for spec in catalog.EVENT_TYPES}
    problems = []
    for key in keys:
        if key in known:
            continue
        if key.startswith(catalog.SYSTEM_PREFIX):
            problems += system_event_problems([key])
        else:
            problems.append(UNKNOWN_TOPIC_MESSAGE % {"value": key})
    return problems


def sendable_event_types(topics: list[str]) -> list[str]:
    """The types "Send test event" offers: the webhook's own topics (the catalog's first type
    for a webhook without any)."""
    return list(topics) or [catalog.EVENT_TYPES[0].key]


def check_sendable_event_type(topics: list[str], event_type) -> str | None:
    if event_type not in sendable_event_types(topics):
        return TEST_TYPE_MESSAGE
    return None


@dataclass
class WebhookProblems:
    """What check_webhook() found: messages per field, and the header rows' own."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    header_rows: list[str | None] = field(default_factory=list)  # one per row, in order
    headers: list[str] = field(default_factory=list)  # about the rows as a whole

    def add(self, name: str, messages) -> None:
        if isinstance(messages, str):
            messages = [messages]
        messages = [message for message in messages or [] if message]
        if messages:
            self.fields.setdefault(name, []).extend(messages)

    @property
    def has_header_problems(self) -> bool:
        return any(self.header_rows) or bool(self.headers)

    def __bool__(self) -> bool:
        return bool(self.fields) or self.has_header_problems


def check_webhook(
    data: dict, *, workspace, instance: Webhook | None = None, check_topics: bool = True
) -> WebhookProblems:
    """Apply every rule of a whole webhook to parsed values: what the webhook form and the
    management API both do before saving.

    ``data`` maps the Webhook JSON names (name, url, topics, event_names, mode, batch_size,
    batch_interval_seconds, max_attempts, rate_limit_per_second, timeout_seconds, extra_body,
    connector: a Connector or None, headers: a list of (name, value)) to parsed values. A
    missing key was refused while parsing (its message is shown already): the rules that need
    it are skipped. ``check_topics=False`` says the same of some of the topics; the list is
    still used by the rules that depend on it (custom event names, URL placeholders).

    ``data`` is normalised in place, as the form always did: names and URL trimmed, custom
    event names dropped unless "custom" is a topic, and the batch settings of a one-event-per-
    request webhook left as ``instance`` has them (they are not used).
    """
    instance = instance or Webhook(workspace=workspace)
    problems = WebhookProblems()
    if "name" in data:
        data["name"] = data["name"].strip()
        problems.add(
            "name", check_webhook_name(data["name"], workspace, exclude_pk=instance.pk)
        )

    topics = list(data.get("topics") or [])
    if "topics" in data and check_topics:
        problems.add("topics", topic_problems(topics))

    custom = catalog.CUSTOM_EVENT in topics
    if not custom:
        # The names box is hidden while "Custom event" is unticked: unticking it drops them.
        data["event_names"] = []
    if "event_names" in data:
        problems.add(
            "event_names", event_name_problems(data["event_names"], custom_selected=custom)
        )

    if "url" in data:
        data["url"] = data["url"].strip()
        url_messages = url_problems(
            data["url"],
            https_only=workspace.https_only,
            allowed_placeholders=placeholder_fields(topics),
        )
        if not url_messages and (blocked := check_destination(data["url"])):
            url_messages = [blocked]
        problems.add("url", url_messages)

    checks = {
        "max_attempts": check_max_attempts,
        "rate_limit_per_second": check_rate_limit,
        "timeout_seconds": check_timeout,
        "extra_body": check_extra_body,
    }
    if data.get("mode") == Webhook.Mode.BATCHED:
        checks["batch_size"] = check_batch_size
        checks["batch_interval_seconds"] = check_batch_interval
    else:
        # Not used while single; keep what the webhook had rather than judge the values.
        data["batch_size"] = instance.batch_size
        data["batch_interval_seconds"] = instance.batch_interval_seconds
    for name, check in checks.items():
        if name in data:
            problems.add(name, check(data[name]))

    if "headers" in data:
        problems.header_rows, problems.headers = header_problems(
            data["headers"], connector=data.get("connector")
        )
    return problems


def check_connector(data: dict, *, workspace, instance: Connector | None = None) -> dict:
    """Apply every rule of a connector to parsed values (name, kind, username, header_name,
    secret): field name -> message, as the connector form and the API show them.

    ``data`` is normalised in place: name, user name and header name trimmed, and the fields
    the kind does not use emptied, so a Bearer connector holds no stale user name. An empty
    secret keeps an existing connector's secret; a new connector needs one.
    """
    instance = instance or Connector(workspace=workspace)
    problems: dict[str, str] = {}
    if "name" in data:
        data["name"] = data["name"].strip()
        if error := check_connector_name(data["name"], workspace, exclude_pk=instance.pk):
            problems["name"] = error
    kind = data.get("kind")
    if kind is None:
        return problems
    data["username"] = (data.get("username") or "").strip()
    data["header_name"] = (data.get("header_name") or "").strip()
    problems.update(
        connector_problems(
            kind=kind,
            username=data["username"],
            header_name=data["header_name"],
            secret=data.get("secret") or "",
            secret_required=instance.pk is None,
        )
    )
    if kind != Connector.Kind.BASIC:
        data["username"] = ""
    if kind != Connector.Kind.API_KEY:
        data["header_name"] = ""
    return problems
