import logging

log = logging.getLogger("deliveries")

PURGE_BATCH = 1000


def heartbeat():
    """A no-op job the cron scheduler enqueues every minute, so a stuck queue shows in the
    RQ dashboard. The delivery sweeper joins it in the same schedule."""
    log.debug("heartbeat")
    return "ok"


def purge_old_activity(now=None) -> dict:
    """What else grows forever, kept as long as the delivery logs (WEBHOOKS_LOG_RETENTION_DAYS):
    the management API's audit log and the chatbot conversations with no message since.
    Hourly, next to deliveries.jobs.purge_old_logs."""
    from api.models import ApiCall
    from chatflows.models import Conversation
    from deliveries.retention import cutoff

    before = cutoff(now)
    purged = {
        "api_calls": delete_in_batches(ApiCall.objects.filter(created_at__lt=before)),
        "conversations": delete_in_batches(
            Conversation.objects.filter(last_message_at__lt=before)
        ),
    }
    if any(purged.values()):
        log.info("purged activity older than %s: %s", before.isoformat(), purged)
    return purged


def delete_in_batches(queryset, batch_size: int = PURGE_BATCH) -> int:
    """Delete the queryset's rows a batch of ids at a time (short statements, no huge
    transaction); returns how many rows of its model went."""
    model = queryset.model
    deleted = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        _, per_model = model.objects.filter(pk__in=ids).delete()
        deleted += per_model.get(model._meta.label, 0)
        if len(ids) < batch_size:
            return deleted
