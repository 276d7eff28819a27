"""Receivers that misbehave, through a real worker: each attempt ends as the right logged
failure within the webhook's timeout, the worker's memory stays flat, and it goes on with the
other webhooks.

Timeout 2 s (sized for the suite; the default is 30 s). The trickling receiver sends a byte
every 0.5 s, a quarter of the timeout, as a byte every 5 s is a sixth of the default: a
per-read timeout would never fire, only a total deadline ends it.
"""

import threading
import time

import psutil
import pytest

from deliveries.models import Attempt, Delivery
from deliveries.services import send
from tests.reliability.conftest import hook, wait_for
from tests.servers import read_request
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

TIMEOUT = 2
HUNDRED_MB = 100 * 1024 * 1024
HEALTHY_EVENTS = 30


def hang(conn, stop):
    read_request(conn)
    stop.wait(30)  # never answers


def trickle(conn, stop):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    while not stop.wait(0.5):
        conn.sendall(b".")


def close_mid_body(conn, stop):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
    # the connection closes here, 900 bytes short


def huge_body(conn, stop):
    read_request(conn)
    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\n"
                 b"Content-Length: %d\r\n\r\n" % HUNDRED_MB)
    chunk = b"y" * 65536
    for _ in range(HUNDRED_MB // len(chunk)):
        if stop.is_set():
            return
        conn.sendall(chunk)  # raises once the client has read enough and hung up


class RSSSampler:
    """Samples a process's resident memory every 20 ms, to catch a peak between two reads."""

    def __init__(self, pid):
        self.process = psutil.Process(pid)
        self.peak = self.baseline = self.process.memory_info().rss
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.wait(0.02):
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.NoSuchProcess:
                return

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.peak - self.baseline


def test_each_misbehaving_receiver_ends_as_its_logged_failure_and_the_worker_goes_on(
    acme, receiver, raw_server, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    canary = raw_server(lambda conn, stop: None)
    healthy_receiver = receiver()

    def redirect(conn, stop):
        read_request(conn)
        conn.sendall(b"HTTP/1.1 301 Moved Permanently\r\nLocation: " + canary.url().encode()
                     + b"\r\nContent-Length: 0\r\n\r\n")

    faults = {
        name: hook(acme, raw_server(handler).url(), name=name, timeout_seconds=TIMEOUT,
                   max_attempts=1)
        for name, handler in [("hangs", hang), ("trickles", trickle),
                              ("closes mid-body", close_mid_body), ("100 MB body", huge_body),
                              ("301 elsewhere", redirect)]
    }
    healthy = hook(acme, healthy_receiver.url(), name="healthy", topics=["content.viewed"])

    with running_worker() as worker:
        # Warm up: the worker has imported and connected everything before memory is measured.
        send(healthy, "content.viewed", {"warm": "up"})
        assert wait_for(lambda: healthy_receiver.count() == 1, timeout=30)
        sampler = RSSSampler(worker.pid)
        for name, webhook in faults.items():
            send(webhook, "form.submitted", {"fault": name})
        for n in range(HEALTHY_EVENTS):
            send(healthy, "content.viewed", {"n": n})
        started = time.monotonic()
        assert wait_for(
            lambda: not Delivery.objects.filter(status__in=["pending", "sending"]).exists(),
            timeout=60,
        )
        elapsed = time.monotonic() - started
        growth = sampler.stop()

    attempts = {a.webhook.name: a for a in Attempt.objects.select_related("webhook")
                .filter(webhook__in=faults.values())}
    assert set(attempts) == set(faults)

    for name in ("hangs", "trickles"):
        attempt = attempts[name]
        assert (attempt.error_kind, attempt.error_message) == ("timeout", "Timed out after 2 s")
        assert TIMEOUT * 1000 - 100 <= attempt.duration_ms < TIMEOUT * 1000 + 1000, name

    closed = attempts["closes mid-body"]
    assert (closed.error_kind, closed.error_message) == (
        "connection", "Connection closed by the receiver")
    assert closed.duration_ms < 1000

    huge = attempts["100 MB body"]
    assert (huge.response_status, huge.succeeded, huge.response_truncated) == (500, False, True)
    assert len(huge.response_body) == 64 * 1024  # what is kept; the rest was never read
    assert huge.duration_ms < TIMEOUT * 1000

    moved = attempts["301 elsewhere"]
    assert (moved.response_status, moved.succeeded) == (301, False)
    assert canary.accepted == 0  # not followed

    for name, webhook in faults.items():
        delivery = Delivery.objects.get(webhook=webhook)
        assert delivery.status == Delivery.Status.FAILED, name
        assert delivery.last_error, name
    # The worker went on: every event of the healthy webhook arrived, and promptly.
    assert healthy_receiver.count() == HEALTHY_EVENTS + 1
    assert Delivery.objects.filter(webhook=healthy, status="succeeded").count() == (
        HEALTHY_EVENTS + 1)
    assert growth < 30 * 1024 * 1024, f"worker memory grew {growth / 2**20:.1f} MiB"
    print(f"\nall faults and {HEALTHY_EVENTS} healthy deliveries done in {elapsed:.1f} s; "
          f"worker RSS peak +{growth / 2**20:.1f} MiB over its baseline")
