"""Retention: delivery logs older than WEBHOOKS_LOG_RETENTION_DAYS are purged (hourly, cron).

Order matters: attempts first (the log), then finished deliveries left without attempts, then
events left without deliveries. Unfinished deliveries (pending, sending) are never purged, and
so neither are their events. Every step deletes in batches of primary keys, each batch its own
short statement, so the purge never holds a long lock or builds one huge transaction, and a
killed purge simply continues at the next run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from deliveries.models import Attempt, Delivery, Event

log = logging.getLogger("deliveries")

FINISHED = [Delivery.Status.SUCCEEDED, Delivery.Status.FAILED, Delivery.Status.CANCELLED]


@dataclass
class PurgeResult:
    attempts: int = 0
    deliveries: int = 0
    events: int = 0
    batches: int = 0

    @property
    def total(self) -> int:
        return self.attempts + self.deliveries + self.events


def cutoff(now=None):
    return (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_LOG_RETENTION_DAYS)


def purge_old(now=None, batch_size: int = 5000) -> int:
    """Delete what is older than the retention period; returns the number of rows deleted."""
    return purge(now, batch_size).total


def purge(now=None, batch_size: int = 5000) -> PurgeResult:
    before = cutoff(now)
    result = PurgeResult()

    # Attempts: oldest first along attempt_age_idx.
    old_attempts = Attempt.objects.filter(started_at__lt=before).order_by("started_at", "id")
    result.attempts = _in_batches(Attempt, old_attempts, batch_size, result)

    # Finished deliveries with no attempt left, by id (ids grow with created_at).
    done_deliveries = (
        Delivery.objects.filter(status__in=FINISHED, created_at__lt=before)
        .exclude(Exists(Attempt.objects.filter(delivery=OuterRef("pk"))))
        .order_by("id")
    )
    result.deliveries = _in_batches(Delivery, done_deliveries, batch_size, result)

    # Events no delivery refers to any more (or never did: no webhook wanted them).
    lone_events = (
        Event.objects.filter(received_at__lt=before)
        .exclude(Exists(Delivery.objects.filter(event=OuterRef("pk"))))
        .order_by("id")
    )
    result.events = _in_batches(Event, lone_events, batch_size, result)

    if result.total:
        log.info(
            "purged logs older than %s: attempts=%s deliveries=%s events=%s batches=%s",
            before.isoformat(), result.attempts, result.deliveries, result.events, result.batches,
        )
    return result


def _in_batches(model, queryset, batch_size: int, result: PurgeResult) -> int:
    """Delete the rows of `queryset` batch_size at a time: read a batch of ids, delete by id."""
    deleted = 0
    after = 0
    while True:
        ids = list(queryset.filter(pk__gt=after).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        # Rows whose related rows cascade (deliveries -> attempts) are loaded with only their
        # id, never their payloads; attempts have nothing to cascade and are deleted directly.
        _, per_model = model.objects.filter(pk__in=ids).only("pk").delete()
        deleted += per_model.get(model._meta.label, 0)
        result.batches += 1
        if len(ids) < batch_size:
            return deleted
        if model is not Attempt:  # attempts go by age: deleted rows leave the range anyway
            after = ids[-1]
