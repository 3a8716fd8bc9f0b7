"""Payout through the channel's gateway adapter (SPEC §8): exactly once, whatever fails.

The path of one refund:
1. `submit_payout` (job, enqueued after `approved` commits): lock, re-run the pre-payout risk rules
   (a hit holds the ticket while it is still `approved`), fix the FX rate, then `submit_payout`
   creates the attempt with its stable idempotency key and moves the ticket to `processing`.
2. `send_payout` (job): claim the attempt under the lock, call the gateway OUTSIDE any transaction
   (a slow gateway never holds our row locks), then apply the answer under the lock.
3. The outcome arrives in the response, by signed webhook or by polling; all three go through
   `apply_result`, which is idempotent, so duplicates and races change the ticket once.

A crash anywhere leaves the ticket in `approved` or `processing`; the sweeper re-runs the job and
the idempotency key makes the gateway return the refund it already made instead of a second one.
"""

import logging
import time
from decimal import ROUND_DOWN, Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from refunds import jobqueue
from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.errors import NotFound
from refunds.gateways import GatewayError, RefundResult, TransientGatewayError, adapter_for
from refunds.gateways.base import CANCELED, FAILED, PENDING, REQUIRES_ACTION, REVERSED, SUCCEEDED
from refunds.intake import pre_payout_hold, risk_hits
from refunds.lifecycle import State
from refunds.models import PayoutAttempt, RefundTicket
from refunds.models.audit import LogKind
from refunds.models.tickets import FailureReason, HoldType, PayoutStatus
from refunds.money import currency_exponent

from .transitions import lock_ticket, open_hold, perform_transition

logger = logging.getLogger(__name__)

# Backoff for transient gateway errors: RQ Retry intervals (production) and inline sleeps (embedded).
DEFAULT_RETRY_INTERVALS = [5, 30, 120, 600]
DEFAULT_INLINE_RETRY_DELAYS = [0.2, 0.5, 1.0]


def _option(name: str, default):
    return settings.REFUNDLOOP.get(name, default)


def retry_intervals() -> list[int]:
    return list(_option("PAYOUT_RETRY_INTERVALS", DEFAULT_RETRY_INTERVALS))


def inline_retry_delays() -> list[float]:
    return list(_option("PAYOUT_INLINE_RETRY_DELAYS", DEFAULT_INLINE_RETRY_DELAYS))


def enqueue_send_payout(ticket_id: int):
    """Enqueue the gateway call; under RQ with exponential-backoff retries of the same job."""
    if settings.JOBS_INLINE:
        return jobqueue.enqueue("payouts", "refunds.jobs.send_payout", ticket_id)
    from rq import Retry

    intervals = retry_intervals()
    return jobqueue.enqueue("payouts", "refunds.jobs.send_payout", ticket_id,
                            retry=Retry(max=len(intervals), interval=intervals))


# --- 1. approved → processing -----------------------------------------------------------------------

def _hold_for_risk(ticket: RefundTicket, hits: list[dict]) -> None:
    """Hold on the first hit's type; the hits go to the timeline through the one risk path."""
    from refunds.risk import PAYOUT

    open_hold(ticket, Actor.system(), hits[0]["hold_type"], "; ".join(str(h["message"]) for h in hits),
              rule_hits=hits, checkpoint=PAYOUT)


def _fix_fx(ticket: RefundTicket) -> None:
    """Cross-currency refunds: quote the rate once and store the refund-currency amount (rounded down:
    never pay out more than the approved value); the sub-minor-unit rest goes on the attempt."""
    if not ticket.refund_currency or ticket.refund_currency == ticket.currency:
        return
    if ticket.fx_rate and ticket.refund_amount:
        return
    rate = ticket.fx_rate or adapter_for(ticket.channel).quote_fx(ticket.currency, ticket.refund_currency)
    amount = (ticket.amount * rate).quantize(Decimal(1).scaleb(-currency_exponent(ticket.refund_currency)),
                                             rounding=ROUND_DOWN)
    RefundTicket.objects.filter(pk=ticket.pk).update(fx_rate=rate, refund_amount=amount)


def submit_payout(ticket_id: int) -> str:
    """Approved ticket → risk re-check → processing with a new attempt; the gateway call follows."""
    with transaction.atomic():
        try:
            ticket = lock_ticket(ticket_id)
        except NotFound:
            return "missing"
        if ticket.state != State.APPROVED:
            return "skipped"
        if pre_payout_hold(ticket, Actor.system()):
            return "held"
        _fix_fx(ticket)
        perform_transition(ticket=ticket, name="submit_payout", actor=Actor.system())
        transaction.on_commit(partial(enqueue_send_payout, ticket_id))
    return "submitted"


# --- 2. the gateway call ----------------------------------------------------------------------------

