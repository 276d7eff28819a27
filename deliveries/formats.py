"""Turn an event into the request body a webhook's format asks for.

Formats (the webhook's "Format" field):

- ``default``: ``{"payload": <event>}`` as JSON.
- ``raw``: the event object itself as JSON.
- ``xml``: the event as an XML document, ``<event type="...">`` around the payload.
- ``slack``: a Block Kit message for a Slack incoming webhook, with a human summary per topic.

Extra body parameters (the webhook's JSON object, the chatbot "Body textbox") are merged into
object payloads at the top level, and the **event's own fields win** on a clash: the extra
parameters add context, they never rewrite what happened (a receiver can trust
``phoneNumber``). A payload that is not a JSON object has nowhere to take extra keys, so it is
sent unchanged. For Slack, the extra parameters become top-level keys of the message (Slack
reads ``username``, ``icon_emoji`` and ``channel`` there); ``text`` and ``blocks`` stay ours.

Batched webhooks send one request for several events:

- ``default`` and ``raw``: a JSON array holding each event exactly as the single-event request
  would have carried it (``[{"payload": {...}}, ...]`` and ``[{...}, ...]``), so a receiver
  parses one element with the same code either way.
- ``xml``: ``<events>`` around one ``<event type="...">`` per event.
- ``slack``: one message with one section per event, within Slack's 50-block limit.

Every function is pure and deterministic: the same event gives the same bytes, which is what
the signature is computed over. JSON is compact, UTF-8, with keys in the event's own order.
"""

import json
import re
from typing import Any

import xmltodict

FORMAT_DEFAULT = "default"
FORMAT_RAW = "raw"
FORMAT_SLACK = "slack"
FORMAT_XML = "xml"
FORMATS = (FORMAT_DEFAULT, FORMAT_RAW, FORMAT_SLACK, FORMAT_XML)

CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_XML = "application/xml"

# Slack limits (https://api.slack.com/reference/block-kit/blocks): 50 blocks per message,
# 3,000 characters per section text, 2,000 per field, 10 fields per section.
SLACK_MAX_BLOCKS = 50
SLACK_SECTION_TEXT_MAX = 3000
SLACK_FIELD_TEXT_MAX = 2000
SLACK_FIELDS_PER_SECTION = 10
# A whole JSON dump in a code block is only a hint of what arrived; keep it well inside a
# section so the fences and the heading fit.
SLACK_JSON_MAX = 2500
# A single event's answers can be many (a long form); past this the message says how many
# more there were instead of growing without end.
SLACK_MAX_FIELDS = 40


def render(
    format: str, event_type: str, payload: Any, *, extra_body: dict | None = None
) -> tuple[bytes, str]:
    """Return ``(body, content_type)`` for one event in the given format.

    ``payload`` is the event as stored (normally a JSON object). Raises ValueError for an
    unknown format. Never fails on a JSON-serializable payload.
    """
    merged = _merge(payload, extra_body)
    if format == FORMAT_DEFAULT:
        return _json_bytes({"payload": merged}), CONTENT_TYPE_JSON
    if format == FORMAT_RAW:
        return _json_bytes(merged), CONTENT_TYPE_JSON
    if format == FORMAT_XML:
        return _xml_bytes({"event": _xml_event(event_type, merged)}), CONTENT_TYPE_XML
    if format == FORMAT_SLACK:
        message = slack_message(event_type, payload)
        return _json_bytes(_with_extra(message, extra_body)), CONTENT_TYPE_JSON
    raise ValueError(f"Unknown webhook format {format!r}.")


