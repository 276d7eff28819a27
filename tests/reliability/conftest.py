"""What the fault tests share: receivers that record every request they get, a TCP proxy that
can cut a connection and restore it, and waiting for a condition.

Everything listens on 127.0.0.1 only. Workers are real `manage.py rqworker` processes
(tests/workers.py); the sweeper is the plain function the cron job calls.
"""

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer

import pytest

from subscriptions.models import Webhook
from subscriptions.services import create_webhook


@pytest.fixture(autouse=True)
def clean_redis(settings):
    """Each test starts with an empty Redis: no queued job, wake-up mark or worker of an
    earlier test (or an earlier run that reused the same ids) can change what it sees."""
    from deliveries import services
    from webhooks_site.redis import get_connection

    get_connection().flushdb()
    services._redis_down_until = 0.0
    yield
    services._redis_down_until = 0.0


def wait_for(condition, timeout=30.0, interval=0.05):
    """Poll until ``condition()`` is truthy; return its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def ingest(client, workspace, events):
    return client.post(
        "/api/v1/events", data=json.dumps(events), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {workspace.client_token}",
    )


def hook(workspace, url, **overrides) -> Webhook:
    """A saved, enabled webhook on topic form.submitted (as the form creates them)."""
    fields = {
        "name": f"hook {Webhook.objects.count() + 1}",
        "url": url,
        "topics": ["form.submitted"],
        "timeout_seconds": 5,
        **overrides,
    }
    return create_webhook(Webhook(workspace=workspace, **fields), headers=[])


# --- a receiver that records ------------------------------------------------------------------


@dataclass
class Hit:
    webhook_id: str  # the webhook-id header: the message id, stable across attempts
    path: str
    body: bytes
    start: float  # time.monotonic() when the request line arrived, and when the answer went
    end: float


class RecordingReceiver(ThreadingHTTPServer):
    """An HTTP/1.1 keep-alive receiver (like a real one; pytest-httpserver closes after each
    answer) that records every request with its start and end time.

    ``delay`` seconds pass between reading a request and answering it; ``status(path, body)``
    picks the status (200 by default)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, delay=0.0, status=None):
        self.delay = delay
        self.status = status or (lambda path, body: 200)
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.connections = 0
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def server_bind(self):
        TCPServer.server_bind(self)  # no reverse lookup of our own address
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def process_request(self, request, client_address):
        self.connections += 1
        super().process_request(request, client_address)

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.server_port}{path}"

    def snapshot(self) -> list[Hit]:
        with self.lock:
            return list(self.hits)

    def count(self, path=None) -> int:
        return len([h for h in self.snapshot() if path is None or h.path == path])

    def close(self):
        self.shutdown()
        self.server_close()


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        start = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.server.delay:
            time.sleep(self.server.delay)
        status = self.server.status(self.path, body)
        answer = b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        self.wfile.flush()
        hit = Hit(self.headers.get("webhook-id", ""), self.path, body, start, time.monotonic())
        with self.server.lock:
            self.server.hits.append(hit)

    do_GET = do_POST

    def log_message(self, format, *args):
        pass


@pytest.fixture
def receiver():
    servers = []

    def start(**kwargs) -> RecordingReceiver:
        server = RecordingReceiver(**kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# --- a TCP proxy that can cut -----------------------------------------------------------------


class TCPProxy:
    """Forwards 127.0.0.1:<port> to ``target``. ``cut()`` closes every open connection and
    refuses new ones (the port stops listening); ``restore()`` listens again on the same port.
    Stands in for a network failure between the app and a server we must not stop."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = None
        self.listener = None
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.accepted = 0
        self.restore()

    def restore(self):
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 5
        while True:
            try:
                listener.bind(("127.0.0.1", self.port or 0))
                break
            except OSError:
                # The port's previous sockets are still being torn down.
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self.listener = listener
        self.thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self.thread.start()

    def cut(self):
        listener, self.listener = self.listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
            self.thread.join(timeout=5)
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            self._close(pair)

    @staticmethod
    def _close(pair):
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept_loop(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                if self.listener is not listener:  # cut while this one was connecting
                    self._close((client, upstream))
                    return
                self.accepted += 1
                self.pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self):
        self.cut()


@pytest.fixture
def tcp_proxy():
    proxies = []

    def start(target) -> TCPProxy:
        proxy = TCPProxy(target)
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        proxy.close()