def record_money(ticket: RefundTicket, attempt: PayoutAttempt) -> None:
    """Fee given back by this channel (share of the payment's fee) and the FX details, for the ledger."""
    payment = ticket.payment
    fee = Decimal(0)
    if attempt.channel.fee_returned and payment.fee_amount and payment.amount:
        exponent = Decimal(1).scaleb(-currency_exponent(payment.currency))
        already = sum((a.fee_returned_amount for a in PayoutAttempt.objects.filter(
            ticket__payment=payment, status=PayoutStatus.SUCCEEDED).exclude(ticket=ticket)), Decimal(0))
        refunded_before = sum((t.amount for t in payment.tickets.filter(
            state__in=[State.REFUNDED, State.RECONCILED]).exclude(pk=ticket.pk)), Decimal(0))
        if refunded_before + ticket.amount >= payment.amount:
            fee = payment.fee_amount - already  # the last refund returns what is left, so shares add up
        else:
            fee = (payment.fee_amount * ticket.amount / payment.amount).quantize(exponent, rounding=ROUND_DOWN)
    attempt.fee_returned_amount = max(fee, Decimal(0))
    if ticket.fx_rate and ticket.refund_currency and ticket.refund_currency != ticket.currency:
        attempt.fx_rate = ticket.fx_rate
        attempt.fx_remainder = ticket.amount * ticket.fx_rate - attempt.amount


def _latest(ticket: RefundTicket) -> PayoutAttempt | None:
    return ticket.payout_attempts.select_related("channel").order_by("-number").first()


def _claim(ticket_id: int):
    """Under the lock: pick the attempt to send, or say why not (already decided, moved on, risk)."""
    with transaction.atomic():
        try:
            ticket = lock_ticket(ticket_id)
        except NotFound:
            return None, "missing"
        if ticket.state != State.PROCESSING:
            return None, "skipped"
        attempt = _latest(ticket)
        if attempt is None:
            return None, "no-attempt"
        if attempt.status != PayoutStatus.PENDING:
            return None, "decided"
        if attempt.sent_at is None:
            hits = risk_hits(ticket)
            if hits:
                # No gateway call was made for this attempt: stop it and hold the ticket instead.
                reason = (FailureReason.DISPUTED if any(h["hold_type"] == HoldType.DISPUTE for h in hits)
                          else FailureReason.UNKNOWN)
                ticket = perform_transition(ticket=ticket, name="fail", actor=Actor.system(),
                                            comment="Stopped before payout by a risk rule", failure_reason=reason)
                PayoutAttempt.objects.filter(pk=attempt.pk).update(status=PayoutStatus.CANCELED)
                _hold_for_risk(ticket, hits)
                return None, "held"
            record_money(ticket, attempt)
            attempt.sent_at = timezone.now()
        attempt.tries += 1
        attempt.save()
        attempt.ticket = ticket
        return attempt, "claimed"


def _note_error(attempt: PayoutAttempt, exc: Exception) -> None:
    PayoutAttempt.objects.filter(pk=attempt.pk).update(last_error=f"{exc.__class__.__name__}: {exc}"[:300])


def send_payout(ticket_id: int) -> str:
    """One try: call the gateway for the ticket's pending attempt and apply the answer.

    Raises TransientGatewayError for the caller's retry policy (RQ Retry or the inline loop).
    """
    attempt, why = _claim(ticket_id)
    if attempt is None:
        return why
    adapter = adapter_for(attempt.channel)
    currencies = adapter.capabilities.currencies
    if currencies and attempt.currency not in currencies and not attempt.gateway_refund_id:
        result = RefundResult(refund_id="", status=FAILED, failure_reason=FailureReason.CURRENCY_MISMATCH,
                              raw={"error": f"{adapter.name} does not pay out {attempt.currency}"})
        return apply_result(ticket_id, attempt.pk, result, source="capabilities")
    try:
        if attempt.gateway_refund_id:
            result = adapter.fetch_refund(attempt)
        else:
            result = adapter.create_refund(attempt)
    except TransientGatewayError as exc:
        _note_error(attempt, exc)
        logger.warning("payout %s try %s: transient gateway error: %s", attempt.idempotency_key, attempt.tries, exc)
        raise
    except GatewayError as exc:
        _note_error(attempt, exc)
        if attempt.gateway_refund_id:
            # A status query failed: the refund exists, so never fail it on that; poll again later.
            logger.error("payout %s: status query refused: %s", attempt.idempotency_key, exc)
            return "error"
        # The create call was refused in a way retrying the same key cannot fix: fail the attempt so
        # staff decide (the error is kept in last_error and raw_response).
        logger.error("payout %s refused by the gateway: %s", attempt.idempotency_key, exc)
        result = RefundResult(refund_id="", status=FAILED, failure_reason=FailureReason.UNKNOWN,
                              raw={"error": str(exc)[:500]})
    return apply_result(ticket_id, attempt.pk, result, source="response")


