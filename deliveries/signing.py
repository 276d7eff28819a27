"""Signing keys and the signature headers every delivery carries.

Two schemes are sent side by side, both computed over the exact body bytes that go on the wire:

- **Standard Webhooks** (https://www.standardwebhooks.com/): ``webhook-id``,
  ``webhook-timestamp`` and ``webhook-signature: v1,<base64 HMAC-SHA256>`` over
  ``"{id}.{timestamp}.{body}"``, keyed with the base64-decoded bytes after ``whsec_``. Any
  Standard Webhooks library (or Svix's) verifies it. While an old key is in its grace period
  the header carries one signature per valid key, space-separated, current key first.
- **X-Webhook-Signature**: lowercase hex HMAC-SHA256 of the raw body, keyed with the key
  string exactly as the dashboard shows it (``whsec_...`` as UTF-8). It exists so a receiver
  can verify in three lines without decoding anything. It carries the *current* key's
  signature only: receivers of this simple scheme compare one value, and a receiver that must
  survive a key roll uses the Standard Webhooks header, which lists every valid key.

Pure functions: no database, no network. Keys are passed in as the strings stored on the
webhook's ``SigningKey`` rows.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime

KEY_PREFIX = "whsec_"
KEY_BYTES = 32

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
HEADER_HEX_SIGNATURE = "X-Webhook-Signature"

# The headers we set ourselves; the custom-headers form refuses these names (case-insensitive).
SIGNATURE_HEADER_NAMES = (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE, HEADER_HEX_SIGNATURE)

DEFAULT_TOLERANCE_SECONDS = 300


def generate_signing_key() -> str:
    """Return a new signing key: ``whsec_`` + standard base64 of 32 random bytes."""
    return KEY_PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _key_bytes(key: str) -> bytes:
    """The HMAC key of the Standard Webhooks scheme: the base64 bytes after ``whsec_``.

    Raises ValueError for a key that is not base64 or decodes to nothing: signing with an
    empty key would "work" and verify against anyone's forgery.
    """
    encoded = key.removeprefix(KEY_PREFIX)
    try:
        # Tolerate keys stored without their "=" padding, as the reference library does.
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("Signing key is not valid base64 after the whsec_ prefix.") from exc
    if not raw:
        raise ValueError("Signing key is empty.")
    return raw


def _standard_signature(message_id: str, timestamp: int, body: bytes, key: str) -> str:
    # Sign the bytes, not a decoded string: the body is signed exactly as it is sent.
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key_bytes(key), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def standard_webhooks_headers(
    message_id: str, timestamp: int, body: bytes, keys: list[str]
) -> dict[str, str]:
    """Return the three Standard Webhooks headers for one request.

    ``timestamp`` is in integer seconds since the epoch. ``keys`` lists the valid keys, the
    current one first; each gives one ``v1,...`` signature in ``webhook-signature``, joined
    by spaces in the same order. Raises ValueError when ``keys`` is empty: an unsigned
    request must never leave by accident.
    """
    if not keys:
        raise ValueError("At least one signing key is required.")
    timestamp = int(timestamp)
    return {
        HEADER_ID: message_id,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_SIGNATURE: " ".join(
            _standard_signature(message_id, timestamp, body, key) for key in keys
        ),
    }


def hex_body_signature(body: bytes, key: str) -> str:
    """Return the ``X-Webhook-Signature`` value: lowercase hex HMAC-SHA256 of ``body``.

    Keyed with the whole key string as shown on screen (``whsec_...``, UTF-8), not with the
    decoded bytes, so a receiver can paste the key straight into ``hmac.new``.
    """
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_headers(
    message_id: str, timestamp: int, body: bytes, keys: list[str]
) -> dict[str, str]:
    """Return every signature header of a request: the Standard Webhooks three plus
    ``X-Webhook-Signature`` (current key, ``keys[0]``, only).

    ``message_id`` must be the delivery's stable id, so every retry and resend of one
    delivery carries the same ``webhook-id``; ``timestamp`` is the time of this attempt.
    """
    headers = standard_webhooks_headers(message_id, timestamp, body, keys)
    headers[HEADER_HEX_SIGNATURE] = hex_body_signature(body, keys[0])
    return headers


def verify_hex_signature(body: bytes, key: str, header_value: str | None) -> bool:
    """True when ``header_value`` is the hex signature of ``body`` under ``key``.

    Hex case and surrounding whitespace are ignored; the comparison is constant-time.
    """
    if not header_value:
        return False
    expected = hex_body_signature(body, key)
    return hmac.compare_digest(expected, header_value.strip().lower())


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # HTTP header names are case-insensitive; Django's request.headers is, a plain dict isn't.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def verify_standard(
    body: bytes,
    headers: Mapping[str, str],
    key: str,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: datetime | None = None,
) -> bool:
    """True when ``headers`` carry a valid Standard Webhooks signature of ``body`` by ``key``.

    Any one ``v1`` signature in ``webhook-signature`` matching is enough (a request sent
    during a key's grace period carries two). The timestamp must be within
    ``tolerance_seconds`` of ``now`` (default: the current time) in either direction, which
    is what stops a captured request from being replayed later. Never raises: missing or
    malformed headers, and a malformed key, verify as False.
    """
    message_id = _header(headers, HEADER_ID)
    timestamp_value = _header(headers, HEADER_TIMESTAMP)
    signatures = _header(headers, HEADER_SIGNATURE)
    if not (message_id and timestamp_value and signatures):
        return False
    try:
        timestamp = int(timestamp_value.strip())
        expected = _standard_signature(message_id, timestamp, body, key)
    except ValueError:
        return False
    now = now or datetime.now(UTC)
    if abs(now.timestamp() - timestamp) > tolerance_seconds:
        return False
    # Compare every candidate, without stopping early, so timing says nothing about which one
    # matched.
    matched = False
    for candidate in signatures.split():
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    return matched
