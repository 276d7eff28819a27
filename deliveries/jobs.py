"""RQ entry points: thin wrappers taking ids; the logic lives in plain functions."""

from deliveries import drain as drain_module
from deliveries import sweeper


def drain(webhook_id: int) -> dict:
    result = drain_module.drain(webhook_id)
    return {"sent": result.sent, "succeeded": result.succeeded, "failed": result.failed}


def sweep() -> dict:
    result = sweeper.sweep()
    return {"woken": result.woken, "auto_disabled": result.auto_disabled}


def retry_failed_since(webhook_id: int, since: str, job_key: str, until: str | None = None):
    from deliveries import recovery

    return {"reset": recovery.retry_failed_since(webhook_id, since, job_key, until)}


def purge_old_logs() -> dict:
    from deliveries import retention

    result = retention.purge()
    return {"attempts": result.attempts, "deliveries": result.deliveries, "events": result.events}


def warn_failing_webhooks() -> dict:
    from deliveries import notifications

    return {"warned": notifications.warn_failing_webhooks()}
