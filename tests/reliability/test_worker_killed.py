"""A worker killed with SIGKILL in the middle of a drain: nothing is lost, duplicates are
recognisable, nothing stays claimed.

Sized for a 2-core machine: 2,000 deliveries to one webhook whose receiver takes 2 ms each, so
one drain runs for ~15 s and the kill lands mid-drain (after a quarter of them). Leases are
shortened for the workers (WEBHOOKS_LEASE_SECONDS=1, webhook timeout 1 s) so the takeover comes
after ~25 s, not minutes. ~45 s in all.
"""

import collections
import json

import pytest

from deliveries.models import Delivery
from deliveries.services import EventInput, publish_many
from deliveries.sweeper import sweep
from tests.reliability.conftest import hook, wait_for
from tests.workers import kill_worker, running_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

DELIVERIES = 2000
SHORT_LEASES = {"WEBHOOKS_LEASE_SECONDS": "1"}


def all_succeeded():
    sweep()  # what the cron runs every 5 s: wakes drains for due and lease-expired deliveries
    return not Delivery.objects.exclude(status=Delivery.Status.SUCCEEDED).exists()


def test_a_worker_killed_mid_drain_loses_nothing_and_duplicates_keep_their_webhook_id(
    acme, receiver, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True  # the receiver is on loopback
    server = receiver(delay=0.002)
    webhook = hook(acme, server.url(), timeout_seconds=1)
    publish_many(acme, [EventInput("form.submitted", {"n": n}) for n in range(DELIVERIES)])
    message_ids = dict(Delivery.objects.values_list("message_id", "event__payload"))
    assert len(message_ids) == DELIVERIES

    with running_worker(extra_env=SHORT_LEASES) as first:
        assert wait_for(lambda: server.count() >= DELIVERIES // 4, timeout=60)
        kill_worker(first)
    received_before_kill = server.count()
    in_flight = Delivery.objects.filter(status=Delivery.Status.SENDING).count()
    # The kill landed mid-drain: a claimed chunk is left behind, and most work is still to do.
    assert in_flight > 0
    assert received_before_kill < DELIVERIES

    with running_worker(extra_env=SHORT_LEASES):
        assert wait_for(all_succeeded, timeout=120, interval=1.0), collections.Counter(
            Delivery.objects.values_list("status", flat=True)
        )

    hits = server.snapshot()
    by_id = collections.defaultdict(list)
    for hit in hits:
        by_id[hit.webhook_id].append(json.loads(hit.body)["payload"])
    # Every delivery reached the receiver at least once, under its own webhook-id only.
    assert set(by_id) == set(message_ids)
    duplicated = {mid: payloads for mid, payloads in by_id.items() if len(payloads) > 1}
    for mid, payloads in duplicated.items():
        assert all(p == message_ids[mid] for p in payloads), mid
    # At least once, not many times: only the chunk the dead worker held can be sent again.
    assert len(hits) - DELIVERIES == sum(len(p) - 1 for p in duplicated.values())
    assert len(duplicated) <= in_flight
    assert not Delivery.objects.filter(status=Delivery.Status.SENDING).exists()
    webhook.refresh_from_db()
    assert webhook.drain_lease_until is None
    print(
        f"\nkilled after {received_before_kill} of {DELIVERIES} requests; "
        f"{in_flight} claimed by the dead worker; {len(duplicated)} received twice; "
        f"{len(hits)} requests in all"
    )
