import logging

log = logging.getLogger("deliveries")


def heartbeat():
    """A no-op job the cron scheduler enqueues every minute, so a stuck queue shows in the
    RQ dashboard. The delivery sweeper joins it in the same schedule."""
    log.debug("heartbeat")
    return "ok"
