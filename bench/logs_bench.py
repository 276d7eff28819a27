"""The logs page at 1,000,000 attempts: median ms of the first page, a deep page and a filtered
page, through the real view (Django's test client, session, templates, chart) and for the page
query alone, with the EXPLAIN of each page query.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.logs_bench
    ... -m bench.logs_bench --attempts 200000 --repeat 10      # quicker
    ... -m bench.logs_bench --keep-db                           # keep hookshot_logs_bench

PostgreSQL only (the point is the query plans of the production database). It works in a
database of its own, hookshot_logs_bench, created afresh and dropped at the end. The attempts
are generated with INSERT ... SELECT generate_series: one webhook with N attempts over the
last 30 days (one in twenty failed, five event types), plus a neighbour webhook with N/10, so
the webhook condition of the index matters.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from urllib.parse import urlsplit, urlunsplit

BENCH_DATABASE = "hookshot_logs_bench"
EVENT_TYPES = [
    "form.submitted",
    "content.viewed",
    "message.delivered",
    "message.read",
    "demo.session_finished",
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench.logs_bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--deep", type=int, default=2_000, help="pages walked for the deep page")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per measurement")
    parser.add_argument("--keep-db", action="store_true")
    return parser.parse_args(argv)


def _with_db(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def create_database(url: str) -> str:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    return _with_db(url, BENCH_DATABASE)


def drop_database(url: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')


def generate_attempts(cursor, *, workspace_id, webhook_id, attempts, deliveries, days=30):
    """N attempts of one webhook, newest now, one every (days / N), over `deliveries`
    deliveries; every 20th attempt failed (HTTP 500). Returns the first delivery id."""
    span = f"{days * 86400 / attempts:.6f} seconds"
    cursor.execute(
        """
        INSERT INTO deliveries_delivery
            (workspace_id, webhook_id, event_id, event_type, payload, message_id, status,
             is_test, next_trigger, attempt_count, next_attempt_at, lease_expires_at,
             last_attempt_at, last_status_code, last_error, created_at)
        SELECT %(ws)s, %(wh)s, NULL, (%(types)s::text[])[1 + g %% 5], NULL,
               'msg_' || lpad(%(wh)s::text, 4, '0') || lpad(g::text, 22, '0'),
               'succeeded', false, 'event', 1, now(), NULL, now(), 200, '',
               now() - (g * %(dspan)s::interval)
        FROM generate_series(1, %(n)s) AS g
        RETURNING id
        """,
        {"ws": workspace_id, "wh": webhook_id, "types": EVENT_TYPES, "n": deliveries,
         "dspan": f"{days * 86400 / deliveries:.6f} seconds"},
    )
    ids = [row[0] for row in cursor.fetchall()]
    first = min(ids)
    cursor.execute(
        """
        INSERT INTO deliveries_attempt
            (delivery_id, webhook_id, number, trigger, event_type, started_at, duration_ms,
             succeeded, request_method, request_url, request_headers, request_body,
             response_status, response_headers, response_body, response_truncated,
             error_kind, error_message)
        SELECT %(first)s + (g %% %(d)s), %(wh)s, 1 + g / %(d)s,
               CASE WHEN g %% 20 = 0 THEN 'retry' ELSE 'event' END,
               (%(types)s::text[])[1 + (g / 3) %% 5],
               now() - (g * %(span)s::interval), 20 + g %% 300,
               g %% 20 <> 0, 'POST', 'https://receiver.example.com/hooks/orders',
               '{"Content-Type": "application/json", "User-Agent": "Hookshot-Webhooks/1.0",
                 "webhook-id": "msg_0000", "webhook-timestamp": "1700000000",
                 "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}',
               '{"payload": {"formName": "Contact us", "email": "jane@example.com", "n": '
                 || g || ', "fields": {"company": "Acme", "message": "Hello there"}}}',
               CASE WHEN g %% 20 = 0 THEN 500 ELSE 200 END,
               '{"Content-Type": "application/json", "Content-Length": "18"}',
               CASE WHEN g %% 20 = 0 THEN 'upstream error' ELSE '{"received": true}' END,
               false, '', ''
        FROM generate_series(1, %(n)s) AS g
        """,
        {"first": first, "d": deliveries, "wh": webhook_id, "types": EVENT_TYPES,
         "n": attempts, "span": span},
    )
    return first


def walk(logs, webhook_id, filters, pages):
    """The cursor of page `pages + 1`, reached by following "Older" links."""
    cursor = None
    for _ in range(pages):
        cursor = logs.Cursor.decode(logs.page(webhook_id, filters, cursor).older)
    return cursor


def median_ms(fn, repeat: int) -> float:
    fn()  # warm the cache and the connection
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def explain(sql: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) " + sql, params)
        return "\n".join("    " + row[0] for row in cursor.fetchall())


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a PostgreSQL server (postgres://user@host:5432/postgres).")
        return 2
    bench_url = create_database(url)
    os.environ.update(
        DATABASE_URL=bench_url,
        DJANGO_SETTINGS_MODULE="webhooks_site.settings",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
    )
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(url)


def run(args) -> int:
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")  # no collectstatic here

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from deliveries import logs
    from subscriptions.models import Webhook
    from subscriptions.services import create_webhook
    from workspaces.services import add_member, create_workspace

    # No collectstatic here: plain static storage instead of the production manifest.
    override_settings(STORAGES={
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }).enable()
    call_command("migrate", verbosity=0)
    workspace = create_workspace(slug="bench", name="Bench")
    user = get_user_model().objects.create_user("alice", "alice@example.com", "x")
    add_member(workspace, user, "admin")
    hook = create_webhook(Webhook(workspace=workspace, name="Orders", url="https://receiver.example.com/hooks/orders",
                                  topics=EVENT_TYPES))
    other = create_webhook(Webhook(workspace=workspace, name="Neighbour", url="https://other.example.com/",
                                   topics=EVENT_TYPES))

    n = args.attempts
    started = time.perf_counter()
    with connection.cursor() as cursor:
        generate_attempts(cursor, workspace_id=workspace.pk, webhook_id=hook.pk, attempts=n,
                          deliveries=max(1, n // 4))
        generate_attempts(cursor, workspace_id=workspace.pk, webhook_id=other.pk,
                          attempts=max(1, n // 10), deliveries=max(1, n // 40))
        # Django runs in autocommit outside atomic(), so VACUUM may run here.
        cursor.execute("VACUUM ANALYZE deliveries_attempt")
        cursor.execute("VACUUM ANALYZE deliveries_delivery")
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
    elapsed = time.perf_counter() - started
    print(f"{version}; generated {n:,} + {n // 10:,} attempts in {elapsed:.1f} s")

    client = Client()
    client.force_login(user)
    base_url = f"/w/bench/settings/integrations/webhooks/{hook.pk}/logs/"

    # The deep page: walk the cursors as a reader pressing "Older" would.
    no_filter = logs.LogFilters()
    walk_started = time.perf_counter()
    deep = walk(logs, hook.pk, no_filter, args.deep)
    walk_s = time.perf_counter() - walk_started
    failed = logs.LogFilters(result="failed", event_type="form.submitted")
    failed_query = "?result=failed&event_type=form.submitted"
    failed_deep = walk(logs, hook.pk, failed, 100)

    cases = [
        ("first page", no_filter, None, ""),
        (f"page {args.deep + 1:,} (deep)", no_filter, deep, f"?cursor={deep.encode()}"),
        ("failed + one event type", failed, None, failed_query),
        ("  the same, page 101", failed, failed_deep,
         f"{failed_query}&cursor={failed_deep.encode()}"),
    ]
    rows = []
    for label, filters, cur, query in cases:
        response = client.get(base_url + query)
        assert response.status_code == 200, response.status_code
        queries = []  # counted with a wrapper: the test client resets connection.queries

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(base_url + query)
        view_ms = median_ms(lambda q=query: client.get(base_url + q), args.repeat)
        query_ms = median_ms(lambda f=filters, c=cur: logs.page(hook.pk, f, c), args.repeat)
        rows.append((label, view_ms, query_ms, len(queries)))
        sql, params = logs.page_sql(hook.pk, filters, cur)
        print(f"\nEXPLAIN {label}:\n{explain(sql, params)}")

    from deliveries import charts

    chart_ms = median_ms(lambda: charts.last_24h(hook.pk), args.repeat)
    print(f"\nWalked {args.deep:,} pages with cursors in {walk_s:.1f} s "
          f"({walk_s / args.deep * 1000:.2f} ms a page, query only)\n")
    print(f"Logs page at {n:,} attempts of one webhook (+{n // 10:,} of another), "
          f"median of {args.repeat}:")
    print(f"  {'page':<28} {'whole view ms':>14} {'page query ms':>14} {'queries':>8}")
    for label, view_ms, query_ms, count in rows:
        print(f"  {label:<28} {view_ms:>14.1f} {query_ms:>14.2f} {count:>8}")
    print(f"  (of each view: the 24 h chart and success rate query, {n // 30:,} attempts "
          f"a day, {chart_ms:.1f} ms; the rest is session, access checks and the template)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
