"""Where a drain's time goes: drain(webhook_id) called in the bench process, no RQ.

1. timed: deliveries/s of one drain in one process, with every SQL statement counted and timed
   (connection.execute_wrapper), grouped by statement shape;
2. profiled: the same under cProfile, summarised as the cumulative time of the engine's steps
   (they nest, so they overlap) and the top functions by own time.
"""

from __future__ import annotations

import cProfile
import io
import logging
import pstats
import re
import time
from collections import defaultdict
from contextlib import contextmanager

from bench.environment import BASE_DIR

_SHAPE = re.compile(r'^\s*(\w+).*?\b(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', re.S | re.I)


class SQLCounter:
    def __init__(self):
        self.count = 0
        self.seconds = 0.0
        self.by_shape: dict[str, list] = defaultdict(lambda: [0, 0.0])

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.count += 1
            self.seconds += elapsed
            match = _SHAPE.match(sql)
            shape = f"{match.group(1).upper()} {match.group(2)}" if match else sql[:30]
            if sql.lstrip().upper().startswith("SELECT") and "FOR UPDATE" in sql.upper():
                shape += " FOR UPDATE"
            entry = self.by_shape[shape]
            entry[0] += 1
            entry[1] += elapsed


@contextmanager
def _deliveries_log_to(path):
    """drain() logs one INFO line per attempt; send it to a file, as a worker's log would be."""
    logger = logging.getLogger("deliveries")
    handlers = [h for h in logger.handlers if isinstance(h, logging.StreamHandler)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as stream:
        old = [h.setStream(stream) for h in handlers]
        try:
            yield
        finally:
            for handler, previous in zip(handlers, old, strict=True):
                handler.setStream(previous)


class StepTimers:
    """Wall and CPU time (time.thread_time) of the engine's steps, by wrapping module
    attributes in this process only for the length of one measurement, then restoring them.
    A wrapper costs about a microsecond, against milliseconds per delivery."""

    def __init__(self):
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._restore: list = []

    def wrap(self, owner, attr: str, label: str) -> None:
        had_own = attr in vars(owner)
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.wall[label] += time.perf_counter() - wall
                self.cpu[label] += time.thread_time() - cpu
                self.calls[label] += 1

        setattr(owner, attr, timed)
        self._restore.append((owner, attr, original if had_own else None))

    def restore(self) -> None:
        for owner, attr, original in reversed(self._restore):
            if original is None:
                delattr(owner, attr)
            else:
                setattr(owner, attr, original)
        self._restore.clear()


# (key, label, parent key or None): nested steps are reported inside their parent.
_TIMED_STEPS = [
    ("claim", "claim (webhook lease, SELECT ... FOR UPDATE, UPDATE)", None),
    ("send_one", "send_one (one delivery: build, sign, POST)", None),
    ("payload", "event payload (delivery.event lazy load, 1 query)", "send_one"),
    ("render", "formats.render", "send_one"),
    ("sign", "signing.signature_headers", "send_one"),
    ("http", "http.request (guarded POST)", "send_one"),
    ("log", "log.info per attempt", "send_one"),
    ("record", "record (write the chunk's outcomes)", None),
    ("bulk_create", "Attempt bulk_create", "record"),
    ("update", "Delivery outcomes (one UPDATE ... FROM (VALUES ...))", "record"),
    ("keys", "Webhook.valid_keys + header_dict (per chunk)", None),
]
_REST = {
    "send_one": "the rest (headers, masking, Attempt object, retry.decide)",
    "record": "the rest (webhook UPDATE, transaction)",
}


def _install_timers(timers: StepTimers) -> None:
    from django.db.models.query import QuerySet

    from deliveries import drain as drain_module
    from deliveries import formats, http, signing
    from subscriptions.models import Webhook

    timers.wrap(drain_module, "_claim", "claim")
    timers.wrap(drain_module, "_send_one", "send_one")
    timers.wrap(drain_module, "_payload", "payload")
    timers.wrap(formats, "render", "render")
    timers.wrap(signing, "signature_headers", "sign")
    timers.wrap(http, "request", "http")
    timers.wrap(drain_module.log, "info", "log")
    timers.wrap(drain_module, "_record", "record")
    timers.wrap(QuerySet, "bulk_create", "bulk_create")
    timers.wrap(drain_module, "_update_deliveries", "update")
    timers.wrap(Webhook, "valid_keys", "keys")
    timers.wrap(Webhook, "header_dict", "keys")


def timed_drain(webhook_id: int, expected: int, log_path) -> dict:
    from django.db import connections

    from deliveries.drain import drain

    connection = connections["default"]
    counter = SQLCounter()
    timers = StepTimers()
    connection.ensure_connection()
    # COMMIT does not go through execute_wrapper: time the driver's commit directly.
    timers.wrap(connection, "_commit", "COMMIT")
    _install_timers(timers)
    try:
        with _deliveries_log_to(log_path), connection.execute_wrapper(counter):
            started, cpu_started = time.perf_counter(), time.thread_time()
            result = drain(webhook_id, time_budget=600)
            elapsed = time.perf_counter() - started
            cpu = time.thread_time() - cpu_started
    finally:
        timers.restore()
    if result.succeeded != expected:
        raise RuntimeError(f"in-process drain delivered {result.succeeded} of {expected}")
    n = result.succeeded

    def us(seconds):
        return round(seconds / n * 1e6, 1)

    def row(label, wall, busy, calls):
        return {
            "step": label,
            "calls": calls,
            "us_per_delivery": us(wall),
            "cpu_us_per_delivery": us(busy),
            "share": round(wall / elapsed, 3),
        }

    def get(key):
        return timers.wall.get(key, 0.0), timers.cpu.get(key, 0.0), timers.calls.get(key, 0)

    steps = []
    top_wall = top_cpu = 0.0
    for key, label, parent in _TIMED_STEPS:
        if parent:
            continue
        wall, busy, calls = get(key)
        top_wall += wall
        top_cpu += busy
        steps.append(row(label, wall, busy, calls))
        children = [(k, lab) for k, lab, p in _TIMED_STEPS if p == key]
        if not children:
            continue
        rest_wall, rest_cpu = wall, busy
        for child_key, child_label in children:
            child_wall, child_cpu, child_calls = get(child_key)
            rest_wall -= child_wall
            rest_cpu -= child_cpu
            steps.append(row("  " + child_label, child_wall, child_cpu, child_calls))
        steps.append(row("  " + _REST[key], rest_wall, rest_cpu, calls))
    steps.append(
        row(
            "drain loop, the rest (Webhook fetch per chunk, leases)",
            elapsed - top_wall,
            cpu - top_cpu,
            1,
        )
    )
    shapes = sorted(counter.by_shape.items(), key=lambda kv: -kv[1][1])
    return {
        "deliveries": n,
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu, 3),
        "cpu_share": round(cpu / elapsed, 3),
        "deliveries_per_s": round(n / elapsed, 1),
        "ms_per_delivery": round(elapsed / n * 1000, 3),
        "steps": steps,
        "sql_statements": counter.count,
        "sql_per_delivery": round(counter.count / n, 2),
        "sql_seconds": round(counter.seconds, 3),
        "sql_share": round(counter.seconds / elapsed, 3),
        "commits": timers.calls.get("COMMIT", 0),
        "commit_ms_total": round(timers.wall.get("COMMIT", 0.0) * 1000, 1),
        "sql_by_shape": {
            shape: {"count": c, "ms": round(sec * 1000, 1), "us_per_delivery": us(sec)}
            for shape, (c, sec) in shapes[:12]
        },
    }


