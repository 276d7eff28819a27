"""The ingest API: POST /api/v1/events with the workspace's client token.

Nothing is half-accepted: a batch with one bad item is refused whole, with a list of what is
wrong per item. Accepting never waits on Redis (see services.wake)."""

import json
import math
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from deliveries.services import EventInput, publish_many
from subscriptions import catalog
from workspaces.models import Workspace

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_EVENT_BYTES = 256 * 1024
MAX_BATCH = 500
MAX_ID_LENGTH = 200
MAX_NESTING = 64
ITEM_FIELDS = {"type", "id", "name", "payload"}


def error_response(status: int, message: str, field=None, headers=None) -> JsonResponse:
    response = JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def authenticate(request) -> Workspace | None:
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return Workspace.for_client_token(token.strip())


def _reject_constant(name):
    raise ValueError(f"{name} is not valid JSON")


class _Unstorable(ValueError):
    """Valid JSON that no database column can hold: refused with its own message."""


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999 parses as infinity, which JSON cannot carry on
        raise _Unstorable(f"The number {text[:20]} is too large: numbers must be finite.")
    return value


def parse_json(raw: bytes, *, check_strings: bool = True):
    """Strict JSON: no NaN/Infinity, bounded nesting, and nothing the database cannot store
    (NUL characters, unpaired surrogates, numbers too large to be finite). Raises ValueError
    with a user message."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("The body is not valid UTF-8.")
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValueError(f"The JSON is nested too deeply (at most {MAX_NESTING} levels).")
    except _Unstorable:
        raise
    except ValueError as exc:
        raise ValueError(f"The body is not valid JSON: {exc}")
    if _depth(data) > MAX_NESTING:
        raise ValueError(f"The JSON is nested too deeply (at most {MAX_NESTING} levels).")
    if check_strings:  # the management API checks text itself, naming the field at fault
        _check_strings(data)
    return data


def _check_strings(value) -> None:
    """Every key and string must be storable text. Depth is already bounded."""
    if isinstance(value, dict):
        for key, item in value.items():
            _check_string(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
    elif isinstance(value, str):
        _check_string(value)


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise _Unstorable("Text cannot contain NUL characters (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unstorable(
            "Text cannot contain unpaired surrogates (\\ud800 to \\udfff): send characters "
            "as UTF-8, or escape them as a complete surrogate pair."
        )


def _depth(value, level=1) -> int:
    if level > MAX_NESTING:
        return level
    if isinstance(value, dict):
        return max([_depth(v, level + 1) for v in value.values()], default=level)
    if isinstance(value, list):
        return max([_depth(v, level + 1) for v in value], default=level)
    return level


def validate_item(item, index: int) -> tuple[EventInput | None, list[dict]]:
    """Check one event of the body; return it or the errors, each naming item and field."""

    def err(field, message):
        return {"index": index, "field": field, "message": message}

    if not isinstance(item, dict):
        return None, [err(None, "Each event must be a JSON object.")]
    errors = []
    unknown = sorted(set(item) - ITEM_FIELDS)
    if unknown:
        message = f"Unknown field '{unknown[0]}': use type, id, name, payload."
        errors.append(err(unknown[0], message))
    event_type = item.get("type")
    name = item.get("name")
    if not isinstance(event_type, str) or not event_type:
        errors.append(err("type", "type is required and must be a string."))
    elif name is not None and not isinstance(name, str):
        errors.append(err("name", "name must be a string."))
    else:
        if name and event_type != catalog.CUSTOM_EVENT:
            errors.append(err("name", "name is only for custom events (type \"custom\")."))
        message = catalog.validate_event_type(event_type, name=name)
        if message:
            errors.append(err("name" if event_type == catalog.CUSTOM_EVENT else "type", message))
    event_id = item.get("id")
    if event_id is not None and (
        not isinstance(event_id, str) or not event_id.strip() or len(event_id) > MAX_ID_LENGTH
    ):
        errors.append(err("id", f"id must be a non-empty string of at most {MAX_ID_LENGTH} "
                                "characters."))
    payload = item.get("payload")
    if not isinstance(payload, dict):
        errors.append(err("payload", "payload is required and must be a JSON object."))
    else:
        size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
        if size > MAX_EVENT_BYTES:
            errors.append(err("payload", f"payload is too big: {math.ceil(size / 1024)} KiB, "
                                         f"the limit is {MAX_EVENT_BYTES // 1024} KiB."))
    if errors:
        return None, errors
    return EventInput(type=event_type, payload=payload, name=name or "", event_id=event_id), []


@csrf_exempt
def ingest_events(request):
    # Any database failure (the token lookup included, not only the insert) is a 503 the
    # producer can retry; the insert is one transaction, so nothing was kept in part.
    try:
        return _ingest_events(request)
    except DatabaseError:
        return error_response(503, "The event store is unavailable: retry shortly.",
                              headers={"Retry-After": "5"})


def _ingest_events(request):
    if request.method != "POST":
        return error_response(405, "Use POST.", headers={"Allow": "POST"})
    workspace = authenticate(request)
    if workspace is None:
        return error_response(
            401, "Missing or invalid client token. Send 'Authorization: Bearer <client token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    length = request.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > MAX_BODY_BYTES:
        return error_response(413, "The body is over 5 MiB: send fewer events per request.")
    try:
        raw = request.body
    except RequestDataTooBig:
        return error_response(413, "The body is over 5 MiB: send fewer events per request.")
    if len(raw) > MAX_BODY_BYTES:
        return error_response(413, "The body is over 5 MiB: send fewer events per request.")
    try:
        data = parse_json(raw)
    except ValueError as exc:
        return error_response(400, str(exc))

    items = data if isinstance(data, list) else [data]
    if isinstance(data, list) and not data:
        return error_response(400, "The array is empty: send at least one event.")
    if len(items) > MAX_BATCH:
        return error_response(400, f"At most {MAX_BATCH} events per request (got {len(items)}).")
    events, errors = [], []
    for index, item in enumerate(items):
        event, item_errors = validate_item(item, index)
        errors.extend(item_errors)
        if event:
            events.append(event)
    if errors:
        return JsonResponse({"errors": errors}, status=400)

    retry_after = over_rate_limit(workspace, len(events))
    if retry_after:
        return error_response(
            429, "Too many events for this workspace: slow down and retry.",
            headers={"Retry-After": str(retry_after)},
        )
    result = publish_many(workspace, events)
    return JsonResponse(
        {
            "ids": [e.event_id for e in result.events],
            "accepted": len(result.events) - result.duplicates,
            "duplicates": result.duplicates,
        },
        status=202,
    )


def over_rate_limit(workspace, count: int) -> int:
    """Fixed one-minute window per workspace in Redis. Returns seconds to wait, or 0.

    Fails open: when Redis is down events are still accepted (they are what we must not
    lose), and the limit resumes when Redis returns. After a failure it skips Redis for a few
    seconds, as wake() does, so a frozen Redis does not cost every request a timeout."""
    limit = settings.WEBHOOKS_INGEST_RATE_PER_MINUTE
    if not limit:
        return 0
    from redis.exceptions import RedisError

    from deliveries.services import fail_fast_redis, note_redis_failure, redis_backing_off

    if redis_backing_off():
        return 0

    now = time.time()
    window = int(now // 60)
    key = f"hookshot:ingest:{workspace.pk}:{window}"
    try:
        conn = fail_fast_redis()
        pipe = conn.pipeline()
        pipe.incrby(key, count)
        pipe.expire(key, 120)
        total, _ = pipe.execute()
    except RedisError:
        note_redis_failure()
        return 0
    if total > limit:
        conn.decrby(key, count)  # refused events do not count
        return max(1, int(60 - (now % 60)))
    return 0
