"""Real RQ worker processes for end-to-end tests."""

import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
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
    from rq import Worker

    from webhooks_site.redis import get_connection

    before = {w.name for w in Worker.all(connection=get_connection())}
    with tempfile.TemporaryFile() as log:
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
        try:
            if wait_for_heartbeat:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    names = {w.name for w in Worker.all(connection=get_connection())}
                    if names - before:
                        break
                    if proc.poll() is not None:
                        log.seek(0)
                        output = log.read().decode(errors="replace")[-3000:]
                        raise RuntimeError(f"worker exited with {proc.returncode}:\n{output}")
                    time.sleep(0.1)
                else:
                    raise RuntimeError("worker did not register within 20 s")
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextmanager
def running_workers(count: int, queue="default", extra_env: dict | None = None):
    """Several workers on one queue, as production scales them; all stopped on exit."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        yield [stack.enter_context(running_worker(queue, extra_env)) for _ in range(count)]


def kill_worker(proc) -> None:
    """SIGKILL the worker's whole process group, as an OOM killer or a lost machine would:
    no handler runs, nothing is cleaned up, a request in flight is cut."""
    import signal

    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