# (label, file suffix, function name): the engine's steps, cumulative (nested, so overlapping)
_STEPS = [
    ("drain() total", "deliveries/drain.py", "drain"),
    ("  _claim (lease + SELECT FOR UPDATE + UPDATE)", "deliveries/drain.py", "_claim"),
    ("  _send_one (render + sign + HTTP + Attempt object)", "deliveries/drain.py", "_send_one"),
    ("    http.request (guarded POST, whole)", "deliveries/http.py", "request"),
    ("      requests Session.request", "requests/sessions.py", "request"),
    ("      http._parse_url", "deliveries/http.py", "_parse_url"),
    ("    formats.render", "deliveries/formats.py", "render"),
    ("    signing.signature_headers", "deliveries/signing.py", "signature_headers"),
    ("    log.info per attempt", "logging/__init__.py", "info"),
    (
        "    delivery.event (lazy FK load)",
        "django/db/models/fields/related_descriptors.py",
        "__get__",
    ),
    ("  _record (bulk_create Attempt + UPDATE Delivery)", "deliveries/drain.py", "_record"),
    ("    _update_deliveries", "deliveries/drain.py", "_update_deliveries"),
    ("    QuerySet.bulk_create", "django/db/models/query.py", "bulk_create"),
    ("  Webhook.valid_keys (query + decrypt)", "subscriptions/models.py", "valid_keys"),
    ("  Fernet decrypt (EncryptedTextField)", "webhooks_site/crypto.py", "from_db_value"),
    ("  all SQL execute (cursor.execute)", "django/db/backends/utils.py", "_execute"),
]


