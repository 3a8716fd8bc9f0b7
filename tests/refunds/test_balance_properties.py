"""Property: whatever happens to one payment — refund requests, approvals, payouts that fail or
succeed, reversals after success, retries, cancellations, disputes opened, won and lost — the
refundable balance never goes below zero and the customer never gets back more than was captured."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from refunds.actors import Actor
from refunds.balances import payment_balance
from refunds.disputes import close_dispute, register_dispute
from refunds.errors import DomainError
from refunds.intake import pre_payout_hold
from refunds.lifecycle import State
from refunds.models import Dispute, RiskRule
from refunds.models.payments import DisputeStatus
from refunds.models.tickets import ReasonCode
from refunds.services import create_ticket, perform_transition
from refunds.services.transitions import lock_ticket
from tests.factories import PaymentFactory

CAPTURED = Decimal("100.00")
cents = st.integers(min_value=1, max_value=12_000).map(lambda n: Decimal(n).scaleb(-2))
small_cents = st.integers(min_value=1, max_value=6_000).map(lambda n: Decimal(n).scaleb(-2))
pick = st.integers(min_value=0, max_value=50)

opening_requests = st.lists(
    st.tuples(st.just("request"), small_cents, st.sampled_from(ReasonCode.values)), min_size=1, max_size=4
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("request"), small_cents, st.sampled_from(ReasonCode.values)),
        st.tuples(st.just("request"), cents, st.sampled_from(ReasonCode.values)),
        st.tuples(st.just("approve_and_submit"), pick),
        st.tuples(st.just("pay_out"), pick),
        st.tuples(st.just("confirm"), pick),
        st.tuples(st.just("confirm"), pick),
        st.tuples(st.just("fail"), pick),
        st.tuples(st.just("reverse"), pick),
        st.tuples(st.just("retry"), pick),
        st.tuples(st.just("cancel"), pick),
        st.tuples(st.just("release"), pick),
        st.tuples(st.just("dispute"), cents),
        st.tuples(st.just("close_dispute"), pick, st.sampled_from([DisputeStatus.WON, DisputeStatus.LOST])),
    ),
    min_size=3,
    max_size=30,
)


def nth(queryset, index):
    items = list(queryset.order_by("pk"))
    return items[index % len(items)] if items else None


class Run:
    def __init__(self, payment, staff):
        self.payment = payment
        self.staff = staff
        self.disputes = 0
        self.submitted_with_open_dispute = 0
        self.held_by_dispute = 0

    def tickets(self, state):
        return self.payment.tickets.filter(state=state)

    def transition(self, ticket, name, actor=None, **payload):
        if ticket is not None:
            perform_transition(ticket=ticket, name=name, actor=actor or Actor.system(), **payload)

    def request(self, amount, reason):
        create_ticket(
            payment=self.payment, amount=str(amount), currency="USD", reason=reason, actor=Actor.system()
        )

    def approve_and_submit(self, index):
        ticket = nth(self.tickets(State.IN_REVIEW), index)
        if ticket is None:
            return
        ticket = perform_transition(ticket=ticket, name="approve", actor=self.staff["reviewer"])
        # What the payout job does: the before-payout rules, then approved → processing.
        if pre_payout_hold(lock_ticket(ticket), Actor.system()):
            self.held_by_dispute += ticket.holds.filter(hold_type="dispute").exists()
            return
        self.submitted_with_open_dispute += Dispute.objects.filter(
            payment=self.payment, status=DisputeStatus.OPEN
        ).exists()
        self.transition(ticket, "submit_payout")

    def pay_out(self, index):
        """The happy path in one step: approve, submit and the gateway confirms."""
        before = set(self.tickets(State.PROCESSING).values_list("pk", flat=True))
        self.approve_and_submit(index)
        for ticket in self.tickets(State.PROCESSING).exclude(pk__in=before):
            self.transition(ticket, "confirm", gateway_refund_id="re_2")

    def confirm(self, index):
        self.transition(nth(self.tickets(State.PROCESSING), index), "confirm", gateway_refund_id="re_1")

    def fail(self, index):
        self.transition(nth(self.tickets(State.PROCESSING), index), "fail", failure_reason="declined")

    def reverse(self, index):
        self.transition(
            nth(self.tickets(State.REFUNDED), index), "reverse", failure_reason="lost_or_stolen_card"
        )

    def retry(self, index):
        self.transition(nth(self.tickets(State.FAILED), index), "retry", actor=self.staff["finance"])

    def cancel(self, index):
        self.transition(
            nth(
                self.payment.tickets.filter(
                    state__in=[State.IN_REVIEW, State.PENDING_APPROVAL, State.ON_HOLD]
                ),
                index,
            ),
            "cancel",
        )

    def release(self, index):
        self.transition(nth(self.tickets(State.ON_HOLD), index), "release", actor=self.staff["ops_lead"])

    def dispute(self, amount):
        self.disputes += 1
        register_dispute(
            payment=self.payment, reference=f"dp-{self.payment.pk}-{self.disputes}", amount=str(amount)
        )

    def close_dispute(self, index, outcome):
        dispute = nth(Dispute.objects.filter(payment=self.payment, status=DisputeStatus.OPEN), index)
        if dispute is not None:
            close_dispute(dispute=dispute, outcome=outcome)


@pytest.fixture
def staff(make_user):
    # Velocity rules would hold most of these rapid refunds; this property is about the balance.
    RiskRule.objects.filter(kind="velocity").update(active=False)
    return {role: Actor.staff(make_user(role, username=role)) for role in ("reviewer", "finance", "ops_lead")}


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opening=opening_requests, steps=operations)
def test_balance_never_negative_and_returned_never_exceeds_captured(staff, opening, steps):
    run = Run(PaymentFactory(amount=CAPTURED), staff)
    for name, *args in opening + steps:
        try:
            getattr(run, name)(*args)
        except DomainError:
            pass  # refused by a rule: exactly what keeps the invariant
        balance = payment_balance(run.payment)
        assert balance.refundable >= 0, (name, args, balance)
        assert balance.returned_to_customer <= balance.captured, (name, args, balance)
        assert balance.refunded + balance.in_flight + balance.disputed <= balance.captured
    # Never paid out while a dispute was open: the before-payout rules held those tickets instead.
    assert run.submitted_with_open_dispute == 0
    event(f"refunded={run.payment.tickets.filter(state=State.REFUNDED).count() > 0}")
    event(f"held_by_dispute={run.held_by_dispute > 0}")


# --- The dispute service, by example ------------------------------------------------------------------


@pytest.mark.django_db
def test_dispute_above_the_refundable_balance_is_refused_naming_refunds_in_flight(defaults):
    from refunds.errors import InvalidInput

    payment = PaymentFactory(amount=CAPTURED)
    ticket = create_ticket(
        payment=payment, amount="70.00", currency="USD", reason="damaged", actor=Actor.system()
    )
    with pytest.raises(InvalidInput) as excinfo:
        register_dispute(payment=payment, reference="dp-1", amount="30.01")
    assert (
        "Only 30.00 USD" in excinfo.value.errors["amount"][0]
        and ticket.reference in excinfo.value.errors["amount"][0]
    )
    dispute = register_dispute(payment=payment, reference="dp-1", amount="30.00")
    assert register_dispute(payment=payment, reference="dp-1", amount="30.00") == dispute  # idempotent
    assert payment_balance(payment).refundable == 0
    close_dispute(dispute=dispute, outcome=DisputeStatus.WON)
    assert payment_balance(payment).refundable == Decimal("30.00")
    with pytest.raises(DomainError):
        close_dispute(dispute=dispute, outcome=DisputeStatus.LOST)
