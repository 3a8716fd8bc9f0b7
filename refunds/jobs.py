"""RQ jobs: take ids, re-fetch under lock inside one service call, return early if the ticket moved on.

Retry policy lives here: `send_payout` is enqueued with RQ `Retry` (exponential intervals, see
refunds.services.payouts.enqueue_send_payout), so under a worker a transient gateway error simply
propagates and RQ re-runs the job later with the same idempotency key. Run inline (embedded mode,
no RQ job), it retries in a short bounded loop instead.
"""

from refunds.services import payouts


def submit_payout(ticket_id: int) -> str:
    return payouts.submit_payout(ticket_id)


def send_payout(ticket_id: int) -> str:
    from rq import get_current_job

    if get_current_job() is not None:
        return payouts.send_payout(ticket_id)
    return payouts.send_payout_with_retries(ticket_id)


def poll_payout(attempt_id: int) -> str:
    from refunds.models import PayoutAttempt

    attempt = PayoutAttempt.objects.select_related("channel").filter(pk=attempt_id).first()
    return payouts.poll_attempt(attempt) if attempt else "missing"