def profiled_drain(webhook_id: int, expected: int, log_path, out_path) -> dict:
    from deliveries.drain import drain

    profiler = cProfile.Profile()
    with _deliveries_log_to(log_path):
        started = time.perf_counter()
        profiler.enable()
        result = drain(webhook_id, time_budget=600)
        profiler.disable()
        elapsed = time.perf_counter() - started
    if result.succeeded != expected:
        raise RuntimeError(f"profiled drain delivered {result.succeeded} of {expected}")
    stats = pstats.Stats(profiler)
    total = None
    steps = []
    for label, suffix, name in _STEPS:
        ct = calls = 0
        for (filename, _line, func), (_cc, nc, _tt, cum, _callers) in stats.stats.items():
            if func == name and filename.replace("\\", "/").endswith(suffix):
                ct += cum
                calls += nc
        if label == "drain() total":
            total = ct or elapsed
        steps.append(
            {
                "step": label,
                "calls": calls,
                "seconds": round(ct, 3),
                "share": round(ct / total, 3) if total else None,
                "us_per_delivery": round(ct / expected * 1e6, 1),
            }
        )
    top = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:15]
    own = [
        {
            "function": f"{_short(filename)}:{line}({func})",
            "calls": nc,
            "own_s": round(tt, 3),
            "share": round(tt / total, 3) if total else None,
        }
        for (filename, line, func), (_cc, nc, tt, _ct, _callers) in top
    ]
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(60)
    buffer.write("\n\n")
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(40)
    out_path.write_text(buffer.getvalue())
    return {
        "deliveries": expected,
        "seconds_under_profiler": round(elapsed, 3),
        "steps": steps,
        "top_own_time": own,
        "full_profile": str(out_path),
    }


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3.11/", f"{BASE_DIR}/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def ingest_cost(token: str, count: int, event_type: str, warmup: int = 20) -> dict:
    """POST /api/v1/events handled in this process (RequestFactory, no HTTP server): what one
    ingest request costs the web process, and how much of it is SQL. Each request stores one
    event and its deliveries (``count + warmup`` of them, for the caller to drain)."""
    import json

    from django.db import connections
    from django.test import RequestFactory

    from deliveries.api import ingest_events

    factory = RequestFactory()

    def post(i):
        body = json.dumps({"type": event_type, "payload": {"bench_id": f"I{i}", "sent_at": 0}})
        request = factory.post(
            "/api/v1/events",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        response = ingest_events(request)
        if response.status_code != 202:
            raise RuntimeError(f"ingest answered {response.status_code}: {response.content!r}")

    for i in range(warmup):
        post(-1 - i)
    counter = SQLCounter()
    timers = StepTimers()
    from deliveries import api

    timers.wrap(api, "authenticate", "authenticate (token lookup)")
    timers.wrap(api, "publish_many", "publish_many (transaction, 2 INSERTs, wake)")
    try:
        with connections["default"].execute_wrapper(counter):
            started, cpu_started = time.perf_counter(), time.thread_time()
            for i in range(count):
                post(i)
            elapsed = time.perf_counter() - started
            cpu = time.thread_time() - cpu_started
    finally:
        timers.restore()
    return {
        "requests": count,
        "ms_per_request": round(elapsed / count * 1000, 2),
        "cpu_ms_per_request": round(cpu / count * 1000, 2),
        "sql_per_request": round(counter.count / count, 1),
        "sql_ms_per_request": round(counter.seconds / count * 1000, 2),
        "steps_ms": {label: round(timers.wall[label] / count * 1000, 2) for label in timers.wall},
        "cores_at_200_per_s": round(cpu / count * 200, 2),
        "deliveries_created": count + warmup,
    }


def small_drain_cost(
    workspace, webhook_id: int, event_type: str, log_path, repeats: int = 50
) -> dict:
    """What one drain job costs when it finds a single delivery, as at a steady trickle of
    events (each wake-up drains what arrived since the last one): wall, CPU and SQL per job."""
    from django.db import connections

    from deliveries.drain import drain
    from deliveries.services import EventInput, publish_many

    counter = SQLCounter()
    wall = cpu = 0.0
    connection = connections["default"]
    timers = StepTimers()
    timers.wrap(connection, "_commit", "COMMIT")
    try:
        for i in range(repeats):
            publish_many(workspace, [EventInput(event_type, {"bench_id": f"S{i}", "sent_at": 0})])
            with _deliveries_log_to(log_path), connection.execute_wrapper(counter):
                started, cpu_started = time.perf_counter(), time.thread_time()
                result = drain(webhook_id)
                wall += time.perf_counter() - started
                cpu += time.thread_time() - cpu_started
            if result.succeeded != 1:
                raise RuntimeError(f"small drain delivered {result.succeeded}, expected 1")
    finally:
        timers.restore()
    return {
        "jobs": repeats,
        "ms_per_job": round(wall / repeats * 1000, 2),
        "cpu_ms_per_job": round(cpu / repeats * 1000, 2),
        "sql_per_job": round(counter.count / repeats, 1),
        "sql_ms_per_job": round(counter.seconds / repeats * 1000, 2),
        "commits_per_job": round(timers.calls.get("COMMIT", 0) / repeats, 1),
        "sql_by_shape_per_job": {
            shape: round(n / repeats, 1)
            for shape, (n, _s) in sorted(counter.by_shape.items(), key=lambda kv: -kv[1][0])
        },
    }
