"""`make bench`: throughput, latency, raw ceiling and worker memory of the delivery engine.

    make bench                                  # SQLite + embedded Redis unless the env says
    DATABASE_URL=postgres://... REDIS_URL=redis://127.0.0.1:6379/5 make bench
    make bench BENCH_ARGS=--quick               # smoke run, well under a minute
    make bench BENCH_ARGS=--memory              # + 100,000 deliveries with worker RSS samples

Phases (README "Benchmark" says what each measures):
  raw ceiling  one process, one keep-alive session, the same signed body, to the sink:
               deliveries.http.request (guarded) and a bare requests.Session (plain);
  profile      drain(webhook_id) in this process: SQL counted and timed, then cProfile;
  throughput   N pending deliveries (events x 50 webhooks) inserted with the workers stopped,
               then two `rqworker ... SimpleWorker` processes and wake(): wall time until all
               are succeeded in the database (polled every 0.2 s);
  memory       (--memory) 100,000 more deliveries in 20,000 chunks, worker RSS after each;
  latency      gunicorn (or --web runserver) + the same workers; one event per
               POST /api/v1/events at a paced rate; latency = sink arrival - time just
               before the POST.

Everything it starts (sink, workers, web server, embedded Redis) is stopped on the way out,
Ctrl-C and errors included; its database (hookshot_bench or var/bench/bench.sqlite3) is dropped.
The report is printed and written to var/bench/last.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import platform
import signal
import sys
import time
from pathlib import Path

from bench.environment import BASE_DIR, BENCH_DATABASE, BENCH_DIR
from bench.sink import Sink, free_port

TARGET_RATIO = 0.5
TARGET_P99_MS = 300
TARGET_MEMORY_GROWTH = 0.10
POLL_SECONDS = 0.2
MB = 1024 * 1024


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2,000 deliveries, 10 s of latency, 600 raw requests",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="add the memory phase (100,000 deliveries, RSS every 20,000)",
    )
    parser.add_argument("--deliveries", type=int, help="throughput deliveries (default 20,000)")
    parser.add_argument("--webhooks", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=200, help="latency phase events/s")
    parser.add_argument("--duration", type=float, help="latency phase seconds (default 30)")
    parser.add_argument(
        "--threads",
        type=int,
        help="latency phase client threads (default rate / 12.5, at least 4: "
        "runserver answers a keep-alive request ~45 ms late, see README)",
    )
    parser.add_argument(
        "--web",
        choices=["gunicorn", "runserver"],
        default="gunicorn",
        help="the latency phase's web server: gunicorn as in production (default), or "
        "Django's runserver as `make run` starts it",
    )
    parser.add_argument("--raw-requests", type=int, help="raw ceiling requests (default 5,000)")
    parser.add_argument("--memory-deliveries", type=int, default=100_000)
    parser.add_argument("--memory-step", type=int, default=20_000)
    parser.add_argument(
        "--profile-deliveries",
        type=int,
        help="deliveries per in-process drain profile (default 1,000)",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the in-process profile")
    parser.add_argument(
        "--no-sweeper",
        action="store_true",
        help="do not run the cron sweeper (`rqcron webhooks_site.cron`) next to "
        "the workers, as `make run` does",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the bench database")
    args = parser.parse_args(argv)
    quick = args.quick
    args.deliveries = args.deliveries or (2_000 if quick else 20_000)
    args.duration = args.duration or (10 if quick else 30)
    args.raw_requests = args.raw_requests or (600 if quick else 5_000)
    args.profile_deliveries = args.profile_deliveries or (200 if quick else 1_000)
    args.threads = args.threads or max(4, math.ceil(args.rate / 12.5))
    if args.deliveries % args.webhooks:
        parser.error("--deliveries must be a multiple of --webhooks")
    return args


def say(message: str = "") -> None:
    print(message, flush=True)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None) -> int:
    args = parse_args(argv)
    # SIGINT too: a shell starts background jobs with SIGINT ignored, and Python then never
    # raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _raise_interrupt)
    cleanup = contextlib.ExitStack()
    report: dict = {"started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    code = 0
    try:
        Bench(args, cleanup, report).run()
    except KeyboardInterrupt:
        say("\nInterrupted: stopping everything the bench started.")
        code = 130
    except Exception as exc:
        say("\nThe bench failed: stopping everything it started.")
        report["fatal_error"] = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(OSError):
            BENCH_DIR.mkdir(parents=True, exist_ok=True)
            (BENCH_DIR / "last.json").write_text(json.dumps(report, indent=2, default=str))
        raise
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        started = time.monotonic()
        cleanup.close()
        say(f"Stopped everything the bench started in {time.monotonic() - started:.1f} s.")
    return code


class Bench:
    def __init__(self, args, cleanup: contextlib.ExitStack, report: dict):
        self.args = args
        self.cleanup = cleanup
        self.report = report
        self.logs = BENCH_DIR / "logs"
        self.workers = []
        self.managed = []  # every manage.py process started, for stop_all
        self.started = time.monotonic()

    # --- set-up -----------------------------------------------------------------------------

    def run(self) -> None:
        args, report = self.args, self.report
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        for old in self.logs.glob("*.log"):
            old.unlink()
        report["machine"] = {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        }
        report["mode"] = "quick" if args.quick else "default"
        report["engine_files_sha256"] = _fingerprint(
            "deliveries/drain.py",
            "deliveries/http.py",
            "deliveries/services.py",
            "deliveries/api.py",
            "deliveries/formats.py",
            "deliveries/signing.py",
        )
        report["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
        report["options"] = {k: v for k, v in vars(args).items()}

        self.sink = Sink(cwd=BASE_DIR).start()
        self.cleanup.callback(self.sink.stop)
        report["sink"] = f"{self.sink.kind}, {self.sink.base_url}"
        say(f"Sink: {report['sink']}")

        report["phase_seconds"] = self.phase_seconds = {}
        self._timed("setup", self._prepare_stores)
        self._timed("seed", self._seed)
        self._timed("raw", self.phase_raw)
        self._timed("insert", self._insert_throughput)
        if not args.no_profile:
            self._timed("profile", self.phase_profile, critical=False)
        self._timed("workers", self._start_workers)
        self._timed("throughput", self.phase_throughput, critical=False)
        if args.memory and "throughput" in report:
            self._timed("memory", self.phase_memory, critical=False)
        self._timed("latency", self.phase_latency, critical=False)
        report["worker_rss_mb"] = self.rss_series
        report["wall_seconds"] = round(time.monotonic() - self.started, 1)
        self._finish()

    def _timed(self, name: str, phase, critical: bool = True) -> None:
        """Run a phase. A measurement phase that fails (critical=False) is recorded in the
        report and the others still run: this code base changes while it is measured."""
        started = time.monotonic()
        try:
            phase()
        except Exception as exc:
            if critical:
                raise
            message = f"{type(exc).__name__}: {exc}"
            self.report.setdefault("errors", {})[name] = message
            say(f"\n  {name} phase FAILED: {message[:2000]}")
        finally:
            self.phase_seconds[name] = round(time.monotonic() - started, 1)

    def _prepare_stores(self) -> None:
        from bench import environment as envmod

        args, report = self.args, self.report
        if os.environ.get("DATABASE_URL"):
            original = os.environ["DATABASE_URL"]
            db_url, db_label = envmod.create_postgres_database(original)
            if not args.keep_db:
                self.cleanup.callback(envmod.drop_postgres_database, original)
            self.db_kind = "postgresql"
        else:
            db_url, db_label = envmod.sqlite_database()
            if not args.keep_db:
                self.cleanup.callback(envmod.remove_sqlite_database)
            self.db_kind = "sqlite"
        if os.environ.get("REDIS_URL"):
            redis_url = envmod.dedicated_redis_url(os.environ["REDIS_URL"])
            envmod.clean_redis(redis_url)
            self.cleanup.callback(envmod.delete_redis_keys, redis_url)
            redis_label = envmod.redis_label(redis_url, embedded=False)
        else:
            from webhooks_site.redis import embedded_url, start_embedded_redis

            server = start_embedded_redis(BENCH_DIR)
            self.cleanup.callback(server.shutdown)
            redis_url = embedded_url(BENCH_DIR)
            redis_label = envmod.redis_label(redis_url, embedded=True)
        self.redis_url = redis_url
        self.env = envmod.process_env(db_url, redis_url)
        os.environ.update(self.env)
        report["database"] = db_label
        report["redis"] = redis_label
        say(f"Database: {db_label}")
        say(f"Redis: {redis_label}")

        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        self.cleanup.callback(connections.close_all)  # before the database is dropped
        # Workers, sweeper and web server: stopped together, before the stores they use.
        from bench.procs import stop_all

        self.cleanup.callback(stop_all, self.managed)
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        say(f"Migrated in {time.perf_counter() - started:.1f} s")

    def _seed(self) -> None:
        from subscriptions.models import Webhook
        from subscriptions.services import create_webhook
        from workspaces.services import create_workspace

        base = self.sink.base_url
        self.workspace = create_workspace(slug="bench", name="Bench")
        self.hooks = [
            create_webhook(
                Webhook(
                    workspace=self.workspace,
                    name=f"bench-{i:02d}",
                    url=f"{base}/hook/{i:02d}",
                    topics=["form.submitted"],
                    format=Webhook.Format.DEFAULT,
                )
            )
            for i in range(self.args.webhooks)
        ]
        # Latency and profile phases each get a webhook of their own, on a topic no other uses.
        self.latency_hook = create_webhook(
            Webhook(
                workspace=self.workspace,
                name="bench-latency",
                url=f"{base}/latency",
                topics=["content.viewed"],
                format=Webhook.Format.DEFAULT,
            )
        )
        self.profile_hook = create_webhook(
            Webhook(
                workspace=self.workspace,
                name="bench-profile",
                url=f"{base}/profile",
                topics=["content.interaction"],
                format=Webhook.Format.DEFAULT,
            )
        )
        self.hook_ids = [h.pk for h in self.hooks]
        say(
            f"Seeded 1 workspace, {len(self.hooks)} webhooks (form.submitted, format default) "
            "+ 1 latency webhook (content.viewed) + 1 profile webhook (content.interaction)"
        )

    def _insert(self, events: int, event_type: str, prefix: str, chunk: int = 50) -> float:
        """publish_many in chunks of `chunk` events; returns seconds taken."""
        from deliveries.services import EventInput, publish_many

        started = time.perf_counter()
        for first in range(0, events, chunk):
            now = time.time()
            publish_many(
                self.workspace,
                [
                    EventInput(event_type, {"bench_id": f"{prefix}{i}", "sent_at": now})
                    for i in range(first, min(events, first + chunk))
                ],
            )
        return time.perf_counter() - started

    # --- raw ceiling ------------------------------------------------------------------------

    def phase_raw(self) -> None:
        from bench import raw

        n = self.args.raw_requests
        rounds = 2
        say(
            f"\n[raw ceiling] the same signed POST over one keep-alive session: guarded, plain "
            f"requests.Session, plain with trust_env=False; {n:,} each in {rounds} interleaved "
            "rounds (best round kept)"
        )
        url, headers, body = raw.signed_request(self.sink.base_url)
        self.sink.reset()
        cpu_before, started = self._cpu(), time.perf_counter()
        best = raw.ceilings(url, headers, body, n, rounds)
        cpu = self._cpu_share(cpu_before, self._cpu(), time.perf_counter() - started)
        received = self.sink.count()
        check_us = raw.guard_check_microseconds()
        guarded, plain, plain_no_env = best["guarded"], best["plain"], best["plain_no_env"]
        self.report["raw"] = {
            "requests": n,
            "rounds": rounds,
            "body_bytes": len(body),
            "guarded_rps": round(guarded, 1),
            "plain_rps": round(plain, 1),
            "plain_trust_env_false_rps": round(plain_no_env, 1),
            "guard_cost_us_vs_plain": round((1 / guarded - 1 / plain) * 1e6, 1),
            "guard_cost_us_vs_plain_trust_env_false": round(
                (1 / guarded - 1 / plain_no_env) * 1e6, 1
            ),
            "ssrf_check_us_when_enabled": round(check_us, 1),
            "sink_received": received,
            "cpu_cores_used": cpu,
        }
        say(f"  guarded (deliveries.http.request):       {guarded:,.0f} req/s")
        say(f"  plain requests.Session():                 {plain:,.0f} req/s")
        say(f"  plain requests.Session(), trust_env=False: {plain_no_env:,.0f} req/s")
        say(
            f"  SSRF resolve+check alone (skipped here, private networks allowed): "
            f"{check_us:.0f} us/request; sink received {received:,}"
        )
        say(f"  CPU cores used: {_fmt_cpu(cpu)}")

    # --- profile ----------------------------------------------------------------------------

    def _insert_throughput(self) -> None:
        args = self.args
        events = args.deliveries // args.webhooks
        say(
            f"\n[insert] {events:,} events x {args.webhooks} webhooks = {args.deliveries:,} "
            "pending deliveries via publish_many (workers stopped)"
        )
        seconds = self._insert(events, "form.submitted", "T")
        self.report["insert"] = {
            "events": events,
            "deliveries": args.deliveries,
            "seconds": round(seconds, 2),
            "deliveries_per_s": round(args.deliveries / seconds, 1),
        }
        say(f"  inserted in {seconds:.1f} s ({args.deliveries / seconds:,.0f} deliveries/s)")

    def phase_profile(self) -> None:
        from bench import profiling

        n = self.args.profile_deliveries
        say(
            f"\n[profile] drain() in this process, {n:,} deliveries of one webhook, "
            "SQL timed; then again under cProfile"
        )
        log_path = self.logs / "profile.log"
        self._insert(n, "content.interaction", "P")
        timed = profiling.timed_drain(self.profile_hook.pk, n, log_path)
        # The ingest API in-process: its events are the next drain's deliveries.
        ingest = profiling.ingest_cost(self.workspace.client_token, n, "content.interaction")
        profiled = profiling.profiled_drain(
            self.profile_hook.pk,
            ingest["deliveries_created"],
            log_path,
            BENCH_DIR / f"profile-{self.db_kind}.txt",
        )
        small = profiling.small_drain_cost(
            self.workspace,
            self.profile_hook.pk,
            "content.interaction",
            log_path,
            repeats=20 if self.args.quick else 50,
        )
        self.report["profile"] = {
            "timed": timed,
            "cprofile": profiled,
            "ingest": ingest,
            "one_delivery_drain": small,
        }
        say(
            f"  one process, one webhook: {timed['deliveries_per_s']:,.0f} deliveries/s "
            f"({timed['ms_per_delivery']} ms each, CPU-busy {timed['cpu_share']:.0%}); "
            f"{timed['sql_per_delivery']} SQL statements per delivery, SQL "
            f"{timed['sql_share']:.0%} of the time, {timed['commits']} commits "
            f"{timed['commit_ms_total']:.0f} ms"
        )
        say(
            f"    {'step (timing counters, no profiler)':<72} {'wall us':>8} {'cpu us':>7} "
            f"{'share':>6}"
        )
        for step in timed["steps"]:
            say(
                f"    {step['step']:<72} {step['us_per_delivery']:>8,.0f} "
                f"{step['cpu_us_per_delivery']:>7,.0f} {step['share']:>6.0%}"
            )
        say(
            "    SQL by statement (us per delivery): "
            + ", ".join(
                f"{shape} x{v['count']} {v['us_per_delivery']:.0f}"
                for shape, v in list(timed["sql_by_shape"].items())[:6]
            )
        )
        say(
            f"  ingest API in-process (RequestFactory -> ingest_events, 1 event per request): "
            f"{ingest['ms_per_request']} ms wall, {ingest['cpu_ms_per_request']} ms CPU, "
            f"{ingest['sql_per_request']} SQL ({ingest['sql_ms_per_request']} ms) per request "
            f"-> {ingest['cores_at_200_per_s']} cores at 200 events/s before any HTTP server; "
            + ", ".join(f"{k} {v} ms" for k, v in ingest["steps_ms"].items())
        )
        say(
            f"  a drain job that finds 1 delivery (steady trickle): {small['ms_per_job']} ms wall, "
            f"{small['cpu_ms_per_job']} ms CPU, {small['sql_per_job']} SQL statements "
            f"({small['sql_ms_per_job']} ms), {small['commits_per_job']} transactions committed "
            "by Django, per job; "
            + ", ".join(f"{k} x{v}" for k, v in list(small["sql_by_shape_per_job"].items())[:8])
        )
        say(
            f"  cProfile (inflates Python-heavy code; full: {profiled['full_profile']}), "
            "top own time:"
        )
        for row in profiled["top_own_time"][:8]:
            say(f"    {row['function']:<90} {row['own_s']:>6.2f} s  {row['share']:>5.0%}")

    # --- workers ----------------------------------------------------------------------------

    def _start_workers(self) -> None:
        from bench import environment as envmod
        from bench import procs

        # The publish_many calls above queued drain jobs; start from an empty queue so the
        # throughput clock starts at wake().
        envmod.delete_redis_keys(self.redis_url)
        self.workers = procs.start_workers(self.args.workers, self.env, self.logs)
        self.managed.extend(self.workers)
        took = procs.wait_for_workers(self.workers, self.redis_url)
        say(
            f"\n[workers] {len(self.workers)} x `manage.py {' '.join(procs.WORKER_ARGS)}` "
            f"registered in {took:.1f} s"
        )
        self.sweeper = None
        if not self.args.no_sweeper:
            self.sweeper = procs.start_sweeper(self.env, self.logs)
            self.managed.append(self.sweeper)
            say("  + `manage.py rqcron webhooks_site.cron` (the sweeper every 5 s), as make run")
        self.report["sweeper"] = self.sweeper is not None
        self.rss_series: list[dict] = []

    def _rss(self, label: str, delivered: int | None = None) -> dict:
        sample = {"at": label}
        if delivered is not None:
            sample["delivered"] = delivered
        for worker in self.workers:
            rss = worker.rss()
            sample[worker.name] = round(rss / MB, 1) if rss else None
        self.rss_series.append(sample)
        return sample

    def _remaining(self, webhook_ids) -> int:
        from deliveries.models import Delivery

        return Delivery.objects.filter(
            webhook_id__in=webhook_ids,
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        ).count()

    def _wait_until_drained(self, webhook_ids, stall_seconds: float = 30) -> float:
        """Poll the database every 0.2 s until no delivery of these webhooks is pending or
        sending; return the perf_counter time it was first seen so."""
        last_remaining, last_change = None, time.monotonic()
        while True:
            remaining = self._remaining(webhook_ids)
            now = time.perf_counter()
            if remaining == 0:
                return now
            if remaining != last_remaining:
                last_remaining, last_change = remaining, time.monotonic()
            elif time.monotonic() - last_change > stall_seconds:
                raise RuntimeError(self._stall_report(webhook_ids, remaining))
            for worker in self.workers:
                if not worker.alive():
                    raise RuntimeError(f"{worker.name} died:\n{worker.tail()}")
            time.sleep(POLL_SECONDS)

    def _job_failures(self, phase: str) -> dict:
        """Failed drain jobs (tracebacks in the worker logs) since the previous call."""
        from bench import procs

        scan = procs.scan_worker_logs(w.log_path for w in self.workers)
        seen = getattr(self, "_failures_seen", 0)
        self._failures_seen = scan["failed_jobs"]
        scan["failed_jobs"] -= seen
        if scan["failed_jobs"]:
            say(
                f"  ENGINE ERRORS during {phase}: {scan['failed_jobs']} drain jobs failed "
                f"(cumulative reasons {scan['reasons']}, raised at {scan['raised_at']})"
            )
        return scan

    def _stall_report(self, webhook_ids, remaining: int) -> str:
        from django.db.models import Count

        from deliveries.models import Delivery

        by_status = dict(
            Delivery.objects.filter(webhook_id__in=webhook_ids)
            .values_list("status")
            .annotate(n=Count("id"))
        )
        errors = list(
            Delivery.objects.filter(webhook_id__in=webhook_ids)
            .exclude(last_error="")
            .values_list("last_error", flat=True)[:3]
        )
        return (
            f"no progress for 30 s with {remaining} deliveries left; by status {by_status}; "
            f"errors {errors}; worker log:\n{self.workers[0].tail()}"
        )

    def _cpu(self) -> dict:
        """CPU seconds used so far, per role (postgres and redis-server found by name)."""
        import psutil

        def tree(pid):
            try:
                proc = psutil.Process(pid)
                procs = [proc, *proc.children(recursive=True)]
            except psutil.Error:
                return 0.0
            total = 0.0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system
            return total

        sample = {"workers": sum(tree(w.pid) for w in self.workers)}
        if getattr(self, "sweeper", None) is not None:
            sample["sweeper"] = tree(self.sweeper.pid)
        if getattr(self, "web", None) is not None:
            sample["web"] = tree(self.web.pid)
        sample["sink"] = tree(self.sink.process.pid) if self.sink.process else 0.0
        me = psutil.Process().cpu_times()
        sample["bench"] = me.user + me.system
        # PostgreSQL: the backends serving the bench database and the server's own background
        # processes; backends of other databases (someone's test run) count as "others".
        sample["postgres"] = sample["redis-server"] = 0.0
        for p in psutil.process_iter(["name", "cmdline"]):
            name = p.info["name"]
            if name not in ("postgres", "redis-server"):
                continue
            if name == "postgres":
                title = " ".join(p.info["cmdline"] or [])
                is_backend = "(" in title  # "postgres: user db 127.0.0.1(port) idle"
                if is_backend and BENCH_DATABASE not in title:
                    continue
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                sample[name] += t.user + t.system
        times = psutil.cpu_times()
        sample["_busy"] = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        return sample

    @staticmethod
    def _cpu_share(before: dict, after: dict, seconds: float) -> dict:
        """Cores used per role over the phase; "others" is the machine's busy time that none
        of the bench's processes account for (other users of this machine)."""
        shares = {}
        ours = 0.0
        for role in after:
            if role.startswith("_"):
                continue
            used = after.get(role, 0) - before.get(role, 0)
            ours += used
            if used > 0.005 * seconds:
                shares[role] = round(used / seconds, 2)
        busy = after["_busy"] - before["_busy"]
        shares["others"] = round(max(0.0, busy - ours) / seconds, 2)
        return shares

    def _sink_check(self, expected_pairs: int, path_prefix: str) -> dict:
        stats = self.sink.stats()
        pairs = {
            (path, bench_id)
            for path, bench_id in zip(stats["paths"], stats["ids"], strict=True)
            if path.startswith(path_prefix)
        }
        arrivals = [
            a
            for a, p in zip(stats["arrivals"], stats["paths"], strict=True)
            if p.startswith(path_prefix)
        ]
        return {
            "requests": len(arrivals),
            "distinct_deliveries": len(pairs),
            "duplicates": len(arrivals) - len(pairs),
            "missing": max(0, expected_pairs - len(pairs)),
            "connections": stats["connections"],
            "first_arrival": min(arrivals) if arrivals else None,
            "last_arrival": max(arrivals) if arrivals else None,
        }

    # --- throughput -------------------------------------------------------------------------

    def phase_throughput(self) -> None:
        from deliveries.models import Delivery
        from deliveries.services import wake

        n = self.args.deliveries
        say(
            f"[throughput] wake() for {len(self.hook_ids)} webhooks, {n:,} pending deliveries, "
            f"{len(self.workers)} workers"
        )
        self.sink.reset()
        self._rss("throughput start", 0)
        cpu_before = self._cpu()
        started = time.perf_counter()
        wake(self.hook_ids, force=True)
        finished = self._wait_until_drained(self.hook_ids)
        seconds = finished - started
        cpu = self._cpu_share(cpu_before, self._cpu(), seconds)
        self._rss("throughput end", n)
        succeeded = Delivery.objects.filter(
            webhook_id__in=self.hook_ids, status=Delivery.Status.SUCCEEDED
        ).count()
        sink = self._sink_check(n, "/hook/")
        rate = succeeded / seconds
        sink_span = (sink["last_arrival"] or 0) - (sink["first_arrival"] or 0)
        self.report["throughput"] = {
            "deliveries": n,
            "succeeded": succeeded,
            "seconds": round(seconds, 2),
            "deliveries_per_s": round(rate, 1),
            "sink": sink,
            "sink_rate_first_to_last": (
                round(sink["requests"] / sink_span, 1) if sink_span else None
            ),
            "cpu_cores_used": cpu,
            "failed_jobs": self._job_failures("throughput"),
        }
        ok = "OK" if sink["requests"] >= n and succeeded == n else "SHORT"
        say(
            f"  {succeeded:,} succeeded in {seconds:.2f} s -> {rate:,.0f} deliveries/s; sink got "
            f"{sink['requests']:,} requests ({sink['distinct_deliveries']:,} distinct, "
            f"{sink['duplicates']} duplicates) [{ok}]"
        )
        say(f"  CPU cores used: {_fmt_cpu(cpu)}")
        if succeeded != n:
            raise RuntimeError(f"only {succeeded} of {n} deliveries succeeded")

    # --- memory -----------------------------------------------------------------------------

    def phase_memory(self) -> None:
        args = self.args
        step = args.memory_step
        rounds = args.memory_deliveries // step
        events = step // args.webhooks
        say(
            f"\n[memory] {rounds * step:,} more deliveries in {rounds} chunks of {step:,} "
            "(inserted while the workers run), worker RSS after each"
        )
        self.sink.reset()
        first = self._rss("memory start", 0)
        started = time.perf_counter()
        samples = []
        for r in range(rounds):
            self._insert(events, "form.submitted", f"M{r}_")
            self._wait_until_drained(self.hook_ids)
            sample = self._rss(f"memory {(r + 1) * step:,}", (r + 1) * step)
            samples.append(sample)
            say(
                "  after {:>7,}: {}".format(
                    (r + 1) * step, ", ".join(f"{w.name} {sample[w.name]} MB" for w in self.workers)
                )
            )
        seconds = time.perf_counter() - started
        sink = self._sink_check(rounds * step, "/hook/")
        growth = {}
        for w in self.workers:
            base = samples[0][w.name]
            growth[w.name] = round((samples[-1][w.name] - base) / base, 3)
        flat = all(g < TARGET_MEMORY_GROWTH for g in growth.values())
        self.report["memory"] = {
            "deliveries": rounds * step,
            "seconds_incl_inserts": round(seconds, 1),
            "rss_at_start_mb": {w.name: first[w.name] for w in self.workers},
            "growth_first_to_last_sample": growth,
            "growth_from_phase_start": {
                w.name: round((samples[-1][w.name] - first[w.name]) / first[w.name], 3)
                for w in self.workers
            },
            "flat": flat,
            "sink": sink,
            "failed_jobs": self._job_failures("memory"),
        }
        say(
            f"  growth from the first sample to the last: "
            f"{', '.join(f'{k} {v:+.1%}' for k, v in growth.items())} -> "
            f"{'flat' if flat else 'NOT flat'}; sink got {sink['requests']:,}"
        )

    # --- latency ----------------------------------------------------------------------------

    def phase_latency(self) -> None:
        from bench import load, procs

        args = self.args
        port = free_port()
        self.web = procs.start_web(port, self.env, self.logs, server=args.web)
        self.managed.append(self.web)
        took = procs.wait_for_http(f"http://127.0.0.1:{port}/healthz", self.web)
        url = f"http://127.0.0.1:{port}/api/v1/events"
        token = self.workspace.client_token
        say(
            f"\n[latency] `{procs.describe_web(args.web)}` on port {port} up in {took:.1f} s; "
            f"{args.rate:g} events/s for {args.duration:g} s, {args.threads} client threads, "
            "1 matching webhook per event"
        )
        # Warm-up: the web server's and workers' first requests pay for imports and connections.
        load.run(url, token, rate=20, duration=1, threads=1, prefix="W")
        time.sleep(1.5)
        self.sink.reset()
        cpu_before = self._cpu()
        load_started = time.perf_counter()
        result = load.run(url, token, rate=args.rate, duration=args.duration, threads=args.threads)
        load_seconds = time.perf_counter() - load_started
        # Wait for the tail: until everything accepted has arrived, 10 s without progress, or
        # the cap (what has not arrived by then counts as not delivered).
        cap = time.monotonic() + (10 if args.quick else 30)
        last, last_change = -1, time.monotonic()
        while time.monotonic() < cap:
            got = self.sink.count()
            if got >= result.accepted:
                break
            if got != last:
                last, last_change = got, time.monotonic()
            elif time.monotonic() - last_change > 10:
                break
            time.sleep(POLL_SECONDS)
        cpu = self._cpu_share(cpu_before, self._cpu(), time.perf_counter() - load_started)
        stats = self.sink.stats()
        first_arrival: dict[str, float] = {}
        for path, bench_id, arrival in zip(
            stats["paths"], stats["ids"], stats["arrivals"], strict=True
        ):
            if path == "/latency" and bench_id in result.sent_at:
                first_arrival.setdefault(bench_id, arrival)
        latencies = sorted((first_arrival[i] - result.sent_at[i]) * 1000 for i in first_arrival)
        posts = sorted(s * 1000 for s in result.post_seconds)
        p = load.percentile
        summary = {
            "target_rate": args.rate,
            "achieved_rate": round(result.achieved_rate, 1),
            "duration_s": args.duration,
            "load_seconds": round(load_seconds, 2),
            "threads": args.threads,
            "planned": result.planned,
            "sent": len(result.sent_at),
            "not_sent_in_time": result.not_sent,
            "accepted_202": result.accepted,
            "statuses": {str(k): v for k, v in sorted(result.statuses.items())},
            "late_sends": result.late_sends,
            "delivered": len(latencies),
            "latency_ms": {
                "p50": _r(p(latencies, 50)),
                "p95": _r(p(latencies, 95)),
                "p99": _r(p(latencies, 99)),
                "max": _r(latencies[-1] if latencies else None),
                "mean": _r(sum(latencies) / len(latencies) if latencies else None),
            },
            "post_ms": {
                "p50": _r(p(posts, 50)),
                "p99": _r(p(posts, 99)),
                "max": _r(posts[-1] if posts else None),
            },
            "web_server": procs.describe_web(args.web),
            "cpu_cores_used": cpu,
            "errors": result.errors[:5],
            "failed_jobs": self._job_failures("latency"),
        }
        self.report["latency"] = summary
        self._rss("after latency")
        lat = summary["latency_ms"]
        say(
            f"  sent {summary['sent']:,} of {result.planned:,} at {summary['achieved_rate']:.1f}/s "
            f"({result.late_sends} sent >50 ms late, {result.not_sent} not sent in time), "
            f"{summary['accepted_202']:,} accepted, {summary['delivered']:,} delivered"
        )
        say(
            f"  latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  "
            f"max {lat['max']}   (POST itself: p50 {summary['post_ms']['p50']}, "
            f"p99 {summary['post_ms']['p99']})"
        )
        say(f"  CPU cores used: {_fmt_cpu(cpu)}")

    # --- report -----------------------------------------------------------------------------

    def _finish(self) -> None:
        report = self.report
        errors = report.get("errors", {})
        raw = report.get("raw")
        thr_report = report.get("throughput")
        lat = report.get("latency")
        targets = {}
        ratio = None
        if thr_report and raw:
            ratio = thr_report["deliveries_per_s"] / raw["guarded_rps"]
            targets["ratio_vs_guarded_raw"] = {
                "value": round(ratio, 3),
                "target": f">= {TARGET_RATIO}",
                "met": ratio >= TARGET_RATIO,
            }
        else:
            targets["ratio_vs_guarded_raw"] = {
                "value": None,
                "met": None,
                "target": f">= {TARGET_RATIO}",
            }
        if lat:
            p99 = lat["latency_ms"]["p99"]
            at_rate = lat["achieved_rate"] >= 0.95 * lat["target_rate"]
            all_delivered = lat["delivered"] == lat["planned"]
            targets["p99_latency_ms"] = {
                "value": p99,
                "target": f"<= {TARGET_P99_MS} at {lat['target_rate']:g}/s",
                "achieved_rate": lat["achieved_rate"],
                "met": p99 is not None and p99 <= TARGET_P99_MS and at_rate and all_delivered,
            }
        else:
            targets["p99_latency_ms"] = {
                "value": None,
                "met": None,
                "target": f"<= {TARGET_P99_MS} ms",
            }
        if "memory" in report:
            targets["worker_memory_flat"] = {
                "value": report["memory"]["growth_first_to_last_sample"],
                "target": f"growth < {TARGET_MEMORY_GROWTH:.0%} over "
                f"{report['memory']['deliveries']:,} deliveries",
                "met": report["memory"]["flat"],
            }
        else:
            targets["worker_memory_flat"] = {
                "value": None,
                "met": None,
                "target": "run with --memory" if not self.args.memory else "phase failed",
            }
        report["ratio"] = round(ratio, 3) if ratio is not None else None
        report["targets"] = targets
        self._write()

        def mark(t):
            return {True: "met", False: "MISSED", None: "not measured"}[t["met"]]

        say("\n" + "=" * 78)
        say(
            f"Benchmark report ({report['mode']}, {report['started_at']}, "
            f"{report['machine']['cpus']} CPUs, wall {report['wall_seconds']} s)"
        )
        say(f"  sink        {self.sink.kind}")
        say(f"  database    {report['database']}")
        say(f"  redis       {report['redis']}")
        if thr_report:
            say(
                f"  throughput  {thr_report['deliveries_per_s']:,.0f} deliveries/s "
                f"({thr_report['deliveries']:,} deliveries, {self.args.webhooks} webhooks, "
                f"{len(self.workers)} SimpleWorkers)"
            )
        say(
            f"  raw         guarded {raw['guarded_rps']:,.0f} req/s; plain requests.Session "
            f"{raw['plain_rps']:,.0f} req/s, with trust_env=False "
            f"{raw['plain_trust_env_false_rps']:,.0f} req/s"
        )
        if ratio is not None:
            say(
                f"  ratio       {ratio:.2f} of the guarded raw ceiling  "
                f"[{mark(targets['ratio_vs_guarded_raw'])}, target >= {TARGET_RATIO}]"
            )
        if lat:
            lm = lat["latency_ms"]
            say(
                f"  latency     at {lat['achieved_rate']:.1f}/s (asked {lat['target_rate']:g}/s): "
                f"p50 {lm['p50']} ms, p95 {lm['p95']} ms, p99 {lm['p99']} ms, max {lm['max']} ms; "
                f"delivered {lat['delivered']:,}/{lat['planned']:,}  "
                f"[{mark(targets['p99_latency_ms'])}, target p99 <= {TARGET_P99_MS} ms at "
                f"{lat['target_rate']:g}/s]"
            )
        series = "; ".join(
            f"{s['at']}: " + "/".join(str(s.get(w.name)) for w in self.workers)
            for s in self.rss_series
        )
        say(f"  worker RSS  MB ({'/'.join(w.name for w in self.workers)}): {series}")
        say(
            f"  memory      [{mark(targets['worker_memory_flat'])}]"
            + (f" growth {targets['worker_memory_flat']['value']}" if "memory" in report else "")
        )
        if "profile" in report:
            timed = report["profile"]["timed"]
            say(
                f"  profile     one in-process drain: {timed['deliveries_per_s']:,.0f} "
                f"deliveries/s, {timed['sql_per_delivery']} SQL/delivery, SQL "
                f"{timed['sql_share']:.0%} of its time (cProfile: "
                f"{Path(report['profile']['cprofile']['full_profile']).relative_to(BASE_DIR)})"
            )
        failures = sum(
            report[p]["failed_jobs"]["failed_jobs"]
            for p in ("throughput", "memory", "latency")
            if p in report
        )
        if failures:
            say(
                f"  ENGINE      {failures} drain jobs failed with an exception: see "
                "failed_jobs in last.json and var/bench/logs/"
            )
        for phase, message in errors.items():
            say(f"  ERROR       {phase} phase failed: {message.splitlines()[0][:150]}")
        say("  phases (s)  " + ", ".join(f"{k} {v}" for k, v in self.phase_seconds.items()))
        say(f"  written to  {(BENCH_DIR / 'last.json').relative_to(BASE_DIR)}")
        say("=" * 78)

    def _write(self) -> None:
        out = json.dumps(self.report, indent=2, default=str)
        (BENCH_DIR / "last.json").write_text(out)
        name = f"last-{getattr(self, 'db_kind', 'unknown')}"
        name += "-quick" if self.args.quick else ""
        name += "-memory" if self.args.memory else ""
        (BENCH_DIR / f"{name}.json").write_text(out)


def _fingerprint(*paths: str) -> str:
    """One short hash of the engine's files: others edit them, and a figure belongs to a
    version of the code."""
    digest = hashlib.sha256()
    for path in paths:
        with contextlib.suppress(OSError):
            digest.update((BASE_DIR / path).read_bytes())
    return digest.hexdigest()[:12]


def _r(value, digits: int = 1):
    return None if value is None else round(value, digits)


def _fmt_cpu(cpu: dict) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1]))


if __name__ == "__main__":
    sys.exit(main())
