"""Production schedule for RQ's cron scheduler: `python manage.py rqcron refunds.cron`.

Run it as one process beside the workers. Every minute it enqueues each periodic task of
`settings.REFUNDLOOP["PERIODIC_TASKS"]` (the same list `manage.py run_periodic` runs in embedded
mode): SLA checks, the payout sweeper, notification and partner-webhook retries, delay apologies,
idempotency-key purging, observed settlement times. Each task is idempotent, so an extra or
overlapping run is harmless. (Exact-instant SLA warnings and breaches are scheduled separately
with `enqueue_at`; these passes are their safety net.)
"""

from django.conf import settings
from django.utils.module_loading import import_string
from rq import cron

QUEUE_OF = {"refunds.sweeper.run_periodic_tasks": "payouts", "notifications.jobs.run_periodic_tasks": "notifications",
            "reconciliation.jobs.daily_runs": "reconciliation"}

for path in settings.REFUNDLOOP["PERIODIC_TASKS"]:
    cron.register(import_string(path), queue_name=QUEUE_OF.get(path, "default"), interval=60, job_timeout=300)
