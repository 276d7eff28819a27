"""RQ entry points: thin wrappers taking ids; the logic lives in plain functions."""

from deliveries import drain as drain_module
from deliveries import sweeper


def drain(webhook_id: int) -> dict:
    result = drain_module.drain(webhook_id)
    return {"sent": result.sent, "succeeded": result.succeeded, "failed": result.failed}


def sweep() -> dict:
    result = sweeper.sweep()
    return {"woken": result.woken, "auto_disabled": result.auto_disabled}