def render_batch(
    format: str, items: list[tuple[str, Any]], *, extra_body: dict | None = None
) -> tuple[bytes, str]:
    """Return ``(body, content_type)`` for a batch of ``(event_type, payload)`` pairs.

    The batch shapes are described in the module docstring. Raises ValueError for an unknown
    format or an empty batch (there is nothing to send).
    """
    if not items:
        raise ValueError("A batch needs at least one event.")
    if format == FORMAT_DEFAULT:
        body = [{"payload": _merge(payload, extra_body)} for _, payload in items]
        return _json_bytes(body), CONTENT_TYPE_JSON
    if format == FORMAT_RAW:
        body = [_merge(payload, extra_body) for _, payload in items]
        return _json_bytes(body), CONTENT_TYPE_JSON
    if format == FORMAT_XML:
        events = [_xml_event(type_, _merge(payload, extra_body)) for type_, payload in items]
        return _xml_bytes({"events": {"event": events}}), CONTENT_TYPE_XML
    if format == FORMAT_SLACK:
        message = _with_extra(slack_batch_message(items), extra_body)
        return _json_bytes(message), CONTENT_TYPE_JSON
    raise ValueError(f"Unknown webhook format {format!r}.")


def _merge(payload: Any, extra_body: dict | None) -> Any:
    if not extra_body or not isinstance(payload, dict):
        return payload
    return {**extra_body, **payload}


def _with_extra(message: dict, extra_body: dict | None) -> dict:
    if not extra_body:
        return message
    return {**extra_body, **message}


