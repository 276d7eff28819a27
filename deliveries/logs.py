"""The logs page's query: a webhook's attempts, newest first, filtered, a page at a time.

Keyset pagination on (started_at, id): a page is "the 50 attempts just older (or newer) than
this one", so page 5,000 costs what page 1 costs. There is no OFFSET and no COUNT(*): the page
only learns whether another page exists by asking for one row more than it shows.

Every filter keeps the query on an index (deliveries/migrations/0003_log_indexes.py):

- no filter, event type, date range: attempt_log_idx (webhook, started_at DESC, id DESC),
  range-scanned from the cursor; or attempt_type_log_idx when an event type is chosen;
- result "failed": attempt_failed_log_idx, a partial index of the failures only, so a webhook
  with one failure in a thousand attempts does not scan a thousand rows per row shown;
- message id: the unique index on Delivery.message_id, then attempt_delivery_idx.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django import forms
from django.db.models import Q

from deliveries.models import Attempt
from subscriptions import catalog

PAGE_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# msg_ + a ULID (26 characters of Crockford's base32).
MESSAGE_ID_RE = re.compile(r"^msg_[0-9A-HJKMNP-TV-Z]{26}$")
DATETIME_LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

# Only what a row of the list shows: request and response bodies stay on disk.
ROW_FIELDS = (
    "id",
    "started_at",
    "event_type",
    "trigger",
    "number",
    "succeeded",
    "duration_ms",
    "response_status",
    "error_kind",
    "error_message",
    "delivery__id",
    "delivery__message_id",
    "delivery__is_test",
)


# --- filters ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilters:
    result: str = ""  # "", "succeeded" or "failed"
    event_type: str = ""
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # inclusive
    message_id: str = ""

    @property
    def active(self) -> bool:
        return bool(
            self.result or self.event_type or self.since or self.until or self.message_id
        )


RESULT_CHOICES = [("", "All results"), ("succeeded", "Succeeded"), ("failed", "Failed")]


class LogFilterForm(forms.Form):
    """The logs page's GET form. Times are UTC, as the page shows them."""

    result = forms.ChoiceField(choices=RESULT_CHOICES, required=False)
    event_type = forms.ChoiceField(required=False)
    since = forms.DateTimeField(
        required=False,
        input_formats=DATETIME_LOCAL_FORMATS,
        label="From (UTC)",
        error_messages={"invalid": "Enter a date and time, e.g. 2025-01-31 14:00."},
    )
    until = forms.DateTimeField(
        required=False,
        input_formats=DATETIME_LOCAL_FORMATS,
        label="To (UTC)",
        error_messages={"invalid": "Enter a date and time, e.g. 2025-01-31 18:00."},
    )
    message_id = forms.CharField(required=False, max_length=40, strip=True)

    def __init__(self, data=None, *, event_types=()):
        super().__init__(data)
        self.fields["event_type"].choices = [("", "All event types")] + event_type_choices(
            event_types
        )

    def clean_message_id(self):
        value = self.cleaned_data["message_id"]
        if value and not MESSAGE_ID_RE.match(value):
            raise forms.ValidationError(
                "A message id looks like msg_01J9Z3K8Q6W1V2R5T7Y9B0C4D6 (the webhook-id header "
                "your endpoint received)."
            )
        return value

    def clean_until(self):
        until = self.cleaned_data["until"]
        # A "to" typed to the minute includes that whole minute.
        if until is not None and until.second == 0 and until.microsecond == 0:
            until += timedelta(minutes=1) - timedelta(microseconds=1)
        return until

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "“To” must be after “From”.")
        return data

    def filters(self) -> LogFilters:
        """The valid filters; a field with an error is ignored (and shown with its error)."""
        if not self.is_bound:
            return LogFilters()
        self.is_valid()
        data = self.cleaned_data
        return LogFilters(
            result=data.get("result") or "",
            event_type=data.get("event_type") or "",
            since=data.get("since"),
            until=data.get("until"),
            message_id=data.get("message_id") or "",
        )


def event_type_choices(event_types) -> list[tuple[str, str]]:
    choices = []
    for key in event_types:
        spec = catalog.get(key)
        choices.append((key, f"{key} · {spec.label}" if spec else key))
    return choices


