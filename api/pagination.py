"""Cursor pagination: every list answers ``{"data": [...], "next_cursor", "next"}``.

The cursor is opaque to clients (base64 of the sort key of the last row shown); the query is a
keyset query, so page 1,000 costs what page 1 costs and rows inserted meanwhile never shift a
page. ``limit`` is 1 to 100.
"""

import base64
import binascii
import json

from api.errors import ApiError

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
BAD_CURSOR = "This cursor is not valid: pass the next_cursor of the previous page as it is."


def encode_cursor(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, length: int) -> list | None:
    """The sort key a cursor holds, or None for the first page. 400 when it is not ours."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ApiError(400, BAD_CURSOR, "cursor")
    if not isinstance(values, list) or len(values) != length:
        raise ApiError(400, BAD_CURSOR, "cursor")
    return values


def page(request, rows: list, limit: int, sort_key, serialize) -> dict:
    """One page from ``rows`` (fetched with ``limit + 1``, so a next page is known without a
    count). ``sort_key(row)`` gives what the next cursor resumes after."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort_key(rows[-1])) if has_more and rows else None
    return page_of(request, rows, next_cursor, serialize)


def page_of(request, rows: list, next_cursor: str | None, serialize) -> dict:
    """The page body for rows already cut to size, and the cursor of the next page."""
    next_url = None
    if next_cursor:
        query = request.GET.copy()
        query["cursor"] = next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    return {"data": [serialize(row) for row in rows], "next_cursor": next_cursor, "next": next_url}
