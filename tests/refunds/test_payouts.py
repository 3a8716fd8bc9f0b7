"""The payout path through the simulated gateway, with jobs run inline (embedded mode)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from refunds.actors import Actor
from refunds.balances import payment_balance
from refunds.errors import TransitionNotAllowed
from refunds.lifecycle import Role, State
from refunds.models import Channel, Hold, Payment, PayoutAttempt, RefundTicket, SimulatedRefund
from refunds.models.tickets import PayoutStatus
from refunds.services import payouts, perform_transition
from refunds.sweeper import poll_pending
from tests.factories import DisputeFactory, PaymentFactory, TicketFactory, UserFactory
from tests.refunds.payout_helpers import approved_ticket, configure, refreshed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inline(settings, defaults):
    settings.JOBS_INLINE = True
    settings.REFUNDLOOP = {**settings.REFUNDLOOP, "PAYOUT_INLINE_RETRY_DELAYS": [0, 0, 0]}


def pay(ticket, capture):
    with capture(execute=True):
        return payouts.submit_payout(ticket.pk)


def test_approved_ticket_is_paid_out_once(django_capture_on_commit_callbacks):
    ticket = approved_ticket()
    assert pay(ticket, django_capture_on_commit_callbacks) == "submitted"
    ticket = refreshed(ticket)
    assert ticket.state == State.REFUNDED
    attempt = ticket.payout_attempts.get()
    assert attempt.status == PayoutStatus.SUCCEEDED
    assert attempt.idempotency_key == f"{ticket.reference}-1"
    assert attempt.gateway_refund_id.startswith("re_sim_")
    assert attempt.tries == 1 and attempt.sent_at is not None
    assert SimulatedRefund.objects.filter(idempotency_key=attempt.idempotency_key).count() == 1
    transitions = list(ticket.log.exclude(transition="").values_list("transition", "actor_kind"))
    assert ("submit_payout", "system") in transitions and ("confirm", "system") in transitions
    # Running the jobs again changes nothing.
    assert payouts.submit_payout(ticket.pk) == "skipped"
    assert payouts.send_payout(ticket.pk) == "skipped"
    assert SimulatedRefund.objects.count() == 1


def test_approval_enqueues_the_payout_after_commit(django_capture_on_commit_callbacks):
    reviewer = UserFactory(roles=[Role.REVIEWER])
    ticket = TicketFactory(payment=PaymentFactory(), amount=Decimal("15.00"), state=State.IN_REVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket.pk, name="approve", actor=Actor.staff(reviewer))
    assert refreshed(ticket).state == State.REFUNDED


def test_open_dispute_holds_before_any_attempt(django_capture_on_commit_callbacks):
    ticket = approved_ticket()
    DisputeFactory(payment=ticket.payment, amount=Decimal("50.00"))
    assert pay(ticket, django_capture_on_commit_callbacks) == "held"
    ticket = refreshed(ticket)
    assert ticket.state == State.ON_HOLD and ticket.held_from == State.APPROVED
    hold = Hold.objects.get(ticket=ticket)
    assert hold.hold_type == "dispute" and hold.return_state == State.APPROVED
    assert not PayoutAttempt.objects.filter(ticket=ticket).exists()
    assert ticket.log.filter(kind="rule_hit", data__rule="open_dispute").exists()


def test_dispute_opened_after_submit_stops_the_attempt_before_the_gateway(django_capture_on_commit_callbacks):
    ticket = approved_ticket()
    with django_capture_on_commit_callbacks(execute=False):
        payouts.submit_payout(ticket.pk)  # processing, send job not run yet
    DisputeFactory(payment=ticket.payment, amount=Decimal("50.00"))
    assert payouts.send_payout(ticket.pk) == "held"
    ticket = refreshed(ticket)
    assert ticket.state == State.ON_HOLD and ticket.held_from == State.FAILED
    assert ticket.payout_attempts.get().status == PayoutStatus.CANCELED
    assert SimulatedRefund.objects.count() == 0


def test_triggered_failure_records_reason_and_retry_uses_a_new_key(django_capture_on_commit_callbacks):
    ticket = approved_ticket("sim_fail_insufficient_funds_1")
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.FAILED
    first = ticket.payout_attempts.get()
    assert first.status == PayoutStatus.FAILED and first.failure_reason == "insufficient_funds"
    finance = UserFactory(roles=[Role.FINANCE])
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket, name="retry", actor=Actor.staff(finance))
    ticket = refreshed(ticket)
    assert ticket.state == State.FAILED  # the trigger fails every attempt on the original channel
    assert [a.idempotency_key for a in ticket.payout_attempts.all()] == [f"{ticket.reference}-1",
                                                                         f"{ticket.reference}-2"]
    # Fallback channel with the customer's consent pays out.
    RefundTicket.objects.filter(pk=ticket.pk).update(fallback_consent_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket, name="switch_channel", actor=Actor.staff(finance))
    ticket = refreshed(ticket)
    assert ticket.state == State.REFUNDED and ticket.channel.code == "store_credit"
    assert ticket.payout_attempts.order_by("-number").first().channel.code == "store_credit"


def test_disputed_failure_goes_to_dispute_hold_not_retry(django_capture_on_commit_callbacks):
    ticket = approved_ticket("sim_fail_disputed_7")
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.ON_HOLD
    hold = ticket.holds.get()
    assert hold.hold_type == "dispute" and hold.owner_role == Role.FINANCE and hold.return_state == State.FAILED


def test_async_confirmation_by_polling(django_capture_on_commit_callbacks):
    configure(confirm_after_seconds=30, deliver_webhooks=False)
    ticket = approved_ticket()
    pay(ticket, django_capture_on_commit_callbacks)
    assert refreshed(ticket).state == State.PROCESSING
    assert poll_pending() == {"pending": 1}
    SimulatedRefund.objects.update(settle_at=timezone.now())
    assert poll_pending() == {"confirmed": 1}
    assert refreshed(ticket).state == State.REFUNDED
    assert poll_pending() == {"unchanged": 1}  # watched for reversal, nothing happens


def test_transient_error_retries_under_the_same_key(django_capture_on_commit_callbacks):
    ticket = approved_ticket("sim_unavailable_3")
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.REFUNDED
    attempt = ticket.payout_attempts.get()
    assert attempt.tries == 2 and "503" in attempt.last_error
    assert SimulatedRefund.objects.count() == 1


def test_timeout_after_accept_retry_finds_the_existing_refund(django_capture_on_commit_callbacks):
    ticket = approved_ticket("sim_timeout_9")
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.REFUNDED
    refund = SimulatedRefund.objects.get()
    assert refund.calls == 2  # the gateway saw the same key twice and made one refund
    attempt = ticket.payout_attempts.get()
    assert attempt.gateway_refund_id == refund.refund_id and attempt.tries == 2


def test_gives_up_after_bounded_retries_and_the_sweeper_finishes(django_capture_on_commit_callbacks, settings):
    configure(unavailable_rate=1)
    ticket = approved_ticket()
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.PROCESSING and ticket.payout_attempts.get().tries == 4
    configure(unavailable_rate=0)
    from refunds.sweeper import sweep

    assert sweep(older_than=0) == {"approved": 0, "processing": 1}
    assert refreshed(ticket).state == State.REFUNDED
    assert SimulatedRefund.objects.count() == 1


def test_idempotency_conflict_fails_the_attempt(django_capture_on_commit_callbacks):
    ticket = approved_ticket()
    with django_capture_on_commit_callbacks(execute=False):
        payouts.submit_payout(ticket.pk)
    attempt = refreshed(ticket).payout_attempts.get()
    SimulatedRefund.objects.create(
        refund_id="re_sim_other", idempotency_key=attempt.idempotency_key, channel_code="card",
        payment_reference=ticket.payment.payment_ref, amount=Decimal("99.00"), currency="USD",
        outcome="succeeded", settle_at=timezone.now())
    assert payouts.send_payout(ticket.pk) == "failed"
    attempt.refresh_from_db()
    assert attempt.failure_reason == "unknown" and "IdempotencyConflict" in attempt.last_error


def test_cross_currency_records_rate_amount_and_remainder(django_capture_on_commit_callbacks):
    configure("card", fx_rates={"USD:EUR": "0.9237"})
    ticket = approved_ticket(amount="20.01")
    RefundTicket.objects.filter(pk=ticket.pk).update(refund_currency="EUR")
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.REFUNDED
    assert ticket.fx_rate == Decimal("0.9237")
    assert ticket.refund_amount == Decimal("18.48")  # 18.483237 rounded down: never pay more
    attempt = ticket.payout_attempts.get()
    assert (attempt.amount, attempt.currency) == (Decimal("18.48"), "EUR")
    assert attempt.fx_rate == Decimal("0.9237")
    assert attempt.fx_remainder == Decimal("0.003237")
    assert SimulatedRefund.objects.get().currency == "EUR"


@pytest.mark.parametrize("code,expected", [("card", Decimal("0")), ("alipay", Decimal("1.50"))])
def test_fee_returned_or_kept_per_channel(django_capture_on_commit_callbacks, code, expected):
    payment = PaymentFactory(channel=Channel.objects.get(code=code), amount=Decimal("200.00"),
                             fee_amount=Decimal("6.00"), currency="USD")
    first = TicketFactory(payment=payment, amount=Decimal("50.00"), state="approved")
    pay(first, django_capture_on_commit_callbacks)
    assert refreshed(first).payout_attempts.get().fee_returned_amount == expected
    rest = TicketFactory(payment=payment, amount=Decimal("150.00"), state="approved", reason="other")
    pay(rest, django_capture_on_commit_callbacks)
    total = sum(a.fee_returned_amount for a in PayoutAttempt.objects.filter(ticket__payment=payment))
    assert total == (Decimal("6.00") if code == "alipay" else Decimal("0"))


def test_refunded_and_in_flight_totals_follow_the_attempts(django_capture_on_commit_callbacks):
    payment = PaymentFactory(amount=Decimal("100.00"))
    done = TicketFactory(payment=payment, amount=Decimal("30.00"), state="approved")
    failing = TicketFactory(payment=payment, amount=Decimal("20.00"), state="approved", reason="other")
    pay(done, django_capture_on_commit_callbacks)
    Payment.objects.filter(pk=payment.pk).update(payment_ref="sim_fail_declined_x")
    pay(failing, django_capture_on_commit_callbacks)
    balance = payment_balance(payment)
    succeeded = sum(a.ticket.amount for a in PayoutAttempt.objects.filter(
        ticket__payment=payment, status=PayoutStatus.SUCCEEDED).select_related("ticket"))
    assert balance.refunded == succeeded == Decimal("30.00")
    assert balance.in_flight == Decimal("20.00")  # failed: still claimed until retried or closed
    assert balance.refundable == Decimal("50.00")


def test_risk_rule_cleared_by_staff_does_not_hold_the_payout_again(django_capture_on_commit_callbacks):
    risk = UserFactory(roles=[Role.RISK])
    payment = PaymentFactory(amount=Decimal("9000.00"))
    ticket = TicketFactory(payment=payment, amount=Decimal("6000.00"), state=State.APPROVED)
    # First pass: over the policy's risk threshold → held from approved.
    assert pay(ticket, django_capture_on_commit_callbacks) == "held"
    assert refreshed(ticket).holds.get().hold_type == "risk"
    # Risk releases it: back to approved, the payout is enqueued again and goes through.
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket.pk, name="release", actor=Actor.staff(risk), comment="Checked")
    assert refreshed(ticket).state == State.REFUNDED


def test_released_dispute_hold_still_blocks_while_the_dispute_is_open(django_capture_on_commit_callbacks):
    ops_lead = UserFactory(roles=[Role.OPS_LEAD])  # RACI: release is a risk-stage transition
    ticket = approved_ticket()
    dispute = DisputeFactory(payment=ticket.payment, amount=Decimal("50.00"))
    assert pay(ticket, django_capture_on_commit_callbacks) == "held"
    # While the dispute is open the hold cannot be released at all (it would pay twice).
    with pytest.raises(TransitionNotAllowed):
        perform_transition(ticket=ticket.pk, name="release", actor=Actor.staff(ops_lead), comment="Released")
    assert refreshed(ticket).state == State.ON_HOLD
    dispute.status = "won"
    dispute.save()
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket.pk, name="release", actor=Actor.staff(ops_lead), comment="Dispute won")
    assert refreshed(ticket).state == State.REFUNDED


def test_currency_the_adapter_cannot_pay_fails_before_the_gateway(django_capture_on_commit_callbacks, monkeypatch):
    from refunds.gateways.base import Capabilities
    from refunds.gateways.simulated import SimulatedGateway

    monkeypatch.setattr(SimulatedGateway, "capabilities", Capabilities(currencies=("EUR",)))
    ticket = approved_ticket()
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.FAILED
    assert ticket.payout_attempts.get().failure_reason == "currency_mismatch"
    assert SimulatedRefund.objects.count() == 0


def test_failed_status_query_leaves_the_payout_pending(django_capture_on_commit_callbacks):
    configure(confirm_after_seconds=60, deliver_webhooks=False)
    ticket = approved_ticket()
    pay(ticket, django_capture_on_commit_callbacks)
    SimulatedRefund.objects.update(channel_code="elsewhere")  # the gateway "loses" it: 404 on fetch
    assert payouts.send_payout(ticket.pk) == "error"
    ticket = refreshed(ticket)
    assert ticket.state == State.PROCESSING
    assert "404" in ticket.payout_attempts.get().last_error


def test_late_failure_after_success_is_a_bounce(django_capture_on_commit_callbacks):
    """A gateway `failed` for a refund it had confirmed moves the ticket back to failed (SPEC §3)."""
    from refunds.gateways.base import RefundResult

    ticket = approved_ticket()
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    attempt = ticket.payout_attempts.get()
    assert ticket.state == State.REFUNDED
    with django_capture_on_commit_callbacks(execute=True):
        outcome = payouts.apply_result(ticket.pk, attempt.pk, RefundResult(
            refund_id=attempt.gateway_refund_id, status="failed", failure_reason="expired_or_canceled_card"),
            source="webhook")
    assert outcome == "reversed"
    ticket = refreshed(ticket)
    assert ticket.state == State.FAILED
    assert ticket.payout_attempts.get().status == PayoutStatus.REVERSED


def test_staff_cannot_fail_a_payout_the_gateway_is_still_working_on(django_capture_on_commit_callbacks):
    """Failing it by hand and retrying under a new key could pay twice (SPEC §15)."""
    configure(confirm_after_seconds=3600, deliver_webhooks=False)
    ticket = approved_ticket()
    pay(ticket, django_capture_on_commit_callbacks)
    ticket = refreshed(ticket)
    assert ticket.state == State.PROCESSING and ticket.payout_attempts.get().sent_at is not None
    finance = UserFactory(roles=[Role.FINANCE])
    with pytest.raises(TransitionNotAllowed):
        perform_transition(ticket=ticket.pk, name="fail", actor=Actor.staff(finance), failure_reason="declined")
    assert refreshed(ticket).state == State.PROCESSING
