"""Production schedule for RQ's cron scheduler: `python manage.py rqcron refunds.cron`.

Run it as one process beside the workers (`manage.py rqworker --with-scheduler payouts ...`). It
enqueues the payout sweeper every minute on the `payouts` queue; the sweeper's own jobs are
idempotent, so an extra or overlapping run is harmless.
"""

from rq import cron

from refunds.sweeper import run_periodic_tasks

cron.register(run_periodic_tasks, queue_name="payouts", interval=60, job_timeout=300)