def _json_bytes(value: Any) -> bytes:
    return _utf8(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # json.loads accepts lone surrogates ("\ud800"), which UTF-8 cannot carry. Replace
        # them rather than fail the delivery over one broken character.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


# --- XML ---------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, not even escaped (control characters, lone
# surrogates, U+FFFE/U+FFFF). A parser rejects the whole document over one of them.
_XML_INVALID_CHARS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_XML_NAME_INVALID_CHARS = re.compile(r"[^A-Za-z0-9_.-]")
_XML_NAME_START = re.compile(r"[A-Za-z_]")
# Attribute carrying a JSON key that had to be changed to become an element name.
XML_KEY_ATTRIBUTE = "key"


def _xml_bytes(document: dict) -> bytes:
    return _utf8(xmltodict.unparse(document, encoding="utf-8"))


def _xml_event(event_type: str, payload: Any) -> dict:
    node = _xml_node(payload)
    if isinstance(node, dict):
        return {"@type": _xml_text(event_type), **node}
    return {"@type": _xml_text(event_type), "#text": node}


def _xml_name(key: str) -> str:
    """A safe element name for a JSON key: ASCII letters, digits, ``_ . -``, not starting
    with a digit, dot or hyphen. Everything else becomes ``_``, which also keeps xmltodict's
    own ``@attr`` and ``#text`` keys from being taken for attributes or text."""
    name = _XML_NAME_INVALID_CHARS.sub("_", key)
    if not _XML_NAME_START.match(name):
        name = "_" + name
    return name


def _xml_text(value: Any) -> str:
    return _XML_INVALID_CHARS.sub("\ufffd", value)


def _xml_node(value: Any) -> Any:
    """Convert a JSON value to what xmltodict.unparse takes for an element's content.

    Objects become child elements, lists repeat their element, ``None`` gives an empty
    element, booleans ``true``/``false``. A key that is not a valid XML name is sanitized and
    its original spelling kept in a ``key`` attribute, so nothing is lost.
    """
    if isinstance(value, dict):
        node: dict[str, Any] = {}
        for key, child in value.items():
            original = str(key)
            name = _xml_name(original)
            converted = _xml_child(child, original if name != original else None)
            if name in node:
                # Two keys sanitized to the same name ("a b", "a_b"): keep both, in order.
                node[name] = _as_list(node[name]) + _as_list(converted)
            else:
                node[name] = converted
        return node
    if isinstance(value, list):
        # A list with no key of its own (top level, or inside another list): one <item> each.
        return {"item": [_xml_item(item, None) for item in value]}
    return _xml_scalar(value)


def _xml_child(value: Any, original_key: str | None) -> Any:
    if isinstance(value, list):
        # xmltodict repeats the element once per list entry.
        return [_xml_item(item, original_key) for item in value]
    return _xml_item(value, original_key)


def _xml_item(value: Any, original_key: str | None) -> Any:
    node = _xml_node(value)
    if original_key is None:
        return node
    attribute = {"@" + XML_KEY_ATTRIBUTE: _xml_text(original_key)}
    if isinstance(node, dict):
        return {**attribute, **node}
    return {**attribute, "#text": node}


def _xml_scalar(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _xml_text(value)
    return _xml_text(str(value))


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


# --- Slack -------------------------------------------------------------------------------


def slack_message(event_type: str, payload: Any) -> dict:
    """Return the Slack message (``text`` + ``blocks``) for one event.

    ``text`` is the one-line summary Slack shows in notifications; the blocks repeat it with
    the event's details as fields and the event type as context. Every value taken from the
    event is escaped, so a payload cannot ping ``<!channel>`` or inject links.
    """
    summary = _summarize(event_type, payload)
    blocks: list[dict] = []
    fields = summary.fields[:SLACK_MAX_FIELDS]
    chunks = [
        fields[i : i + SLACK_FIELDS_PER_SECTION]
        for i in range(0, len(fields), SLACK_FIELDS_PER_SECTION)
    ] or [[]]
    blocks.append(_section(summary.headline, chunks[0]))
    for chunk in chunks[1:]:
        blocks.append({"type": "section", "fields": [_field(*field) for field in chunk]})
    if len(summary.fields) > SLACK_MAX_FIELDS:
        more = len(summary.fields) - SLACK_MAX_FIELDS
        blocks.append(_context(f"…and {more} more {_plural(more, 'field')}"))
    if summary.detail:
        blocks.append(_section(summary.detail, []))
    blocks.append(_context(f"`{_escape(event_type)}`"))
    return {"text": summary.headline, "blocks": blocks}


def slack_batch_message(items: list[tuple[str, Any]]) -> dict:
    """Return one Slack message for a batch: a section per event (headline, the first ten
    fields, the event type), and past Slack's 50-block limit a last line counting the rest."""
    summaries = [(event_type, _summarize(event_type, payload)) for event_type, payload in items]
    shown = summaries
    if len(summaries) > SLACK_MAX_BLOCKS:
        shown = summaries[: SLACK_MAX_BLOCKS - 1]
    blocks = [
        _section(
            f"{summary.headline}\n`{_escape(event_type)}`",
            summary.fields[:SLACK_FIELDS_PER_SECTION],
        )
        for event_type, summary in shown
    ]
    if len(shown) < len(summaries):
        more = len(summaries) - len(shown)
        blocks.append(_context(f"…and {more} more {_plural(more, 'event')}"))
    count = len(summaries)
    text = f"{count} {_plural(count, 'event')}: {summaries[0][1].headline}"
    if count > 1:
        text += " …"
    return {"text": _clip(text, SLACK_SECTION_TEXT_MAX), "blocks": blocks}


class _Summary:
    """What a Slack message says about one event. ``headline`` and ``detail`` are mrkdwn,
    already escaped; field values are raw and escaped when rendered."""

    def __init__(
        self, headline: str, fields: list[tuple[str, Any]] | None = None, detail: str = ""
    ):
        self.headline = _clip(headline, SLACK_SECTION_TEXT_MAX)
        # Empty values say nothing; leave them out rather than show blank fields.
        self.fields = [(label, value) for label, value in fields or [] if _text(value) != ""]
        self.detail = detail


def _section(text: str, fields: list[tuple[str, Any]]) -> dict:
    block: dict[str, Any] = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _clip(text, SLACK_SECTION_TEXT_MAX)},
    }
    if fields:
        block["fields"] = [_field(label, value) for label, value in fields]
    return block


def _field(label: str, value: Any) -> dict:
    text = f"*{_escape(label)}*\n{_escape(value)}"
    return {"type": "mrkdwn", "text": _clip(text, SLACK_FIELD_TEXT_MAX)}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


