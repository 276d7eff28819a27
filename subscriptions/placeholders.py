"""``${var}`` placeholders in webhook URLs, filled from each event at send time.

A URL such as ``https://crm.example.com/hook?email=${email}`` takes the event's ``email``
field; dots reach into nested objects (``${user.email}``) and a number picks a list entry
(``${items.0.sku}``). The form and the management API call ``validate_placeholders()`` before
saving; the delivery path calls ``fill_placeholders()`` just before sending.

Filled values are always percent-encoded, ``/ ? # @ &`` included: an event can only ever
supply *data* inside the URL, never change which host, path or query parameters it names.
For the same reason placeholders are refused in the scheme and host part of the URL.

A lone ``$`` (``$x``, ``price=5$``) is ordinary text.

Pure functions: no database, no network.
"""

import difflib
import json
import re
from typing import Any
from urllib.parse import quote

# A name: a letter or underscore, then letters, digits and underscores; dotted segments after
# the first may be any run of letters, digits and underscores (a digit selects a list entry).
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*"
PLACEHOLDER_RE = re.compile(r"\$\{(" + _NAME + r")\}")
_NAME_RE = re.compile(_NAME)

# Longest text of an unclosed placeholder quoted back in an error message.
_QUOTE_MAX = 30


def find_placeholders(url: str) -> list[str]:
    """The names of the well-formed placeholders in ``url``, in order, each once."""
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(url)))


def _authority_end(url: str) -> int:
    """Index where the URL's scheme and host part ends (0 when there is no ``://``)."""
    start = url.find("://")
    if start == -1:
        return 0
    start += 3
    ends = [i for i in (url.find(c, start) for c in "/?#") if i != -1]
    return min(ends) if ends else len(url)


def _suggestion(name: str, allowed: set[str]) -> str:
    """The allowed name closest to ``name``, else ``email``, else the first in order."""
    close = difflib.get_close_matches(name, sorted(allowed), n=1)
    if close:
        return close[0]
    if "email" in allowed:
        return "email"
    return min(allowed)


def validate_placeholders(url: str, allowed: set[str] | None = None) -> list[str]:
    """Return one human error message per problem with the URL's placeholders (none: valid).

    Checks, in the order they appear: unclosed ``${``, empty ``${}``, names that are not
    ``[A-Za-z_][A-Za-z0-9_.]*`` with non-empty dotted parts, placeholders in the scheme or
    host, and, when ``allowed`` is given (the field paths of the chosen topics' sample
    events), names outside it. ``allowed=None`` accepts any well-formed name.
    """
    errors: list[str] = []
    authority_end = _authority_end(url)
    position = url.find("${")
    while position != -1:
        close = url.find("}", position + 2)
        if close == -1:
            fragment = url[position : position + _QUOTE_MAX]
            errors.append(f"Unclosed placeholder {fragment}: end it with }}, as in ${{email}}.")
            break
        name = url[position + 2 : close]
        placeholder = url[position : close + 1]
        if not name:
            errors.append("Empty placeholder ${}: put a field name inside, such as ${email}.")
        elif not _NAME_RE.fullmatch(name):
            errors.append(
                f"Invalid placeholder {placeholder}: use letters, digits and underscores, "
                "with dots for nested fields, such as ${user.email}."
            )
        elif position < authority_end:
            errors.append(
                f"Placeholder {placeholder} is in the address's host: placeholders may only "
                "be used in the path or query, so an event cannot choose where it is sent."
            )
        elif allowed is not None and name not in allowed:
            if allowed:
                errors.append(
                    f"Unknown placeholder {placeholder}: use a field of the event, "
                    f"such as ${{{_suggestion(name, allowed)}}}."
                )
            else:
                errors.append(
                    f"Unknown placeholder {placeholder}: the chosen topics' events have no "
                    "fields to fill it with."
                )
        position = url.find("${", close + 1)
    return errors


def _lookup(payload: Any, name: str) -> Any:
    value = payload
    for part in name.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    # An object or list goes in as compact JSON: the receiver can still read it.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fill_placeholders(url: str, payload: dict) -> str:
    """Return ``url`` with each placeholder replaced by its event field, percent-encoded.

    A missing field (or null) gives an empty string. Every character outside
    ``A-Z a-z 0-9 - _ . ~`` is encoded (``quote(..., safe="")``), so a value like
    ``a/b?c#d@e`` stays one piece of data. Malformed placeholders are left as they are;
    ``validate_placeholders()`` keeps them from being saved in the first place.
    """
    return PLACEHOLDER_RE.sub(
        lambda match: quote(_as_text(_lookup(payload, match.group(1))), safe=""), url
    )


def payload_field_paths(payload: Any, prefix: str = "") -> set[str]:
    """Every placeholder name that reaches a value of ``payload``: top-level keys and dotted
    paths into nested objects. The form builds the ``allowed`` set of
    ``validate_placeholders()`` from the chosen topics' sample events with this.

    Keys that are not valid placeholder names (``"Product ID"``) cannot be written in a URL
    and are left out, and so are their children.
    """
    paths: set[str] = set()
    if not isinstance(payload, dict):
        return paths
    for key, value in payload.items():
        path = f"{prefix}{key}"
        if not _NAME_RE.fullmatch(path):
            continue
        paths.add(path)
        paths |= payload_field_paths(value, path + ".")
    return paths
