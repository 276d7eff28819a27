"""Periodic jobs, run by `python manage.py rqcron webhooks_site.cron` (rq's cron scheduler).

Each entry enqueues a job on the default queue; the workers run it.
"""

from rq import cron

from deliveries import jobs as delivery_jobs
from webhooks_site import jobs

cron.register(jobs.heartbeat, queue_name="default", interval=60)
# The outbox's safety net: retries that came due, lost wake-ups, expired leases.
cron.register(delivery_jobs.sweep, queue_name="default", interval=5)
# "<webhook> is failing" emails to workspace admins, at most one per webhook per day.
cron.register(delivery_jobs.warn_failing_webhooks, queue_name="default", interval=300)
# Retention: attempts, finished deliveries and events older than WEBHOOKS_LOG_RETENTION_DAYS,
# in batches. A long purge holds one worker; one hour is ample for a backlog of millions.
cron.register(delivery_jobs.purge_old_logs, queue_name="default", interval=3600, job_timeout=3600)
# The same retention for the API's audit log and chatbot conversations.
cron.register(jobs.purge_old_activity, queue_name="default", interval=3600, job_timeout=3600)