def send_payout_with_retries(ticket_id: int, delays: list[float] | None = None) -> str:
    """Embedded mode's retry policy: a short bounded loop with exponential backoff, same key each time.
    When it gives up, the ticket stays `processing` and the sweeper tries again later."""
    delays = inline_retry_delays() if delays is None else delays
    for delay in [*delays, None]:
        try:
            return send_payout(ticket_id)
        except TransientGatewayError:
            if delay is None:
                return "gave-up"
            time.sleep(delay)
    return "gave-up"


# --- 3. applying the gateway's answer ----------------------------------------------------------------

def apply_result(ticket_id: int, attempt_id: int, result: RefundResult, *, source: str) -> str:
    with transaction.atomic():
        try:
            ticket = lock_ticket(ticket_id)
        except NotFound:
            return "missing"
        attempt = PayoutAttempt.objects.select_for_update().get(pk=attempt_id)
        return apply_locked(ticket, attempt, result, source=source)


def apply_locked(ticket: RefundTicket, attempt: PayoutAttempt, result: RefundResult, *, source: str) -> str:
    """Apply one gateway status to a locked ticket; idempotent (re-applying changes nothing)."""
    system = Actor.system(f"gateway:{attempt.channel.code}")
    changed = []
    if result.refund_id and not attempt.gateway_refund_id:
        attempt.gateway_refund_id = result.refund_id
        changed.append("gateway_refund_id")
    if result.raw and result.raw != attempt.raw_response:
        attempt.raw_response = result.raw
        changed.append("raw_response")
    if changed:
        attempt.save(update_fields=[*changed, "updated_at"])
    current = ticket.payout_attempts.order_by("-number").values_list("pk", flat=True).first() == attempt.pk
    status = result.status
    data = {"source": source, "attempt": attempt.number}
    if status == SUCCEEDED:
        if current and ticket.state == State.PROCESSING:
            perform_transition(ticket=ticket, name="confirm", actor=system, gateway_refund_id=attempt.gateway_refund_id)
            return "confirmed"
        if attempt.status != PayoutStatus.SUCCEEDED and attempt.status != PayoutStatus.REVERSED:
            # Success of an attempt we no longer wait for (superseded): money did leave; say so loudly.
            logger.error("late success on superseded payout attempt %s", attempt.idempotency_key)
            append_entry(ticket, actor=system, kind=LogKind.NOTE, data=data,
                         comment=f"Gateway reports success for superseded attempt {attempt.number}.")
        return "unchanged"
    if (status == FAILED and attempt.status == PayoutStatus.SUCCEEDED
            and ticket.state in (State.REFUNDED, State.RECONCILED)):
        # A late `failed` after success is a bounce (SPEC §3, 退款退票): handled like a reversal.
        status = REVERSED
    if status == FAILED or status == CANCELED:
        reason = result.failure_reason if result.failure_reason in FailureReason.values else FailureReason.UNKNOWN
        if current and ticket.state == State.PROCESSING:
            ticket = perform_transition(ticket=ticket, name="fail", actor=system, failure_reason=reason,
                                        comment=f"Gateway: {reason}")
            if reason == FailureReason.DISPUTED:
                open_hold(ticket, system, HoldType.DISPUTE,
                          "The gateway refused the refund because the payment is disputed.")
                return "held"
            return "failed"
        return "unchanged"
    if status == REVERSED:
        reason = result.failure_reason if result.failure_reason in FailureReason.values else FailureReason.UNKNOWN
        if current and ticket.state == State.PROCESSING:
            ticket = perform_transition(ticket=ticket, name="confirm", actor=system,
                                        gateway_refund_id=attempt.gateway_refund_id)
        attempt.refresh_from_db()
        if ticket.state == State.REFUNDED and attempt.status == PayoutStatus.SUCCEEDED:
            perform_transition(ticket=ticket, name="reverse", actor=system, failure_reason=reason,
                               comment=f"Gateway reversed the refund: {reason}")
            return "reversed"
        if ticket.state == State.RECONCILED and attempt.status == PayoutStatus.SUCCEEDED:
            # Too late for the lifecycle (reconciled is terminal): never lose it silently.
            logger.error("reversal after reconciliation for %s", attempt.idempotency_key)
            append_entry(ticket, actor=system, kind=LogKind.NOTE, data={**data, "failure_reason": reason},
                         comment=f"Gateway reports the reconciled refund bounced ({reason}); finance must act.")
            return "noted"
        return "unchanged"
    if status == REQUIRES_ACTION and attempt.status == PayoutStatus.PENDING:
        attempt.status = PayoutStatus.REQUIRES_ACTION
        attempt.save(update_fields=["status", "updated_at"])
    return "pending" if status in (PENDING, REQUIRES_ACTION) else "unchanged"


def poll_attempt(attempt: PayoutAttempt) -> str:
    """Ask the gateway for an attempt's status and apply it (the polling half of confirmation)."""
    result = adapter_for(attempt.channel).fetch_refund(attempt)
    return apply_result(attempt.ticket_id, attempt.pk, result, source="poll")
