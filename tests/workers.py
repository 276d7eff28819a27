"""Real RQ worker processes for end-to-end tests."""

import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def worker_env(extra: dict | None = None) -> dict:
    """The environment a worker needs to see the test database and the test Redis."""
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{host}:{port}/{db['NAME']}"
    env["REDIS_URL"] = settings.REDIS_URL
    allow_private = settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS
    env["WEBHOOKS_ALLOW_PRIVATE_NETWORKS"] = "1" if allow_private else "0"
    env.update(extra or {})
    return env


@contextmanager
def running_worker(queue="default", extra_env: dict | None = None, wait_for_heartbeat=True):
    """Start `manage.py rqworker` as the product runs it; stop it on exit."""
    with running_workers(1, queue, extra_env, wait_for_heartbeat) as [proc]:
        yield proc


@contextmanager
def running_workers(
    count: int, queue="default", extra_env: dict | None = None, wait_for_heartbeat=True
):
    """``count`` workers on one queue, as production scales them, started together; all
    stopped on exit."""
    from rq import Worker

    from webhooks_site.redis import get_connection

    before = {w.name for w in Worker.all(connection=get_connection())}
    with ExitStack() as stack:
        procs, logs = [], []
        for _ in range(count):
            log = stack.enter_context(tempfile.TemporaryFile())
            proc = subprocess.Popen(
                [
                    sys.executable, "manage.py", "rqworker", queue, "--worker-ttl", "30",
                    "--worker-class", "rq.worker.SimpleWorker", "--with-scheduler",
                ],
                cwd=BASE_DIR,
                env=worker_env(extra_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            stack.callback(_stop, proc)
            procs.append(proc)
            logs.append(log)
        if wait_for_heartbeat:
            deadline = time.monotonic() + 20 + 5 * count
            while time.monotonic() < deadline:
                names = {w.name for w in Worker.all(connection=get_connection())}
                if len(names - before) >= count:
                    break
                for proc, log in zip(procs, logs, strict=True):
                    if proc.poll() is not None:
                        log.seek(0)
                        output = log.read().decode(errors="replace")[-3000:]
                        raise RuntimeError(f"worker exited with {proc.returncode}:\n{output}")
                time.sleep(0.1)
            else:
                raise RuntimeError(f"{count} worker(s) did not register in time")
        yield procs


def _stop(proc) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_worker(proc) -> None:
    """SIGKILL the worker's whole process group, as an OOM killer or a lost machine would:
    no handler runs, nothing is cleaned up, a request in flight is cut."""
    import signal

    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
