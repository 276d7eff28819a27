"""Loopback servers that test files share."""

import contextlib
import socket

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