# --- cursors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """A position in the list: the row (started_at, id) a page starts after, and which way."""

    started_at: datetime
    id: int
    newer: bool = False

    def encode(self) -> str:
        micros = (self.started_at - EPOCH) // timedelta(microseconds=1)
        raw = f"{'n' if self.newer else 'o'}.{micros}.{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor | None:
        """None for anything that is not a cursor this module made (never an error page)."""
        if not value or len(value) > 80:
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode("ascii")
            direction, micros, pk = raw.split(".")
            if direction not in ("n", "o"):
                return None
            started_at = EPOCH + timedelta(microseconds=int(micros))
            return cls(started_at, int(pk), newer=direction == "n")
        except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
            return None


# --- the page -----------------------------------------------------------------------------------


@dataclass
class LogPage:
    attempts: list[Attempt] = field(default_factory=list)
    older: str | None = None  # cursor of the next, older page
    newer: str | None = None  # cursor of the previous, newer page
    is_first: bool = True


def filtered(webhook_id: int, filters: LogFilters):
    """The webhook's attempts matching the filters, unordered, unpaginated."""
    qs = Attempt.objects.filter(webhook_id=webhook_id)
    if filters.result == "succeeded":
        qs = qs.filter(succeeded=True)
    elif filters.result == "failed":
        qs = qs.filter(succeeded=False)
    if filters.event_type:
        qs = qs.filter(event_type=filters.event_type)
    if filters.since:
        qs = qs.filter(started_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(started_at__lte=filters.until)
    if filters.message_id:
        qs = qs.filter(delivery__message_id=filters.message_id)
    return qs


def page(webhook_id: int, filters: LogFilters, cursor: Cursor | None = None,
         size: int = PAGE_SIZE) -> LogPage:
    """One page of the logs, newest first, in one query (two when paging back to the top)."""
    base = filtered(webhook_id, filters).select_related("delivery").only(*ROW_FIELDS)
    if cursor is None:
        rows = list(base.order_by("-started_at", "-id")[: size + 1])
        return _page(rows, size, has_newer=False)

    t, pk = cursor.started_at, cursor.id
    if cursor.newer:
        # "started_at >= t" is the index range; the OR only drops the rows sharing t.
        rows = list(
            base.filter(started_at__gte=t)
            .filter(Q(started_at__gt=t) | Q(id__gt=pk))
            .order_by("started_at", "id")[: size + 1]
        )
        if len(rows) <= size:
            # Back at the top: show the first page as it is now (a full page, not a stub).
            return page(webhook_id, filters, None, size)
        rows = rows[:size]
        rows.reverse()
        result = LogPage(attempts=rows, is_first=False)
        result.newer = Cursor(rows[0].started_at, rows[0].id, newer=True).encode()
        result.older = Cursor(rows[-1].started_at, rows[-1].id).encode()
        return result

    rows = list(
        base.filter(started_at__lte=t)
        .filter(Q(started_at__lt=t) | Q(id__lt=pk))
        .order_by("-started_at", "-id")[: size + 1]
    )
    return _page(rows, size, has_newer=True)


def _page(rows, size, *, has_newer: bool) -> LogPage:
    more = len(rows) > size
    rows = rows[:size]
    result = LogPage(attempts=rows, is_first=not has_newer)
    if more:
        result.older = Cursor(rows[-1].started_at, rows[-1].id).encode()
    if has_newer and rows:
        result.newer = Cursor(rows[0].started_at, rows[0].id, newer=True).encode()
    return result


def page_sql(webhook_id: int, filters: LogFilters, cursor: Cursor | None = None,
             size: int = PAGE_SIZE) -> tuple[str, tuple]:
    """The SQL and parameters of page()'s main query, for EXPLAIN in tests and the bench."""
    base = filtered(webhook_id, filters).select_related("delivery").only(*ROW_FIELDS)
    if cursor is not None and not cursor.newer:
        t, pk = cursor.started_at, cursor.id
        base = base.filter(started_at__lte=t).filter(Q(started_at__lt=t) | Q(id__lt=pk))
    qs = base.order_by("-started_at", "-id")[: size + 1]
    return qs.query.sql_with_params()


# --- the detail page: bodies and errors in words ------------------------------------------------

PRETTY_MAX_CHARS = 256 * 1024


def _content_type(headers: dict) -> str:
    for name, value in (headers or {}).items():
        if name.lower() == "content-type":
            return str(value).lower()
    return ""


def pretty_body(text: str, headers: dict | None = None) -> tuple[str, str]:
    """(the body for display, its kind: "json", "xml" or "text").

    JSON is indented; XML is indented with xml.dom.minidom, but only a document without a
    DOCTYPE (no entities to expand: no billion laughs, no external entities), and any parse
    error leaves the text as it was. The result is plain text: templates escape it."""
    if not text or len(text) > PRETTY_MAX_CHARS:
        return text, "text"
    content_type = _content_type(headers or {})
    stripped = text.lstrip()
    if "json" in content_type or stripped[:1] in ("{", "["):
        import json

        try:
            return json.dumps(json.loads(text), indent=2, ensure_ascii=False), "json"
        except ValueError:
            pass
    if "xml" in content_type or stripped.startswith("<?xml"):
        pretty = _pretty_xml(text)
        if pretty is not None:
            return pretty, "xml"
    return text, "text"


def _pretty_xml(text: str) -> str | None:
    lowered = text.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        return None
    from xml.dom import minidom

    try:
        # Safe without defusedxml: no DOCTYPE means no entity can be declared (no billion
        # laughs, no external entities), and expat resolves none by itself.
        document = minidom.parseString(text.encode("utf-8"))  # noqa: S318
        pretty = document.toprettyxml(indent="  ")
    except Exception:  # ExpatError, ValueError, anything a hostile body can provoke
        return None
    lines = [line for line in pretty.splitlines() if line.strip()]
    if lines and lines[0].startswith("<?xml") and not text.lstrip().startswith("<?xml"):
        lines = lines[1:]  # do not add a declaration the sender did not write
    return "\n".join(lines)


ERROR_LABELS = {
    "blocked": "Blocked destination",
    "dns": "DNS error",
    "timeout": "Timeout",
    "connection": "Connection failed",
    "tls": "TLS error",
    "invalid_url": "Invalid URL",
    "invalid_header": "Invalid header",
    "internal": "Internal error",
}

ERROR_WORDS = {
    "blocked": "Blocked destination: the URL points to a private, loopback or internal "
    "address, and this server does not send webhooks there.",
    "dns": "DNS lookup failed: the host name in the URL could not be resolved.",
    "timeout": "Timed out: your endpoint did not answer in time.",
    "connection": "Connection failed: nothing accepted the connection at that address "
    "(refused, reset or unreachable).",
    "tls": "TLS error: the HTTPS handshake failed (certificate or protocol).",
    "invalid_url": "Invalid URL: the request could not be made.",
    "invalid_header": "Invalid header: a custom header or the connector's credential has a "
    "value HTTP cannot carry. Edit the webhook or its connector.",
    "internal": "The request could not be prepared, so nothing was sent. It is retried; if it "
    "keeps failing, tell the operator of this server.",
}


def describe_result(attempt: Attempt) -> str:
    """What happened, in a sentence a receiving developer understands."""
    from http import HTTPStatus

    status = attempt.response_status
    if status is not None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        answered = f"Your endpoint answered HTTP {status}{f' {phrase}' if phrase else ''}"
        if attempt.succeeded:
            return f"{answered}: delivered."
        if 300 <= status < 400:
            return f"{answered}. Redirects are not followed: a 3xx counts as a failure."
        if status == 410:
            return f"{answered}: it asked us to stop, so the webhook was turned off."
        if status in (429, 503):
            return f"{answered}. The retry waits at least as long as its Retry-After asks."
        return f"{answered}. Only a 2xx response counts as delivered."
    words = ERROR_WORDS.get(attempt.error_kind, "The request failed.")
    detail = attempt.error_message
    if detail and detail.rstrip(".") not in words:
        return f"{words} ({detail.rstrip('.')}.)"
    return words
