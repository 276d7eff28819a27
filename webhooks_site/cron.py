"""Periodic jobs, run by `python manage.py rqcron webhooks_site.cron` (rq's cron scheduler).

Each entry enqueues a job on the default queue; the workers run it.
"""

from rq import cron

from deliveries import jobs as delivery_jobs
from webhooks_site import jobs

cron.register(jobs.heartbeat, queue_name="default", interval=60)
# The outbox's safety net: retries that came due, lost wake-ups, expired leases.
cron.register(delivery_jobs.sweep, queue_name="default", interval=5)
