"""Who may call the management API, how often, and the record of every call.

- ``ApiKeyAuth``: ``Authorization: Bearer hk_...``, an active admin API key of a workspace. The
  workspace's client token is not an API key (it can only post events) and gets a 401.
- ``PerKeyRateThrottle``: a fixed one-minute window per key in Redis. Fails open: with Redis
  down the API keeps answering (the limit protects us, it is not a product feature).
- ``audit``: wraps every operation and writes one ApiCall row per authenticated call,
  whatever its outcome (429s and 500s included).
"""

import functools
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from ninja.security import HttpBearer
from ninja.throttling import BaseThrottle

from api.models import ApiCall
from workspaces.models import ApiKey

log = logging.getLogger("api")

DEFAULT_RATE_PER_MINUTE = 600
# last_used_at is written at most this often per key: a busy script must not turn every call
# into two writes on one row.
LAST_USED_PRECISION = timedelta(minutes=1)
RATE_KEY = "hookshot:api-rate:{}:{}"


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        api_key = ApiKey.for_key(token.strip())
        if api_key is None:
            return None
        request.api_key = api_key  # for the audit, even when the throttle refuses the call
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_PRECISION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
        return api_key


def rate_per_minute() -> int:
    return getattr(settings, "WEBHOOKS_API_RATE_PER_MINUTE", DEFAULT_RATE_PER_MINUTE)


class PerKeyRateThrottle(BaseThrottle):
    """At most WEBHOOKS_API_RATE_PER_MINUTE calls per key per clock minute (0: no limit)."""

    def allow_request(self, request) -> bool:
        limit = rate_per_minute()
        api_key = getattr(request, "auth", None)
        if not limit or api_key is None:
            return True
        from redis.exceptions import RedisError

        from deliveries.services import fail_fast_redis

        # The hash, not the pk: pks come back after a rollback, a hash never repeats.
        key = RATE_KEY.format(api_key.key_hash[:16], int(time.time() // 60))
        try:
            pipe = fail_fast_redis().pipeline()
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = pipe.execute()
        except RedisError as exc:
            log.warning("API rate limit skipped, Redis unavailable (%s)", exc)
            return True
        return count <= limit

    def wait(self) -> float:
        """Seconds until the window turns (ninja rounds up for Retry-After)."""
        return max(1.0, 60 - time.time() % 60)


def audit(run):
    """Record the call once it has an answer. The note (``request.audit_note``) says what an
    admin should notice, such as a signing key being read."""

    @functools.wraps(run)
    def wrapper(request, *args, **kwargs):
        started = time.monotonic()
        status = 500
        try:
            response = run(request, *args, **kwargs)
            status = response.status_code
            return response
        finally:
            api_key = getattr(request, "api_key", None)
            if api_key is not None:
                ApiCall.objects.create(
                    workspace_id=api_key.workspace_id,
                    api_key=api_key,
                    method=request.method[:8],
                    path=request.get_full_path()[:500],
                    status_code=status,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    note=getattr(request, "audit_note", "")[:200],
                )

    return wrapper
