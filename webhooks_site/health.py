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


def health() -> tuple[bool, dict]:
    conn = _redis_connection()
    report = {
        "database": check_database(),
        "redis": check_redis(conn),
        "workers": check_workers(conn),
    }
    ok = all(part["ok"] for part in report.values())
    report["status"] = "ok" if ok else "down"
    return ok, report
