"""What /healthz reports: can we reach the database and Redis, and is a worker alive."""

from datetime import UTC, timedelta

from django.db import connection
from django.utils import timezone

WORKER_HEARTBEAT_MAX_AGE = timedelta(seconds=60)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says which
        return {"ok": False, "error": str(exc).splitlines()[0][:200]}
    return {"ok": True}


def _redis_connection():
    from webhooks_site.redis import get_connection

    return get_connection()


def check_redis(conn=None) -> dict:
    conn = conn or _redis_connection()
    try:
        conn.ping()
    except Exception as exc:
        return {"ok": False, "error": str(exc).splitlines()[0][:200]}
    return {"ok": True}


def check_workers(conn=None) -> dict:
    """A worker counts as alive when its heartbeat is less than a minute old."""
    from rq import Worker

    conn = conn or _redis_connection()
    try:
        workers = Worker.all(connection=conn)
    except Exception as exc:
        return {"ok": False, "count": 0, "error": str(exc).splitlines()[0][:200]}
    cutoff = timezone.now() - WORKER_HEARTBEAT_MAX_AGE
    alive = [w for w in workers if w.last_heartbeat and _aware(w.last_heartbeat) >= cutoff]
    result = {"ok": bool(alive), "count": len(alive)}
    if not alive:
        result["error"] = "No worker heartbeat in the last minute"
    return result


def _aware(value):
    return value if timezone.is_aware(value) else value.replace(tzinfo=UTC)


def oldest_due_seconds(now=None) -> int:
    """Age of the oldest pending delivery that is due, of a live enabled webhook (0 if none).

    Disabled webhooks' deliveries wait on purpose and are left out. Asked per enabled webhook
    (one probe of delivery_claim_idx each), because walking delivery_due_idx from the oldest
    would first read the whole backlog of every auto-disabled webhook. Measured on PostgreSQL
    with 5,000 enabled webhooks and 200,000 rows waiting for a disabled one: 23 ms (the walk:
    100 ms, growing with the backlog)."""
    from django.db.models import Min, OuterRef, Subquery

    from deliveries.models import Delivery
    from subscriptions.models import Webhook

    now = now or timezone.now()
    oldest_of_webhook = (
        Delivery.objects.filter(
            webhook_id=OuterRef("pk"),
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        )
        .filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        # "id" too, although it never decides: it is what steers PostgreSQL to
        # delivery_claim_idx (webhook, next_attempt_at, id). Ordered by next_attempt_at alone,
        # it walks delivery_due_idx hoping to meet this webhook's row early, and reads the
        # whole backlog for every webhook that has none (measured: minutes, not milliseconds).
        .order_by("next_attempt_at", "id")
        .values("next_attempt_at")[:1]
    )
    oldest = (
        Webhook.objects.filter(status=Webhook.Status.ENABLED, deleted_at__isnull=True)
        .annotate(oldest_due=Subquery(oldest_of_webhook))
        .aggregate(first=Min("oldest_due"))["first"]
    )
    return max(0, int((now - oldest).total_seconds())) if oldest else 0


def check_queue(conn=None, *, redis_ok: bool = True) -> dict:
    """Information for operators, not a failure condition (unless Redis is down): the default
    queue's length and how late the oldest due delivery is."""
    from rq import Queue

    from deliveries.services import QUEUE_NAME

    result: dict = {"ok": True, "depth": None, "oldest_due_seconds": None}
    try:
        result["oldest_due_seconds"] = oldest_due_seconds()
    except Exception as exc:  # the database check reports it; keep the key
        result["database_error"] = str(exc).splitlines()[0][:200]
    if not redis_ok:
        result.update(ok=False, error="Redis is unreachable")
        return result
    try:
        result["depth"] = Queue(QUEUE_NAME, connection=conn or _redis_connection()).count
    except Exception as exc:
        result.update(ok=False, error=str(exc).splitlines()[0][:200])
    return result


def health() -> tuple[bool, dict]:
    conn = _redis_connection()
    report = {
        "database": check_database(),
        "redis": check_redis(conn),
        "workers": check_workers(conn),
    }
    report["queue"] = check_queue(conn, redis_ok=report["redis"]["ok"])
    ok = all(part["ok"] for part in report.values())
    report["status"] = "ok" if ok else "down"
    return ok, report