def _text(value: Any) -> str:
    """A JSON value as plain text: strings as is, ``true``/``false``, compact JSON for
    objects and lists, nothing for null."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _escape(value: Any) -> str:
    """Escape the three characters Slack mrkdwn treats as control characters.

    ``<`` opens links and mentions (``<!channel>``, ``<https://x|click>``), so an event's
    values must never carry one through unescaped.
    """
    return _text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_DANGLING_ENTITY = re.compile(r"&[a-z]{0,3}$")


def _clip(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, ending with "…" when cut, and never in
    the middle of an ``&amp;``-style entity."""
    if len(text) <= limit:
        return text
    cut = _DANGLING_ENTITY.sub("", text[: limit - 1])
    return cut + "…"


def _get(payload: Any, path: str) -> Any:
    """The value at a dotted path of nested objects, or None when any step is missing."""
    value = payload
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _first(payload: Any, *paths: str, default: str = "") -> str:
    """The escaped text of the first path holding a non-empty value, else ``default``."""
    for path in paths:
        value = _text(_get(payload, path))
        if value:
            return _escape(value)
    return default


def _quoted(text: str) -> str:
    return f"“{text}”"


def _summarize(event_type: str, payload: Any) -> _Summary:
    if isinstance(payload, dict):
        summarizer = _SUMMARIZERS.get(event_type)
        if summarizer is None:
            prefix = event_type.split(".", 1)[0]
            summarizer = _PREFIX_SUMMARIZERS.get(prefix)
        if summarizer is not None:
            return summarizer(event_type, payload)
    return _summarize_unknown(event_type, payload)


def _summarize_unknown(event_type: str, payload: Any) -> _Summary:
    dump = _escape(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
    # Clip after escaping so the fences below always fit in the section; a ``` inside the
    # JSON would close the code block early.
    dump = _clip(dump, SLACK_JSON_MAX).replace("```", "`\u200b``")
    return _Summary(f"Event {_escape(event_type)}", detail=f"```{dump}```")


# Candu (in-app content) ---------------------------------------------------------------


def _candu_user(payload: dict) -> str:
    return _first(payload, "userId", "anonymousId", default="Someone")


def _summarize_content_viewed(event_type: str, payload: dict) -> _Summary:
    content = _first(payload, "properties.slug", "properties.contentId", default="content")
    return _Summary(
        f"{_candu_user(payload)} viewed {content}",
        [
            ("Page", _get(payload, "context.page.url")),
            ("Segment", _get(payload, "properties.segmentId")),
            ("Content ID", _get(payload, "properties.contentId")),
        ],
    )


def _summarize_content_interaction(event_type: str, payload: dict) -> _Summary:
    headline = f"{_candu_user(payload)} interacted with content"
    label = _first(payload, "properties.eventName")
    if label:
        headline += f": {label}"
    return _Summary(
        headline,
        [
            ("Trigger", _get(payload, "properties.trigger")),
            ("Content ID", _get(payload, "properties.contentId")),
            ("Page", _get(payload, "context.page.url")),
        ],
    )


# Form bookkeeping keys, not answers.
_FORM_META_KEYS = {"formName", "formId", "formResponseId"}


def _summarize_form_submitted(event_type: str, payload: dict) -> _Summary:
    properties = payload.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    form_name = _text(properties.get("formName")) or _text(payload.get("eventName"))
    # Answer keys repeat the form's name ("Contact us_Email address"); show the question only.
    prefix = f"{form_name}_" if form_name else ""
    answers = [
        (key.removeprefix(prefix) if prefix else key, value)
        for key, value in properties.items()
        if key not in _FORM_META_KEYS
    ]
    form = _escape(form_name) if form_name else "a form"
    return _Summary(f"{_candu_user(payload)} submitted {form}", answers)


# eSputnik (messaging activity) --------------------------------------------------------

_STATUS_BY_TYPE = {
    "message.delivered": "DELIVERED",
    "message.undelivered": "UNDELIVERED",
    "message.read": "READ",
    "message.clicked": "CLICKED",
    "message.spam_reported": "SPAM",
    "contact.unsubscribed": "UNSUBSCRIBED",
    "subscription.changed": "SUBSCRIPTION_CHANGED",
}
_CHANNEL_NAMES = {"email": "Email", "sms": "SMS", "viber": "Viber", "web_push": "Web push"}
_MESSAGE_VERBS = {
    "DELIVERED": "delivered to",
    "UNDELIVERED": "not delivered to",
    "READ": "read by",
    "CLICKED": "clicked by",
    "SPAM": "reported as spam by",
}


def _summarize_activity(event_type: str, payload: dict) -> _Summary:
    status = _text(payload.get("activityStatus")).upper() or _STATUS_BY_TYPE.get(event_type, "")
    who = _first(payload, "email", "sms", "phone")
    if not who:
        contact = _first(payload, "contactId")
        who = f"contact {contact}" if contact else "a contact"
        # Only our own words get a capital at the start of a sentence, never an address.
        who_first = _capitalize_first(who)
    else:
        who_first = who
    media = _text(payload.get("mediaType"))
    channel = _CHANNEL_NAMES.get(media.lower(), _escape(media.capitalize())) if media else ""

    if status == "UNSUBSCRIBED":
        headline = f"{who_first} unsubscribed"
    elif status == "SUBSCRIPTION_CHANGED":
        headline = f"{who_first} changed their subscriptions"
    elif status in _MESSAGE_VERBS:
        headline = f"{channel} message" if channel else "Message"
        headline += f" {_MESSAGE_VERBS[status]} {who}"
    else:
        headline = f"{_escape(status) or 'Activity'} for {who}"

    fields: list[tuple[str, Any]] = [("Status", status)]
    if status == "UNDELIVERED":
        fields += [("Reason", payload.get("statusDescription"))]
        if "hardBounce" in payload:
            fields += [("Blacklisted", payload.get("hardBounce"))]
    if status == "CLICKED":
        fields += [("Link clicked", payload.get("clickEventLink"))]
    if status == "SUBSCRIPTION_CHANGED":
        categories = _get(payload, "statusData.subscription.subscriptions")
        if isinstance(categories, list):
            categories = ", ".join(_text(category) for category in categories)
        fields += [("Subscriptions", categories)]
    fields += [
        ("Message ID", payload.get("messageId")),
        ("Time", payload.get("activityDateTime")),
    ]
    return _Summary(headline, fields)


# WebEngage (feedback, surveys, journeys, system and custom events) -----------------------


def _webengage_user(payload: dict, default: str = "someone") -> str:
    return _first(payload, "user_id", "anonymous_id", default=default)


def _summarize_feedback(event_type: str, payload: dict) -> _Summary:
    user = _webengage_user(payload)
    data = payload.get("event_data")
    if event_type == "feedback.reply_submitted":
        replier = _first(payload, "event_data.repliedBy", default="Someone")
        headline = f"{replier} replied to feedback from {user}"
        fields = [("Reply", _get(data, "message"))]
    else:
        headline = f"Feedback from {user}"
        fields = [
            ("Category", _get(data, "category")),
            ("Rating", _get(data, "rating")),
            ("Message", _get(data, "message")),
            ("Page", _get(data, "activity.pageUrl")),
        ]
    return _Summary(headline, [*fields, ("Event", payload.get("event_name"))])


def _summarize_survey(event_type: str, payload: dict) -> _Summary:
    user = _webengage_user(payload)
    title = _first(payload, "event_data.surveyTitle", "event_data.surveyId")
    headline = f"{user} answered the survey {_quoted(title)}" if title else f"Survey from {user}"
    fields: list[tuple[str, Any]] = []
    responses = _get(payload, "event_data.questionResponses")
    for response in responses if isinstance(responses, list) else []:
        question = _get(response, "questionText") or _get(response, "questionId") or "Answer"
        fields.append((_text(question), _get(response, "answer")))
    return _Summary(headline, [*fields, ("Event", payload.get("event_name"))])


def _summarize_journey(event_type: str, payload: dict) -> _Summary:
    name = _first(payload, "event_data.name", "event_data.id")
    action = event_type.partition(".")[2] or "changed"
    headline = f"Journey {_quoted(name)} {_escape(action)}" if name else f"Journey {action}"
    user = _first(payload, "user_id")
    if user:
        headline += f" by {user}"
    tags = _get(payload, "event_data.tags")
    if isinstance(tags, list):
        tags = ", ".join(_text(tag) for tag in tags)
    return _Summary(
        headline,
        [
            ("Status", _get(payload, "event_data.status")),
            ("Tags", tags),
            ("Event", payload.get("event_name")),
            ("Time", payload.get("event_time")),
        ],
    )


def _summarize_system(event_type: str, payload: dict) -> _Summary:
    name = _first(payload, "event_name", default=_escape(event_type.partition(".")[2]))
    return _Summary(
        f"System event {name} for {_webengage_user(payload)}",
        [
            ("Result", _get(payload, "event_data.result")),
            ("SDK", _get(payload, "system_data.sdk")),
            ("Time", payload.get("event_time")),
        ],
    )


def _summarize_custom(event_type: str, payload: dict) -> _Summary:
    name = _first(payload, "event_name", "name", "type", default="a custom event")
    data = payload.get("event_data")
    fields = list(data.items()) if isinstance(data, dict) else []
    return _Summary(
        f"{_webengage_user(payload, default='Someone')} triggered {name}",
        [*fields[:SLACK_FIELDS_PER_SECTION], ("Time", payload.get("event_time"))],
    )


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:]


# Walnut (demos) -------------------------------------------------------------------------


def _summarize_demo_session(event_type: str, payload: dict) -> _Summary:
    data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
    viewer = _first(data, "user.email", default="Someone")
    demo = _first(data, "demo.name")
    headline = f"{viewer} finished a session of the demo {_quoted(demo) if demo else ''}".rstrip()
    engagement = _get(data, "demo_engagement")

    def percent(key: str) -> str:
        value = _get(engagement, key)
        return f"{_text(value)}%" if value is not None else ""

    return _Summary(
        headline,
        [
            ("Session duration", _get(engagement, "session_duration")),
            ("Guides completed", percent("guides_completion_rate")),
            ("Screens completed", percent("screen_completion_rate")),
            ("Last section viewed", _get(engagement, "last_section_viewed")),
            ("Session started", _get(data, "session_started")),
        ],
    )


# Chatbot campaigns -----------------------------------------------------------------------


def _summarize_chatbot(event_type: str, payload: dict) -> _Summary:
    phone = _first(payload, "phoneNumber", default="Someone")
    if event_type == "chatbot.option_selected":
        keyword = _first(payload, "keyword")
        option = _first(payload, "option")
        choice = " ".join(part for part in (keyword and f"{keyword}:", option) if part)
        headline = f"{phone} chose option {choice}" if choice else f"{phone} chose an option"
    else:
        headline = f"{phone} replied: {_first(payload, 'response')}"
    return _Summary(
        headline,
        [
            ("Campaign", payload.get("campaignId")),
            ("Step", payload.get("label")),
            ("Time", payload.get("date")),
        ],
    )


_SUMMARIZERS = {
    "content.viewed": _summarize_content_viewed,
    "content.interaction": _summarize_content_interaction,
    "form.submitted": _summarize_form_submitted,
    "contact.unsubscribed": _summarize_activity,
    "subscription.changed": _summarize_activity,
    "demo.session_finished": _summarize_demo_session,
    "chatbot.response": _summarize_chatbot,
    "chatbot.option_selected": _summarize_chatbot,
    "custom": _summarize_custom,
}
# Families whose members share one shape; a new member of a family gets a summary for free.
_PREFIX_SUMMARIZERS = {
    "message": _summarize_activity,
    "feedback": _summarize_feedback,
    "survey": _summarize_survey,
    "journey": _summarize_journey,
    "system": _summarize_system,
}
