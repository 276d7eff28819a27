"""Signature headers, checked against the Standard Webhooks reference library and plain hmac."""

import base64
import hashlib
import hmac
import re
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from deliveries.signing import (
    generate_signing_key,
    hex_body_signature,
    signature_headers,
    standard_webhooks_headers,
    verify_hex_signature,
    verify_standard,
)

# The example of the Standard Webhooks / Svix documentation; the expected signature was also
# computed with `openssl dgst -sha256 -mac HMAC -macopt hexkey:... -binary | base64`.
SPEC_KEY = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

# Computed with `printf '%s' BODY | openssl dgst -sha256 -hmac whsec_MfKQ...`.
HEX_BODY = b'{"event":"demo_session_finished"}'
HEX_SIGNATURE = "dd346addc5a259771e8010f78a36a8a405b03ca31d70083f42ca7fb5a683d11a"

BODY = '{"payload":{"userId":"test-user","name":"Zoë"}}'.encode()


def test_generated_keys_are_whsec_and_32_random_bytes():
    key = generate_signing_key()
    assert key.startswith("whsec_")
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]+=*", key)
    assert len(base64.b64decode(key.removeprefix("whsec_"), validate=True)) == 32
    assert generate_signing_key() != key


def test_it_matches_the_standard_webhooks_reference_vector():
    headers = standard_webhooks_headers(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, [SPEC_KEY])
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": SPEC_SIGNATURE,
    }


def test_the_reference_library_verifies_our_headers():
    now = int(time.time())
    headers = standard_webhooks_headers("msg_01", now, BODY, [SPEC_KEY])
    assert Webhook(SPEC_KEY).verify(BODY, headers) == {
        "payload": {"userId": "test-user", "name": "Zoë"}
    }


def test_both_keys_verify_alone_during_a_grace_period():
    current, old = generate_signing_key(), generate_signing_key()
    headers = standard_webhooks_headers("msg_01", int(time.time()), BODY, [current, old])

    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert all(signature.startswith("v1,") for signature in signatures)
    for key in (current, old):
        Webhook(key).verify(BODY, headers)
        assert verify_standard(BODY, headers, key)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_signing_key()).verify(BODY, headers)


def test_the_current_key_signs_first():
    current, old = generate_signing_key(), generate_signing_key()
    both = standard_webhooks_headers("msg_01", 1700000000, BODY, [current, old])
    alone = standard_webhooks_headers("msg_01", 1700000000, BODY, [current])
    assert both["webhook-signature"].split(" ")[0] == alone["webhook-signature"]


def test_the_reference_library_refuses_a_tampered_body():
    headers = standard_webhooks_headers("msg_01", int(time.time()), BODY, [SPEC_KEY])
    with pytest.raises(WebhookVerificationError):
        Webhook(SPEC_KEY).verify(BODY.replace(b"test-user", b"evil-user"), headers)


def test_it_refuses_to_sign_without_a_key():
    with pytest.raises(ValueError):
        standard_webhooks_headers("msg_01", 1700000000, BODY, [])


def test_hex_signature_is_the_three_line_hmac_of_the_raw_body():
    key = generate_signing_key()
    # What a receiver writes, keyed with the key exactly as the dashboard shows it.
    expected = hmac.new(key.encode(), BODY, hashlib.sha256).hexdigest()
    assert hex_body_signature(BODY, key) == expected


def test_hex_signature_matches_a_known_vector():
    assert hex_body_signature(HEX_BODY, SPEC_KEY) == HEX_SIGNATURE


def test_signature_headers_carry_all_four_with_the_current_key_in_the_hex_one():
    current, old = generate_signing_key(), generate_signing_key()
    headers = signature_headers("msg_01", 1700000000, BODY, [current, old])
    assert set(headers) == {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "X-Webhook-Signature",
    }
    assert headers["X-Webhook-Signature"] == hex_body_signature(BODY, current)
    assert re.fullmatch(r"[0-9a-f]{64}", headers["X-Webhook-Signature"])


def test_verify_hex_signature():
    key = generate_signing_key()
    value = hex_body_signature(BODY, key)
    assert verify_hex_signature(BODY, key, value)
    assert verify_hex_signature(BODY, key, f" {value.upper()} ")
    assert not verify_hex_signature(BODY + b" ", key, value)
    assert not verify_hex_signature(BODY, generate_signing_key(), value)
    assert not verify_hex_signature(BODY, key, None)
    assert not verify_hex_signature(BODY, key, "")


def test_verify_standard_checks_body_key_and_header_names_case_insensitively():
    key = generate_signing_key()
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    headers = standard_webhooks_headers("msg_01", int(now.timestamp()), BODY, [key])
    shouting = {name.upper(): value for name, value in headers.items()}

    assert verify_standard(BODY, headers, key, now=now)
    assert verify_standard(BODY, shouting, key, now=now)
    assert not verify_standard(BODY + b"x", headers, key, now=now)
    assert not verify_standard(BODY, headers, generate_signing_key(), now=now)
    assert not verify_standard(BODY, {**headers, "webhook-id": "msg_02"}, key, now=now)


def test_verify_standard_refuses_stale_or_future_timestamps():
    key = generate_signing_key()
    sent = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    headers = standard_webhooks_headers("msg_01", int(sent.timestamp()), BODY, [key])

    five_minutes = sent.replace(minute=5)
    six_minutes = sent.replace(minute=6)
    assert verify_standard(BODY, headers, key, now=five_minutes)
    assert not verify_standard(BODY, headers, key, now=six_minutes)
    assert not verify_standard(BODY, headers, key, now=sent.replace(hour=11, minute=54))
    assert verify_standard(BODY, headers, key, tolerance_seconds=3600, now=six_minutes)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"webhook-id": "msg_01", "webhook-timestamp": "1740830400"},
        {"webhook-id": "msg_01", "webhook-timestamp": "soon", "webhook-signature": "v1,AAAA"},
        {"webhook-id": "msg_01", "webhook-timestamp": "1740830400", "webhook-signature": "x"},
    ],
)
def test_verify_standard_says_false_to_malformed_headers(headers):
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert not verify_standard(BODY, headers, SPEC_KEY, now=now)


def test_verify_standard_says_false_to_a_malformed_key():
    headers = standard_webhooks_headers("msg_01", 1740830400, BODY, [SPEC_KEY])
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert not verify_standard(BODY, headers, "whsec_not base64!", now=now)
