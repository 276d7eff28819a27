"""The retry policy: what happens after each delivery attempt, and when the next one runs.

This is the only place that knows the schedule. The worker calls ``decide()`` after every
attempt; the settings page shows ``describe_policy()``; both read ``retry_schedule()``, so the
sentence users read and the behaviour they get cannot drift apart.

Policies (a webhook's "Retry policy"):

- ``exponential`` (default): retried after 1, 2, 4, 8, 16 and 32 minutes, then hourly, for
  8 attempts in all unless the webhook says otherwise (at most 50).
- ``three_retries``: the preset for receivers built for "3 retries with exponential backoff":
  retried after 1, 2 and 4 minutes, 4 attempts in all. The preset is a ceiling: a webhook's
  max attempts may lower it, never raise it, so switching a webhook to this preset means what
  its name says whatever number the max attempts field held.

Outcome rules of ``decide()``:

- any 2xx: succeeded;
- 410 Gone: the receiver says the endpoint is gone for good; disable the webhook, no retry;
- anything else (3xx, since redirects are not followed; 4xx; 5xx; no response at all, which
  covers timeouts, DNS, connection, TLS errors and blocked destinations): retry while
  attempts remain, else failed;
- a ``Retry-After`` on 429 or 503 is honoured in both its forms (seconds and HTTP-date): the
  next attempt is never sooner than it asks, and never later than 24 hours from now on its
  account. A value we cannot read is ignored.

Pure functions: no database, no clock of their own (``now`` is passed in).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils.http import parse_http_date_safe

POLICY_DEFAULT = "exponential"
POLICY_THREE_RETRIES = "three_retries"
POLICIES = (POLICY_DEFAULT, POLICY_THREE_RETRIES)

MIN_ATTEMPTS = 1
MAX_ATTEMPTS = 50
# Attempts in all (the first send included) when the webhook does not choose.
DEFAULT_MAX_ATTEMPTS = 8
# The most attempts each policy makes, whatever the webhook's own setting.
POLICY_MAX_ATTEMPTS = {POLICY_DEFAULT: MAX_ATTEMPTS, POLICY_THREE_RETRIES: 4}

# The exponential delays stop growing here: past an hour apart, retrying is only waiting.
MAX_POLICY_DELAY = timedelta(hours=1)
# A receiver may ask for more time with Retry-After, but not park a delivery for days.
MAX_RETRY_AFTER = timedelta(hours=24)
# Statuses whose Retry-After means "come back then" (RFC 9110 15.5.20 and 15.6.4 / RFC 6585).
RETRY_AFTER_STATUSES = frozenset({429, 503})

OUTCOME_SUCCEEDED = "succeeded"
OUTCOME_RETRY = "retry"
OUTCOME_FAILED = "failed"
OUTCOME_DISABLE_WEBHOOK = "disable_webhook"


@dataclass(frozen=True)
class RetryDecision:
    """What to do after an attempt.

    ``outcome`` is one of the ``OUTCOME_*`` values; ``next_attempt_at`` is set only for
    ``retry``; ``reason`` is a short sentence for the delivery log.
    """

    outcome: str
    next_attempt_at: datetime | None
    reason: str


def _check_policy(policy: str) -> None:
    if policy not in POLICIES:
        raise ValueError(f"Unknown retry policy {policy!r}.")


def effective_max_attempts(policy: str, max_attempts: int) -> int:
    """The number of attempts the webhook really gets: its own setting, clamped to 1..50 and
    to the policy's ceiling (4 for ``three_retries``)."""
    _check_policy(policy)
    return max(MIN_ATTEMPTS, min(int(max_attempts), POLICY_MAX_ATTEMPTS[policy]))


def next_retry_delay(attempts_made: int, policy: str) -> timedelta:
    """The wait before the next attempt once ``attempts_made`` attempts (>= 1) have failed.

    1 minute after the first failure, then doubling (2, 4, 8, 16, 32), then hourly. Both
    policies share this curve; they differ in how many attempts they make.
    """
    _check_policy(policy)
    if attempts_made < 1:
        raise ValueError("A retry delay needs at least one failed attempt.")
    # Cap the exponent first: 2 ** 49 minutes would overflow timedelta.
    minutes = 2 ** min(attempts_made - 1, 6)
    return min(timedelta(minutes=minutes), MAX_POLICY_DELAY)


