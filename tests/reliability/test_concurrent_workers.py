"""Four workers on one queue, 200 webhooks: no delivery is ever sent by two workers at once
(nor twice at all, with nobody crashing), and ordered webhooks keep their order through a
failure.

Every webhook gets 5 events and two drain jobs, so the workers race for it; the receiver fails
the first attempt of event 2 everywhere. An ordered webhook must hold events 3 and 4 back until
2 succeeds; the others send them meanwhile (the control that shows the check would catch a
broken hold-back). Retries are made due at once by moving next_attempt_at (the policy's first
retry is a minute away).

Runs on both databases. On SQLite the four workers take turns on one write lock (no
SKIP LOCKED, the webhook lease alone keeps drains apart), so it is slower but still correct;
on PostgreSQL claims use SELECT ... FOR UPDATE SKIP LOCKED. ~30 s on this 2-core machine.
"""

import collections
import json
import threading
import time

import pytest
from django.utils import timezone

from deliveries.models import Delivery
from deliveries.services import EventInput, publish_many, wake
from deliveries.sweeper import sweep
from tests.reliability.conftest import hook, wait_for
from tests.workers import running_workers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WEBHOOKS = 200
ORDERED = 50  # the first 50 are ordered
EVENTS = 5
FAILING_EVENT = 2


def test_four_workers_never_send_a_delivery_twice_at_once_and_ordered_webhooks_keep_order(
    acme, receiver, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    failed_once = set()
    lock = threading.Lock()

    def status(path, body):
        n = json.loads(body)["payload"]["n"]
        with lock:
            if n == FAILING_EVENT and path not in failed_once:
                failed_once.add(path)
                return 500
        return 200

    server = receiver(delay=0.002, status=status)
    hooks = [
        hook(acme, server.url(f"/h/{i}"), name=f"h{i}", ordered=i < ORDERED, timeout_seconds=5)
        for i in range(WEBHOOKS)
    ]
    path_of = {h.pk: f"/h/{i}" for i, h in enumerate(hooks)}

    last_sweep = [0.0]

    def sent():
        if time.monotonic() - last_sweep[0] > 2:  # the cron's pace, roughly
            sweep()
            last_sweep[0] = time.monotonic()
        return server.count()

    started = time.monotonic()
    with running_workers(4):
        publish_many(acme, [EventInput("form.submitted", {"n": n}) for n in range(EVENTS)])
        # A second drain job per webhook, so the workers race for the same webhooks.
        wake([h.pk for h in hooks], force=True)
        # First round: everything but the held-back events of the ordered webhooks.
        first_round = (WEBHOOKS - ORDERED) * EVENTS + ORDERED * (FAILING_EVENT + 1)
        assert wait_for(lambda: sent() >= first_round, timeout=120, interval=0.5)
        assert not wait_for(lambda: sent() > first_round, timeout=1.5, interval=0.5)
        assert not Delivery.objects.filter(status="sending").exists()

        # The retries come due; ordered webhooks now send 2, then 3 and 4.
        Delivery.objects.filter(status="pending", attempt_count__gt=0).update(
            next_attempt_at=timezone.now())
        assert wait_for(
            lambda: sent() and not Delivery.objects.exclude(status="succeeded").exists(),
            timeout=120, interval=0.5,
        ), collections.Counter(Delivery.objects.values_list("status", flat=True))

    print(f"\n{len(server.snapshot())} requests by 4 workers in {time.monotonic() - started:.1f} s")
    hits = server.snapshot()
    assert len(hits) == WEBHOOKS * (EVENTS + 1)
    # One worker at a time per delivery: the intervals of one webhook-id never overlap, and
    # apart from the one failing attempt, each delivery was sent exactly once.
    by_id = collections.defaultdict(list)
    for hit in hits:
        by_id[hit.webhook_id].append(hit)
    assert set(by_id) == set(Delivery.objects.values_list("message_id", flat=True))
    for message_id, attempts in by_id.items():
        attempts.sort(key=lambda h: h.start)
        for earlier, later in zip(attempts, attempts[1:], strict=False):
            assert earlier.end <= later.start, f"{message_id} sent twice at once"
        n = json.loads(attempts[0].body)["payload"]["n"]
        assert len(attempts) == (2 if n == FAILING_EVENT else 1), message_id

    arrivals = collections.defaultdict(list)
    for hit in sorted(hits, key=lambda h: h.start):
        arrivals[hit.path].append(json.loads(hit.body)["payload"]["n"])
    for webhook in hooks:
        order = arrivals[path_of[webhook.pk]]
        if webhook.ordered:
            assert order == [0, 1, 2, 2, 3, 4], (webhook.name, order)
        else:
            # Not ordered: 3 and 4 went out while 2 waited for its retry.
            assert order[:FAILING_EVENT + 1] == [0, 1, 2] and order[-1] == 2, (webhook.name, order)
