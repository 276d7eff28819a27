"""Loopback servers that test files share."""

import contextlib
import socket
import threading

import pytest


class Canary:
    """Listens on 127.0.0.1 and [::1] (same port) and never accepts: the kernel completes
    every handshake and queues it, so ``connections()`` counts each connection attempted,
    however short."""

    def __init__(self):
        self.listeners = [self._listen(socket.AF_INET, "127.0.0.1", 0)]
        self.port = self.listeners[0].getsockname()[1]
        with contextlib.suppress(OSError):
            self.listeners.append(self._listen(socket.AF_INET6, "::1", self.port))
        self.count = 0

    @staticmethod
    def _listen(family, host, port):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        return sock

    def connections(self) -> int:
        for listener in self.listeners:
            while True:
                try:
                    conn, _ = listener.accept()
                except BlockingIOError:
                    break
                conn.close()
                self.count += 1
        return self.count

    def close(self):
        for listener in self.listeners:
            listener.close()


@pytest.fixture
def canary():
    c = Canary()
    yield c
    c.close()


# --- raw socket servers for receivers that misbehave ------------------------------------------


class RawServer:
    """Accepts on 127.0.0.1, counts connections and runs ``handle(conn, stop)`` for each in a
    thread of its own: for what an ordinary HTTP server will not do (never answer, trickle,
    close mid-body)."""

    def __init__(self, handle):
        self.handle = handle
        self.accepted = 0
        self.stop = threading.Event()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def _accept_loop(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        with conn, contextlib.suppress(OSError):  # the client giving up first is expected
            self.handle(conn, self.stop)

    def close(self):
        self.stop.set()
        self.thread.join()
        self.listener.close()


def read_request(conn) -> bytes:
    """The request head and its body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


@pytest.fixture
def raw_server():
    servers = []

    def start(handle) -> RawServer:
        server = RawServer(handle)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
