"""Ingest API fuzzing: whatever the body, the answer is a JSON 202 (valid) or a JSON 4xx
explaining what is wrong, never a 500 (nor a 503 blaming the database for our input).

Hypothesis, bounded and repeatable: derandomized, ~200 examples per property, no deadline.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deliveries.models import Event

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=200, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TYPES = ["form.submitted", "content.viewed", "custom", "system.push_notification_accepted",
         "system.email_opened", "nope", "", "FORM.SUBMITTED"]
# Strings that break naive handling: NUL, lone surrogates, RTL override, zero-width joiners,
# emoji with modifiers, a BOM, combining marks, a very long run.
NASTY = ["\x00", "\ud800", "\udfff", "a\ud83d", "\u202eevil", "👩‍👩‍👧‍👦", "🏳️‍🌈", "\ufeff",
         "e\u0301", "\u0000key", "x" * 10_000, "<script>", "${email}", "\\", '"', "\n\r\t"]


def json_values(max_leaves=20):
    scalars = (
        st.none() | st.booleans()
        | st.integers(min_value=-(10**30), max_value=10**30)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(max_size=30) | st.sampled_from(NASTY)
    )
    return st.recursive(
        scalars,
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.sampled_from(NASTY), children, max_size=4),
        max_leaves=max_leaves,
    )


def events():
    field = st.sampled_from(TYPES) | json_values(3)
    return st.fixed_dictionaries(
        {"type": field},
        optional={"payload": json_values(), "id": st.text(max_size=20) | json_values(2),
                  "name": st.text(max_size=20) | json_values(2), "extra": json_values(2)},
    )


def post(client, workspace, body: bytes, content_type="application/json"):
    return client.post("/api/v1/events", data=body, content_type=content_type,
                       HTTP_AUTHORIZATION=f"Bearer {workspace.client_token}")


def assert_answered_properly(response):
    assert response.status_code in (202, 400, 413), (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    if response.status_code == 202:
        assert data["accepted"] + data["duplicates"] == len(data["ids"])
    else:
        assert data["errors"] and all(e["message"] for e in data["errors"])


@pytest.fixture
def no_rate_limit(settings):
    settings.WEBHOOKS_INGEST_RATE_PER_MINUTE = 0


@FUZZ
@given(body=st.one_of(events(), st.lists(events(), max_size=5), json_values()))
def test_any_json_body_gets_a_202_or_a_4xx_json_error(client, acme, no_rate_limit, body):
    # ensure_ascii keeps lone surrogates as \\ud800 escapes: valid JSON text, a hostile payload.
    raw = json.dumps(body).encode()
    response = post(client, acme, raw)
    assert_answered_properly(response)


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8",
                                                                             "surrogatepass")))
def test_any_bytes_get_a_4xx_json_error_or_a_202(client, acme, no_rate_limit, raw):
    assert_answered_properly(post(client, acme, raw))


@pytest.mark.parametrize("raw", [
    b"", b"{", b"[", b"nul", b"NaN", b"Infinity", b"-Infinity", b'{"type": NaN}',
    b'{"type": "form.submitted", "payload": {"n": 1e999}}',
    b'{"type": "form.submitted", "payload": {"n": -1e999}}',
    b'{"type": "form.submitted", "payload": {"n": ' + b"9" * 5000 + b"}}",
    b'{"type": "form.submitted", "payload": {"n": 1e-999}}',
    b'{"type": "form.submitted", "payload": {"s": "\\u0000"}}',
    b'{"type": "form.submitted", "payload": {"\\u0000": 1}}',
    b'{"type": "form.submitted", "payload": {"s": "\\ud800"}}',
    b'{"type": "form.submitted", "payload": {"s": "\xed\xa0\x80"}}',  # a surrogate in UTF-8
    b'{"type": "form.submitted", "payload": {"s": "\xff\xfe"}}',
    b"\xef\xbb\xbf" + b'{"type": "form.submitted", "payload": {}}',  # a BOM first
    b'{"type": "form.submitted\\u0000", "payload": {}}',
    b'{"type": "custom", "name": "Added\\u0000", "payload": {}}',
    b'{"type": "form.submitted", "id": "a\\u0000b", "payload": {}}',
    b'{"type": "form.submitted", "id": "\\udfff", "payload": {}}',
    b'{"type": "form.submitted", "payload": {"rtl": "\\u202e", "emoji": "\\ud83d\\ude00"}}',
    b'{"type": "form.submitted", "payload": {}, "payload": []}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 70 + b"1" + b"}" * 70,
    b'{"type": "form.submitted", "payload": ' + b'{"a":' * 62 + b"1" + b"}" * 62 + b"}",
    b'{"type": "form.submitted", "payload": {"s": "' + b"x" * 300_000 + b'"}}',
])
def test_edge_cases_get_a_4xx_json_error_or_a_202(client, acme, no_rate_limit, raw):
    assert_answered_properly(post(client, acme, raw))


def test_a_10_mb_body_is_refused_with_413_json(client, acme):
    event = json.dumps({"type": "form.submitted", "payload": {"s": "x" * 1000}})
    raw = ("[" + ",".join([event] * 10_000) + "]").encode()
    assert len(raw) > 10 * 1024 * 1024
    response = post(client, acme, raw)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert not Event.objects.exists()


def test_a_wrong_content_type_or_method_is_a_json_4xx(client, acme):
    response = post(client, acme, b"type=form.submitted", "application/x-www-form-urlencoded")
    assert_answered_properly(response)
    response = client.get("/api/v1/events", HTTP_AUTHORIZATION=f"Bearer {acme.client_token}")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_stored_events_are_exactly_what_the_valid_answers_accepted(client, acme, no_rate_limit):
    """Nothing half-accepted: a batch with one unstorable value is refused whole."""
    good = {"type": "form.submitted", "payload": {"ok": True}}
    bad = {"type": "form.submitted", "payload": {"s": "\x00"}}
    assert post(client, acme, json.dumps([good, good]).encode()).status_code == 202
    assert post(client, acme, json.dumps([good, bad, good]).encode()).status_code == 400
    assert Event.objects.count() == 2