def retry_schedule(policy: str, max_attempts: int) -> list[timedelta]:
    """The waits between attempts, in order: one entry per retry (attempts minus one)."""
    attempts = effective_max_attempts(policy, max_attempts)
    return [next_retry_delay(made, policy) for made in range(1, attempts)]


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for, or None when absent or unreadable.

    Accepts delta-seconds (``120``) and an HTTP-date (``Wed, 21 Oct 2015 07:28:00 GMT``,
    and the two obsolete date forms HTTP still allows). A date in the past asks for no wait.
    The result is capped at 24 hours. ``now`` should be aware; a naive one is taken as UTC.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Compare before building a timedelta: "99999999999999" must not overflow.
        return min(timedelta(seconds=min(int(value), 10**9)), MAX_RETRY_AFTER)
    epoch = parse_http_date_safe(value)
    if epoch is None:
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    wait = datetime.fromtimestamp(epoch, tz=UTC) - now
    return min(max(wait, timedelta(0)), MAX_RETRY_AFTER)


def _describe_status(status_code: int | None) -> str:
    if status_code is None:
        return "No response (timeout, connection or TLS error, or blocked destination)"
    if 300 <= status_code < 400:
        return f"HTTP {status_code} (redirects are not followed)"
    return f"HTTP {status_code}"


def _duration_words(delay: timedelta) -> str:
    seconds = int(delay.total_seconds())
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return "1 hour" if hours == 1 else f"{hours} hours"
    minutes = round(seconds / 60)
    about = "" if seconds % 60 == 0 else "about "
    return f"{about}1 minute" if minutes == 1 else f"{about}{minutes} minutes"


def decide(
    *,
    attempts_made: int,
    max_attempts: int,
    policy: str,
    status_code: int | None,
    retry_after_header: str | None,
    now: datetime,
) -> RetryDecision:
    """Decide the outcome of the attempt that just ended.

    ``attempts_made`` counts every attempt so far, this one included. ``status_code`` is
    None when no HTTP response arrived. ``retry_after_header`` is the response's
    ``Retry-After`` value, if any; it only counts on a 429 or a 503.
    """
    if status_code is not None and 200 <= status_code < 300:
        return RetryDecision(OUTCOME_SUCCEEDED, None, f"HTTP {status_code}")
    if status_code == 410:
        return RetryDecision(
            OUTCOME_DISABLE_WEBHOOK,
            None,
            "HTTP 410 Gone: the receiver says this endpoint no longer exists, "
            "so the webhook is disabled.",
        )

    what = _describe_status(status_code)
    attempts = effective_max_attempts(policy, max_attempts)
    if attempts_made >= attempts:
        if attempts == 1:
            reason = f"{what}; not retried: this webhook makes a single attempt."
        else:
            reason = f"{what}; gave up after {attempts} attempts."
        return RetryDecision(OUTCOME_FAILED, None, reason)

    delay = next_retry_delay(attempts_made, policy)
    asked = None
    if status_code in RETRY_AFTER_STATUSES:
        asked = parse_retry_after(retry_after_header, now)
    if asked is not None and asked > delay:
        delay = asked
        reason = f"{what}; retrying in {_duration_words(delay)}, as Retry-After asks."
    else:
        reason = f"{what}; retrying in {_duration_words(delay)}."
    return RetryDecision(OUTCOME_RETRY, now + delay, reason)


def _join(words: list[str]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def describe_policy(policy: str, max_attempts: int) -> str:
    """The policy in one sentence for the settings page, built from ``retry_schedule()``.

    E.g. "Up to 8 attempts: retried after 1, 2, 4, 8, 16 and 32 minutes, then hourly."
    """
    delays = retry_schedule(policy, max_attempts)
    if not delays:
        return "A single attempt: a failed delivery is not retried."
    attempts = len(delays) + 1
    growing = [delay for delay in delays if delay < MAX_POLICY_DELAY]
    hourly = len(delays) - len(growing)
    parts = []
    if growing:
        minutes = [str(int(delay.total_seconds() // 60)) for delay in growing]
        unit = "minute" if minutes == ["1"] else "minutes"
        once = "once " if len(delays) == 1 else ""
        parts.append(f"retried {once}after {_join(minutes)} {unit}")
    if hourly:
        parts.append("then hourly" if growing else "retried hourly")
    return f"Up to {attempts} attempts: {', '.join(parts)}."
