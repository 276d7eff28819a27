"""The retry policy: schedule, outcomes, Retry-After, and the sentence users read."""

from datetime import UTC, datetime, timedelta

import pytest

from deliveries.retry import (
    DEFAULT_MAX_ATTEMPTS,
    OUTCOME_DISABLE_WEBHOOK,
    OUTCOME_FAILED,
    OUTCOME_RETRY,
    OUTCOME_SUCCEEDED,
    POLICY_DEFAULT,
    POLICY_THREE_RETRIES,
    RetryDecision,
    decide,
    describe_policy,
    effective_max_attempts,
    next_retry_delay,
    parse_retry_after,
    retry_schedule,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def after(attempts_made=1, status_code=500, retry_after=None, max_attempts=8, policy=None):
    return decide(
        attempts_made=attempts_made,
        max_attempts=max_attempts,
        policy=policy or POLICY_DEFAULT,
        status_code=status_code,
        retry_after_header=retry_after,
        now=NOW,
    )


def minutes(*values):
    return [timedelta(minutes=value) for value in values]


# Schedule ---------------------------------------------------------------------------------


def test_the_default_policy_doubles_from_one_minute_then_goes_hourly():
    delays = [next_retry_delay(made, POLICY_DEFAULT) for made in range(1, 11)]
    assert delays == minutes(1, 2, 4, 8, 16, 32, 60, 60, 60, 60)


def test_the_default_policy_makes_eight_attempts():
    assert DEFAULT_MAX_ATTEMPTS == 8
    assert retry_schedule(POLICY_DEFAULT, DEFAULT_MAX_ATTEMPTS) == minutes(1, 2, 4, 8, 16, 32, 60)


def test_three_retries_waits_one_two_and_four_minutes():
    assert retry_schedule(POLICY_THREE_RETRIES, 4) == minutes(1, 2, 4)


def test_three_retries_is_a_ceiling_the_webhook_can_only_lower():
    assert effective_max_attempts(POLICY_THREE_RETRIES, 8) == 4
    assert effective_max_attempts(POLICY_THREE_RETRIES, 2) == 2


def test_max_attempts_is_clamped_to_one_to_fifty():
    assert effective_max_attempts(POLICY_DEFAULT, 0) == 1
    assert effective_max_attempts(POLICY_DEFAULT, 500) == 50
    assert len(retry_schedule(POLICY_DEFAULT, 50)) == 49


def test_delays_never_overflow_for_huge_attempt_counts():
    assert next_retry_delay(10_000, POLICY_DEFAULT) == timedelta(hours=1)


def test_unknown_policies_and_zero_attempts_are_refused():
    with pytest.raises(ValueError):
        next_retry_delay(1, "linear")
    with pytest.raises(ValueError):
        next_retry_delay(0, POLICY_DEFAULT)


# Outcomes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status_code", [200, 201, 202, 204, 299])
def test_any_2xx_succeeds(status_code):
    decision = after(status_code=status_code)
    assert decision == RetryDecision(OUTCOME_SUCCEEDED, None, f"HTTP {status_code}")


def test_410_gone_disables_the_webhook_without_a_retry():
    decision = after(status_code=410)
    assert decision.outcome == OUTCOME_DISABLE_WEBHOOK
    assert decision.next_attempt_at is None
    assert "410 Gone" in decision.reason


def test_410_disables_even_on_the_last_attempt():
    assert after(attempts_made=8, status_code=410).outcome == OUTCOME_DISABLE_WEBHOOK


@pytest.mark.parametrize("status_code", [301, 302, 307, 400, 401, 404, 429, 500, 502, 503])
def test_other_statuses_are_retried_on_the_schedule(status_code):
    decision = after(attempts_made=3, status_code=status_code)
    assert decision.outcome == OUTCOME_RETRY
    assert decision.next_attempt_at == NOW + timedelta(minutes=4)


def test_a_redirect_counts_as_a_failure_and_says_why():
    decision = after(status_code=302)
    assert decision.outcome == OUTCOME_RETRY
    assert decision.reason == "HTTP 302 (redirects are not followed); retrying in 1 minute."


def test_no_response_is_retried():
    decision = after(attempts_made=2, status_code=None)
    assert decision.outcome == OUTCOME_RETRY
    assert decision.next_attempt_at == NOW + timedelta(minutes=2)
    assert decision.reason.startswith("No response (timeout")


def test_it_fails_once_attempts_are_exhausted():
    decision = after(attempts_made=8, status_code=500)
    assert decision == RetryDecision(OUTCOME_FAILED, None, "HTTP 500; gave up after 8 attempts.")


def test_the_attempt_before_the_last_still_retries_hourly():
    decision = after(attempts_made=7, status_code=500)
    assert decision.outcome == OUTCOME_RETRY
    assert decision.next_attempt_at == NOW + timedelta(hours=1)


def test_three_retries_fails_after_the_fourth_attempt_whatever_max_attempts_says():
    assert after(attempts_made=3, policy=POLICY_THREE_RETRIES, max_attempts=8).outcome == (
        OUTCOME_RETRY
    )
    decision = after(attempts_made=4, policy=POLICY_THREE_RETRIES, max_attempts=8)
    assert decision.outcome == OUTCOME_FAILED


def test_a_single_attempt_webhook_never_retries():
    decision = after(attempts_made=1, status_code=503, max_attempts=1)
    assert decision == RetryDecision(
        OUTCOME_FAILED, None, "HTTP 503; not retried: this webhook makes a single attempt."
    )


# Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize("status_code", [429, 503])
def test_retry_after_seconds_is_honoured_when_longer(status_code):
    decision = after(status_code=status_code, retry_after="600")
    assert decision.next_attempt_at == NOW + timedelta(minutes=10)
    assert decision.reason.endswith("retrying in 10 minutes, as Retry-After asks.")


def test_retry_after_http_date_is_honoured():
    decision = after(status_code=503, retry_after="Sat, 01 Mar 2025 12:30:00 GMT")
    assert decision.next_attempt_at == datetime(2025, 3, 1, 12, 30, tzinfo=UTC)


def test_retry_after_never_makes_the_retry_sooner_than_the_policy():
    decision = after(attempts_made=5, status_code=429, retry_after="5")
    assert decision.next_attempt_at == NOW + timedelta(minutes=16)
    assert "Retry-After" not in decision.reason


def test_retry_after_is_capped_at_a_day():
    assert after(status_code=429, retry_after="9999999999999").next_attempt_at == (
        NOW + timedelta(hours=24)
    )
    far_date = "Fri, 01 Mar 2030 12:00:00 GMT"
    assert after(status_code=503, retry_after=far_date).next_attempt_at == (
        NOW + timedelta(hours=24)
    )


@pytest.mark.parametrize("value", ["soon", "-30", "1.5", "", "  ", "Someday, 99 Foo 2025"])
def test_invalid_retry_after_is_ignored(value):
    assert after(status_code=429, retry_after=value).next_attempt_at == NOW + timedelta(minutes=1)


def test_retry_after_only_counts_on_429_and_503():
    assert after(status_code=500, retry_after="600").next_attempt_at == (NOW + timedelta(minutes=1))


def test_retry_after_does_not_revive_an_exhausted_delivery():
    assert after(attempts_made=8, status_code=503, retry_after="60").outcome == OUTCOME_FAILED


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", timedelta(minutes=2)),
        (" 120 ", timedelta(minutes=2)),
        ("Sat, 01 Mar 2025 12:02:00 GMT", timedelta(minutes=2)),  # IMF-fixdate
        ("Saturday, 01-Mar-25 12:02:00 GMT", timedelta(minutes=2)),  # obsolete RFC 850
        ("Sat Mar  1 12:02:00 2025", timedelta(minutes=2)),  # obsolete asctime
        ("Sat, 01 Mar 2025 11:00:00 GMT", timedelta(0)),  # in the past: no wait
        (None, None),
        ("12 minutes", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, NOW) == expected


# Words ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "max_attempts", "sentence"),
    [
        (
            POLICY_DEFAULT,
            8,
            "Up to 8 attempts: retried after 1, 2, 4, 8, 16 and 32 minutes, then hourly.",
        ),
        (
            POLICY_DEFAULT,
            50,
            "Up to 50 attempts: retried after 1, 2, 4, 8, 16 and 32 minutes, then hourly.",
        ),
        (POLICY_DEFAULT, 5, "Up to 5 attempts: retried after 1, 2, 4 and 8 minutes."),
        (POLICY_DEFAULT, 2, "Up to 2 attempts: retried once after 1 minute."),
        (POLICY_DEFAULT, 1, "A single attempt: a failed delivery is not retried."),
        (POLICY_THREE_RETRIES, 4, "Up to 4 attempts: retried after 1, 2 and 4 minutes."),
        (POLICY_THREE_RETRIES, 8, "Up to 4 attempts: retried after 1, 2 and 4 minutes."),
    ],
)
def test_describe_policy(policy, max_attempts, sentence):
    assert describe_policy(policy, max_attempts) == sentence


@pytest.mark.parametrize("policy", [POLICY_DEFAULT, POLICY_THREE_RETRIES])
@pytest.mark.parametrize("max_attempts", [1, 2, 4, 7, 8, 12])
def test_the_sentence_and_the_behaviour_agree(policy, max_attempts):
    """Walk a delivery that always fails and check it against what the sentence promises."""
    waits = []
    made = 1
    while (decision := after(made, 500, None, max_attempts, policy)).outcome == OUTCOME_RETRY:
        waits.append(decision.next_attempt_at - NOW)
        made += 1
    assert decision.outcome == OUTCOME_FAILED
    assert waits == retry_schedule(policy, max_attempts)
    assert describe_policy(policy, max_attempts).startswith(
        f"Up to {made} attempts" if made > 1 else "A single attempt"
    )
