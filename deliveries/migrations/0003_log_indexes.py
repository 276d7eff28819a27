"""Indexes for the delivery logs page and "Retry all failed since ...".

Database-only operations: the indexes are not declared in the models' Meta (deliveries/models.py
belongs to the delivery engine), so the migration state is left as it was and makemigrations
stays clean. Django writes the CREATE INDEX for each backend (partial indexes work on SQLite
and PostgreSQL alike).
"""

from django.db import migrations, models
from django.db.models import Q

INDEXES = [
    (
        "attempt",
        # Logs page filtered to failures: a webhook's failed attempts, newest first, keyset on
        # (started_at, id). deliveries.logs.page(result="failed"); without it the page scans
        # every attempt of the webhook until it has found 51 failures.
        models.Index(
            fields=["webhook", "-started_at", "-id"],
            condition=Q(succeeded=False),
            name="attempt_failed_log_idx",
        ),
    ),
    (
        "attempt",
        # Logs page filtered by event type: deliveries.logs.page(event_type=...), newest first,
        # keyset on (started_at, id). A rare type would otherwise scan the whole log.
        models.Index(
            fields=["webhook", "event_type", "-started_at", "-id"],
            name="attempt_type_log_idx",
        ),
    ),
    (
        "delivery",
        # "Retry all failed since ..." and "Replay after outage": count and walk (in batches,
        # keyset on created_at, id) a webhook's failed, non-test deliveries since a time.
        # deliveries.recovery.failed_since().
        models.Index(
            fields=["webhook", "created_at", "id"],
            condition=Q(status="failed", is_test=False),
            name="delivery_failed_idx",
        ),
    ),
]


class Migration(migrations.Migration):
    dependencies = [
        ("deliveries", "0002_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AddIndex(model_name=model, index=index) for model, index in INDEXES
            ],
            state_operations=[],
        ),
    ]
