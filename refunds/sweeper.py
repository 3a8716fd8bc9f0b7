"""Recovery for payouts (SPEC §8, §15): nothing stuck in `approved` or `processing` stays stuck.

A lost job (Redis down while approving, a worker killed mid-payout, retries exhausted) leaves the
ticket where it was. `sweep` finds tickets whose last state change is older than
REFUNDLOOP["SWEEPER_STUCK_AFTER_SECONDS"] and re-enqueues their job; the jobs are idempotent (row
lock + the attempt's stable idempotency key), so re-running one that is merely slow is harmless.
`poll_pending` asks the gateway about refunds still waiting for confirmation (the polling half of
asynchronous confirmation, and the watch for late reversals).

Embedded mode: `manage.py run_periodic` calls `run_periodic_tasks`. Production: RQ's cron runs
the same function, see refunds/cron.py (`manage.py rqcron refunds.cron`).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from refunds import jobqueue
from refunds.gateways import GatewayError, adapter_for
from refunds.lifecycle import State
from refunds.models import PayoutAttempt, RefundTicket
from refunds.models.audit import LogKind
from refunds.models.tickets import PayoutStatus
from refunds.services.payouts import enqueue_send_payout, poll_attempt

logger = logging.getLogger(__name__)

BATCH = 500


def stuck_after_seconds() -> int:
    return int(settings.REFUNDLOOP.get("SWEEPER_STUCK_AFTER_SECONDS", 600))


def stuck_tickets(state: str, older_than: float, *, now=None) -> list[int]:
    """Tickets in `state` whose last state change (audit log) is older than `older_than` seconds."""
    cutoff = (now or timezone.now()) - timedelta(seconds=older_than)
    return list(
        RefundTicket.objects.filter(state=state)
        .annotate(changed_at=Max("log__at", filter=Q(log__kind=LogKind.TRANSITION)))
        .filter(Q(changed_at__lte=cutoff) | Q(changed_at__isnull=True, updated_at__lte=cutoff))
        .order_by("changed_at")
        .values_list("pk", flat=True)[:BATCH]
    )


def sweep(*, older_than: float | None = None, now=None) -> dict:
    """Re-enqueue the payout job of every stuck ticket."""
    older_than = stuck_after_seconds() if older_than is None else older_than
    approved = stuck_tickets(State.APPROVED, older_than, now=now)
    processing = stuck_tickets(State.PROCESSING, older_than, now=now)
    for ticket_id in approved:
        jobqueue.enqueue("payouts", "refunds.jobs.submit_payout", ticket_id)
    for ticket_id in processing:
        enqueue_send_payout(ticket_id)
    if approved or processing:
        logger.info("sweeper re-enqueued %s approved and %s processing payouts", len(approved), len(processing))
    return {"approved": len(approved), "processing": len(processing)}


def poll_pending(*, reversal_window_seconds: float | None = None) -> dict:
    """Poll the gateway for attempts awaiting confirmation, and recent successes that may bounce."""
    window = settings.REFUNDLOOP.get("REVERSAL_POLL_WINDOW_SECONDS", 3600) if reversal_window_seconds is None \
        else reversal_window_seconds
    since = timezone.now() - timedelta(seconds=window)
    attempts = (
        PayoutAttempt.objects.select_related("channel")
        .exclude(gateway_refund_id="")
        .filter(Q(status__in=[PayoutStatus.PENDING, PayoutStatus.REQUIRES_ACTION], ticket__state=State.PROCESSING)
                | Q(status=PayoutStatus.SUCCEEDED, ticket__state=State.REFUNDED, sent_at__gte=since))
        .order_by("updated_at")[:BATCH]
    )
    counts: dict[str, int] = {}
    for attempt in attempts:
        if not adapter_for(attempt.channel).capabilities.polling:
            continue
        try:
            outcome = poll_attempt(attempt)
        except GatewayError as exc:
            logger.warning("polling %s failed: %s", attempt.idempotency_key, exc)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def run_periodic_tasks() -> dict:
    """Everything the payout path does on a clock: simulated-gateway webhooks, polling, the sweep."""
    from refunds.gateways.simulated import deliver_webhooks

    results = {}
    for name, task in (("simulated_webhooks", deliver_webhooks), ("poll_pending", poll_pending), ("sweep", sweep)):
        try:
            results[name] = task()
        except Exception as exc:  # one failing part must not stop the others
            logger.exception("periodic payout task %s failed", name)
            results[name] = f"error: {exc.__class__.__name__}"
    return results
