"""Soak: events at a steady rate for minutes against misbehaving receivers; nothing is lost.

    python -m bench.soak                  # 10 minutes, 200 events/s, 100 webhooks
    python -m bench.soak --minutes 1      # the quick version

The whole product runs as in production, each part in its own process: the web server
(gunicorn, as bench.procs starts it), RQ workers (SimpleWorker, as `runall`) and rqcron (the
sweeper every 5 s), on
PostgreSQL (DATABASE_URL's server, a database ``hookshot_soak`` made afresh and dropped after)
or SQLite, and Redis (REDIS_URL with a db of its own, 14 unless the URL names one, or an
embedded Redis). Everything listens on 127.0.0.1.

Each of 100 webhooks subscribes to one custom event name, so every event is one delivery. The
receiver (in this process) answers 200, except 10% 500 and 1% never (the webhook timeout, 2 s,
ends those); failures are retried by the default policy (1, 2, 4 ... minutes).

Every 10 s it samples the database: deliveries by status, the oldest due delivery's lag behind
its retry time, and the resident memory of each worker and of the web server. At the end it
stops posting, lets what is due be delivered, stops the sweeper and the workers (each finishes
the drain it is in), and checks, exactly:

- accepted (the sum of the 202 answers) = Events stored = Deliveries;
- accepted = succeeded + scheduled for a later retry (nothing failed for good, nothing left in
  "sending", nothing waiting that was never tried);
- every delivery recorded as succeeded was answered 200 by the receiver (and vice versa);
- the oldest due delivery was never older than its retry time plus 10 s;
- workers' and the web server's memory flat (growth after the first fifth of the run).

Exit status 0 when every check holds. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import environment as benv
from bench import procs

SOAK_DATABASE = "hookshot_soak"
SOAK_REDIS_DB = 14
LOG_DIR = benv.BASE_DIR / "var" / "soak"
MAX_LAG_SECONDS = 10
MEMORY_GROWTH_LIMIT = 40 * 1024 * 1024


# --- the receiver ---------------------------------------------------------------------------------


class Receiver:
    """Keep-alive HTTP/1.1 on 127.0.0.1, in a thread of this process (asyncio). Answers 200,
    or 500 (``fail_rate``), or nothing until the client gives up (``hang_rate``)."""

    def __init__(self, fail_rate: float, hang_rate: float, seed: int = 7):
        self.fail_rate, self.hang_rate = fail_rate, hang_rate
        self.random = random.Random(seed)
        self.ok_ids: set[str] = set()
        self.counts = {"200": 0, "500": 0, "hang": 0}
        self.lock = threading.Lock()
        self.port = benv_free_port()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self):
        self.loop = asyncio.new_event_loop()
        server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=512))
        self.ready.set()
        with contextlib.suppress(RuntimeError):
            self.loop.run_until_complete(server.serve_forever())

    def _outcome(self) -> str:
        with self.lock:
            roll = self.random.random()
        if roll < self.hang_rate:
            return "hang"
        return "500" if roll < self.hang_rate + self.fail_rate else "200"

    async def _serve(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length") or 0))
                outcome = self._outcome()
                with self.lock:
                    self.counts[outcome] += 1
                if outcome == "hang":
                    await asyncio.sleep(60)  # the worker's timeout ends it first
                    return
                status = b"200 OK" if outcome == "200" else b"500 Internal Server Error"
                writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                if outcome == "200":
                    with self.lock:
                        self.ok_ids.add(headers.get("webhook-id", ""))
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    def stop(self):
        """The loop runs in a daemon thread: it ends with the process, hanging answers and
        all (stopping it here would only print their cancellations)."""


def benv_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the environment ---------------------------------------------------------------------------


def postgres_database(url: str) -> str:
    import psycopg

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SOAK_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{SOAK_DATABASE}"')
    return urlunsplit(parts._replace(path=f"/{SOAK_DATABASE}"))


def drop_postgres_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{SOAK_DATABASE}" WITH (FORCE)')


def redis_url_of_its_own(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss") and parts.path.strip("/") == "":
        return urlunsplit(parts._replace(path=f"/{SOAK_REDIS_DB}"))
    return url


# --- the run ------------------------------------------------------------------------------------


def setup_data(webhooks: int, receiver_port: int, timeout: int):
    from subscriptions.models import Webhook
    from subscriptions.services import create_webhook
    from workspaces.services import create_workspace

    workspace = create_workspace(slug="soak", name="Soak")
    for i in range(webhooks):
        create_webhook(Webhook(
            workspace=workspace, name=f"soak {i}", url=f"http://127.0.0.1:{receiver_port}/h/{i}",
            topics=["custom"], event_names=[f"soak-{i}"], timeout_seconds=timeout,
        ))
    return workspace


def sample(workers, web, started) -> dict:
    from django.db.models import Count, Min
    from django.utils import timezone

    from deliveries.models import Delivery
    from webhooks_site.redis import get_connection

    now = timezone.now()
    by_status = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    oldest_due = Delivery.objects.filter(status="pending", next_attempt_at__lte=now).aggregate(
        m=Min("next_attempt_at"))["m"]
    lease_expired = Delivery.objects.filter(status="sending", lease_expires_at__lt=now).aggregate(
        m=Min("lease_expires_at"))["m"]
    lags = [(now - t).total_seconds() for t in (oldest_due, lease_expired) if t]
    return {
        "t": round(time.monotonic() - started, 1),
        "status": by_status,
        "lag_s": round(max(lags), 1) if lags else 0.0,
        # Drain jobs waiting in RQ: a growing queue is what makes due deliveries late.
        "queued_jobs": get_connection().llen("rq:queue:default"),
        "workers_rss_mb": [round((w.rss() or 0) / 2**20, 1) for w in workers],
        "web_rss_mb": round((web.tree_rss() or 0) / 2**20, 1),  # gunicorn and its workers
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--webhooks", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10, help="events per ingest request")
    parser.add_argument("--workers", type=int, default=8,
                        help="1%% hanging 2 s at 200/s hold ~4 workers at any time")
    parser.add_argument("--fail-rate", type=float, default=0.10)
    parser.add_argument("--hang-rate", type=float, default=0.01)
    parser.add_argument("--timeout", type=int, default=2, help="the webhooks' timeout, seconds")
    parser.add_argument("--settle", type=float, default=30,
                        help="seconds after the last event for what is due to be delivered")
    parser.add_argument("--json", type=Path, help="write the samples and the verdict here")
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL", "")
    embedded = None
    if database_url.startswith("postgres"):
        database_url = postgres_database(database_url)
    else:
        database_url, _label = benv.sqlite_database()
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        redis_url = redis_url_of_its_own(redis_url)
        benv.clean_redis(redis_url)
    else:
        from webhooks_site.redis import embedded_url, start_embedded_redis

        embedded = start_embedded_redis(LOG_DIR)
        redis_url = embedded_url(LOG_DIR)
    env = {**benv.process_env(database_url, redis_url), "WEBHOOKS_LEASE_SECONDS": "30"}
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    receiver = Receiver(args.fail_rate, args.hang_rate)
    workspace = setup_data(args.webhooks, receiver.port, args.timeout)
    port = benv_free_port()
    web = procs.start_web(port, env, LOG_DIR)
    workers = procs.start_workers(args.workers, env, LOG_DIR)
    sweeper = procs.start_sweeper(env, LOG_DIR)
    everything = [web, *workers, sweeper]
    verdict: dict = {}
    def stop_delivering():
        sweeper.stop()
        for worker in workers:  # one SIGTERM each: RQ's warm shutdown finishes its drain
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.process.wait(40)
            worker.stop()  # only its leftovers now (a second SIGTERM would be a cold stop)

    try:
        procs.wait_for_http(f"http://127.0.0.1:{port}/healthz", web)
        procs.wait_for_workers(workers, redis_url)
        verdict = run(args, workspace, port, receiver, workers, web, stop_delivering)
    finally:
        for process in everything:
            process.stop()
        receiver.stop()
        from django.db import connections

        connections.close_all()
        if database_url.startswith("postgres"):
            drop_postgres_database(database_url)
        if embedded is not None:
            embedded.shutdown()
    if args.json:
        args.json.write_text(json.dumps(verdict, indent=2, default=str))
    return 0 if verdict.get("ok") else 1


def run(args, workspace, port, receiver, workers, web, stop_delivering) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from django.db.models import Count

    from deliveries.models import Delivery, Event

    local = threading.local()
    url = f"http://127.0.0.1:{port}/api/v1/events"
    headers = {"Authorization": f"Bearer {workspace.client_token}",
               "Content-Type": "application/json"}
    latencies: list[float] = []

    def post(events) -> int:
        """One ingest request; returns how many events were accepted (0 when refused)."""
        if not hasattr(local, "session"):
            local.session = requests.Session()
        t0 = time.monotonic()
        response = local.session.post(url, data=json.dumps(events), headers=headers, timeout=30)
        latencies.append(time.monotonic() - t0)
        return response.json()["accepted"] if response.status_code == 202 else -len(events)

    duration = args.minutes * 60
    interval = args.batch / args.rate
    started = time.monotonic()
    samples, futures = [], []
    next_post, next_sample, n = started, started, 0
    print(f"soak: {args.minutes:g} min at {args.rate} events/s to {args.webhooks} webhooks, "
          f"{args.workers} workers, receiver 500s {args.fail_rate:.0%}, hangs {args.hang_rate:.0%}"
          f", timeout {args.timeout} s", flush=True)
    # Requests go out on schedule from a pool, so a slow answer never lowers the rate.
    with ThreadPoolExecutor(max_workers=8) as pool:
        while (now := time.monotonic()) - started < duration:
            if now >= next_sample:
                samples.append(sample(workers, web, started))
                print(json.dumps(samples[-1]), flush=True)
                next_sample += 10
            if now < next_post:
                time.sleep(min(next_post - now, 0.01))
                continue
            events = [{"type": "custom", "name": f"soak-{(n + i) % args.webhooks}",
                       "payload": {"n": n + i}} for i in range(args.batch)]
            n += args.batch
            futures.append(pool.submit(post, events))
            next_post += interval
    results = [f.result() for f in futures]
    accepted = sum(r for r in results if r > 0)
    refused = -sum(r for r in results if r < 0)

    posted_for = time.monotonic() - started
    settle_until = time.monotonic() + args.settle
    while time.monotonic() < settle_until:
        time.sleep(min(10, max(0, settle_until - time.monotonic())))
        samples.append(sample(workers, web, started))
        print(json.dumps(samples[-1]), flush=True)
    # Quiet: the sweeper and the workers stop (each finishes its drain), so nothing is in
    # flight. What is left undelivered must be waiting for a retry, having been tried.
    stop_delivering()
    statuses = dict(Delivery.objects.values_list("status").annotate(n=Count("id")))
    succeeded_ids = set(Delivery.objects.filter(status="succeeded").values_list(
        "message_id", flat=True))
    scheduled = Delivery.objects.filter(status="pending", attempt_count__gt=0).count()
    never_tried = Delivery.objects.filter(status="pending", attempt_count=0).count()
    with receiver.lock:
        ok_ids = set(receiver.ok_ids)
        answers = dict(receiver.counts)
    first = max(1, len(samples) // 5)
    worker_growth = [
        (samples[-1]["workers_rss_mb"][i] - samples[first]["workers_rss_mb"][i])
        for i in range(len(workers))
    ]
    web_growth = samples[-1]["web_rss_mb"] - samples[first]["web_rss_mb"]
    max_lag = max(s["lag_s"] for s in samples)
    checks = {
        "accepted = events = deliveries": accepted == Event.objects.count()
        == Delivery.objects.count(),
        "accepted = succeeded + scheduled for retry": accepted == len(succeeded_ids) + scheduled,
        "nothing failed for good, left sending or never tried": statuses.get("failed", 0) == 0
        and statuses.get("sending", 0) == 0 and never_tried == 0,
        "succeeded = answered 200 by the receiver": succeeded_ids == ok_ids,
        f"oldest due delivery <= its retry time + {MAX_LAG_SECONDS} s": max_lag <= MAX_LAG_SECONDS,
        "memory flat": max(worker_growth) * 2**20 < MEMORY_GROWTH_LIMIT
        and web_growth * 2**20 < MEMORY_GROWTH_LIMIT,
        "no event refused": refused == 0,
    }
    verdict = {
        "minutes": args.minutes, "posted_for_s": round(posted_for, 1),
        "rate_events_per_s": round(accepted / posted_for, 1),
        "accepted": accepted, "statuses": statuses, "scheduled_for_retry": scheduled,
        "receiver_answers": answers,
        "ingest_latency_ms": {
            "p50": round(statistics.median(latencies) * 1000, 1),
            "p99": round(statistics.quantiles(latencies, n=100)[98] * 1000, 1),
            "max": round(max(latencies) * 1000, 1),
        },
        "max_lag_s": max_lag,
        "worker_rss_mb": {"after_first_fifth": samples[first]["workers_rss_mb"],
                          "end": samples[-1]["workers_rss_mb"]},
        "web_rss_mb": {"after_first_fifth": samples[first]["web_rss_mb"],
                       "end": samples[-1]["web_rss_mb"]},
        "checks": checks, "ok": all(checks.values()), "samples": samples,
    }
    print(json.dumps({k: v for k, v in verdict.items() if k != "samples"}, indent=2), flush=True)
    return verdict


if __name__ == "__main__":
    sys.exit(main())
