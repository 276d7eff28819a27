"""Processes the bench starts: RQ workers and the web server, each in its own process group
(start_new_session) so that stop() ends it and everything it started (RQ's scheduler child)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from bench.environment import BASE_DIR, QUEUE_NAME

# The worker exactly as webhooks_site/management/commands/runall.py starts it.
WORKER_ARGS = [
    "rqworker",
    QUEUE_NAME,
    "--with-scheduler",
    "--worker-ttl",
    "60",
    "--worker-class",
    "rq.worker.SimpleWorker",
]


class Managed:
    """A child process group. ``args`` are manage.py's, unless ``command`` is given whole."""

    def __init__(
        self, name: str, args: list[str], env: dict, log_path: Path, command: list | None = None
    ):
        self.name = name
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            command or [sys.executable, "-u", "manage.py", *args],
            cwd=BASE_DIR,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def rss(self) -> int | None:
        """Resident memory of the process itself (SimpleWorker runs the jobs in it)."""
        try:
            return psutil.Process(self.pid).memory_info().rss
        except psutil.Error:
            return None

    def tree_rss(self) -> int | None:
        """Resident memory of the process and all its children (gunicorn's workers)."""
        try:
            leader = psutil.Process(self.pid)
            family = [leader, *leader.children(recursive=True)]
            return sum(p.memory_info().rss for p in family if p.is_running())
        except psutil.Error:
            return None

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 8) -> None:
        """SIGTERM to the group (RQ: warm shutdown), SIGKILL whatever is left after ``grace``."""
        if self.alive() and grace > 0:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        # The group may outlive its leader (RQ's scheduler runs in a child process).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(3)
        self._log.close()


def stop_all(processes: list[Managed], grace: float = 8) -> None:
    """SIGTERM every group at once, one shared grace period, then SIGKILL what is left."""
    for process in processes:
        if process.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.process.wait(max(0.0, deadline - time.monotonic()))
    for process in processes:
        process.stop(grace=0)


def start_workers(count: int, env: dict, log_dir: Path) -> list[Managed]:
    return [
        Managed(f"worker-{i + 1}", WORKER_ARGS, env, log_dir / f"worker-{i + 1}.log")
        for i in range(count)
    ]


def wait_for_workers(workers: list[Managed], redis_url: str, timeout: float = 60) -> float:
    """Wait until every worker has registered with RQ; return how long it took."""
    import redis
    from rq import Worker

    conn = redis.Redis.from_url(redis_url)
    pids = {w.pid for w in workers}
    started = time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            registered = {w.pid for w in Worker.all(connection=conn)}
            if pids <= registered:
                return time.monotonic() - started
            for w in workers:
                if not w.alive():
                    raise RuntimeError(f"{w.name} exited early:\n{w.tail()}")
            time.sleep(0.1)
    finally:
        conn.close()
    raise RuntimeError(f"workers did not register within {timeout:g} s")


def start_sweeper(env: dict, log_dir: Path) -> Managed:
    """rq's cron scheduler with the product's schedule (the sweeper every 5 s), as runall."""
    return Managed("sweeper", ["rqcron", "webhooks_site.cron"], env, log_dir / "sweeper.log")


_LOG_LINE = re.compile(r"^(\d\d:\d\d:\d\d|\d{4}-\d\d-\d\d) ")
_EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception)\w*: ")


def scan_worker_logs(paths) -> dict:
    """Failed jobs in the workers' logs: how many, and their exceptions' last lines."""
    failed = 0
    reasons: dict[str, int] = {}
    where: dict[str, int] = {}
    for path in paths:
        try:
            lines = Path(path).read_text(errors="replace").splitlines()
        except OSError:
            continue
        for i, line in enumerate(lines):
            if "exception raised while executing" not in line:
                continue
            failed += 1
            # The traceback follows; its last line names the exception, and the deepest frame
            # in deliveries/ says where it was raised.
            frame, reason = "", "unknown"
            for follow in lines[i + 1 : i + 300]:
                if _LOG_LINE.match(follow):
                    break  # the traceback is over
                if 'File "' in follow and "/deliveries/" in follow:
                    frame = follow.strip().split("/deliveries/", 1)[1]
                elif _EXCEPTION_LINE.match(follow):
                    reason = follow.strip()[:120]
            reasons[reason] = reasons.get(reason, 0) + 1
            where[frame] = where.get(frame, 0) + 1
    return {"failed_jobs": failed, "reasons": reasons, "raised_at": where}


# The production web server: gunicorn's threaded workers, one process per core, keep-alive.
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", 2))
GUNICORN_THREADS = int(os.environ.get("BENCH_GUNICORN_THREADS", 8))


def web_command(port: int, server: str = "gunicorn") -> list[str]:
    if server == "runserver":
        return [sys.executable, "-u", "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    return [
        sys.executable, "-m", "gunicorn", "webhooks_site.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--worker-class", "gthread",
        "--workers", str(GUNICORN_WORKERS),
        "--threads", str(GUNICORN_THREADS),
    ]


def describe_web(server: str = "gunicorn") -> str:
    if server == "runserver":
        return "manage.py runserver --noreload (Django's development server, threaded WSGI)"
    return (
        f"gunicorn webhooks_site.wsgi:application --worker-class gthread "
        f"--workers {GUNICORN_WORKERS} --threads {GUNICORN_THREADS}"
    )


def start_web(port: int, env: dict, log_dir: Path, server: str = "gunicorn") -> Managed:
    return Managed("web", [], env, log_dir / "web.log", command=web_command(port, server))


def wait_for_http(url: str, process: Managed, timeout: float = 30) -> float:
    import requests

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited early:\n{process.tail()}")
        try:
            requests.get(url, timeout=1)
            return time.monotonic() - started
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:g} s")
