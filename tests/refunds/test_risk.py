"""Risk rules as data (SPEC §7): each rule fires, is written to the timeline with its name, holds
the ticket on the rule's hold type, and the hold releases to the state it came from."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from refunds.actors import Actor
from refunds.errors import TransitionForbidden, TransitionNotAllowed
from refunds.intake import pre_payout_hold, risk_hits
from refunds.lifecycle import State
from refunds.models import Hold, RiskRule, RiskRuleHit
from refunds.models.payments import DisputeStatus
from refunds.services import create_ticket, perform_transition
from refunds.services.transitions import lock_ticket
from tests.factories import DisputeFactory, PaymentFactory, TicketFactory

pytestmark = pytest.mark.django_db

VALID_IBAN = "DE89370400440532013000"


@pytest.fixture
def staff(make_user):
    return {
        role: Actor.staff(make_user(role, username=role))
        for role in ("reviewer", "risk", "finance", "ops_lead", "agent")
    }


def new(payment=None, amount="20.00", **kwargs):
    payment = payment or PaymentFactory(amount="10000.00")
    return create_ticket(
        payment=payment,
        amount=amount,
        currency=payment.currency,
        reason=kwargs.pop("reason", "damaged"),
        actor=Actor.system(),
        **kwargs,
    )


def open_hold_of(ticket) -> Hold:
    return ticket.holds.get(released_at__isnull=True)


def rule_entries(ticket):
    return list(ticket.log.filter(kind="rule_hit").values_list("data__rule", "data__name"))


def payout_check(ticket) -> bool:
    with transaction.atomic():
        return pre_payout_hold(lock_ticket(ticket), Actor.system())


def approved_ticket(staff, payment=None, amount="20.00", **kwargs):
    ticket = new(payment, amount, **kwargs)
    return perform_transition(ticket=ticket, name="approve", actor=staff["reviewer"])


# --- Each rule fires at intake and its hold releases back to review ---------------------------------


def test_destination_differs_from_payer_is_a_compliance_hold(staff):
    ticket = new(refund_to={"method": "bank_transfer", "iban": VALID_IBAN, "account_name": "Zhang San"})
    assert ticket.state == State.ON_HOLD
    hold = open_hold_of(ticket)
    assert (hold.hold_type, hold.owner_role, hold.return_state) == ("compliance", "risk", "in_review")
    assert rule_entries(ticket) == [
        ("destination_differs_from_payer", "Bank account holder differs from the payer")
    ]
    assert "Zhang San" in ticket.log.get(kind="rule_hit").comment
    assert ticket.risk_flags == ["destination_differs_from_payer"]
    assert perform_transition(ticket=ticket, name="release", actor=staff["risk"]).state == State.IN_REVIEW


def test_same_holder_as_payer_passes_whitespace_and_case_aside(staff):
    ticket = new(refund_to={"method": "bank_transfer", "iban": VALID_IBAN, "account_name": " li  WEI "})
    assert ticket.state == State.IN_REVIEW and rule_entries(ticket) == []


def test_amount_over_the_policy_risk_threshold_is_a_risk_hold(staff):
    ticket = new(amount="5000.01")
    hold = open_hold_of(ticket)
    assert (ticket.state, hold.hold_type) == (State.ON_HOLD, "risk")
    assert rule_entries(ticket) == [
        ("amount_over_risk_threshold", "Amount above the policy's risk threshold")
    ]
    assert new(amount="5000.00", reason="other").state == State.IN_REVIEW
    assert perform_transition(ticket=ticket, name="release", actor=staff["risk"]).state == State.IN_REVIEW


def test_threshold_can_be_set_on_the_rule():
    RiskRule.objects.filter(code="amount_over_risk_threshold").update(params={"amount": "100"})
    assert new(amount="100.01").state == State.ON_HOLD
    assert new(amount="100.00", reason="other").state == State.IN_REVIEW


def test_velocity_per_customer_email(staff):
    for _ in range(5):
        assert new(PaymentFactory(customer_email="many@example.com")).state == State.IN_REVIEW
    sixth = new(PaymentFactory(customer_email="MANY@example.com"))
    hold = open_hold_of(sixth)
    assert (sixth.state, hold.hold_type, hold.owner_role) == (State.ON_HOLD, "fraud", "risk")
    assert rule_entries(sixth)[0][0] == "velocity_customer"
    assert "6 refunds" in sixth.log.get(kind="rule_hit").comment
    assert perform_transition(ticket=sixth, name="release", actor=staff["risk"]).state == State.IN_REVIEW


def test_velocity_per_payment_instrument():
    for n in range(3):
        assert (
            new(PaymentFactory(instrument_fingerprint="fp_card_1", customer_email=f"c{n}@example.com")).state
            == State.IN_REVIEW
        )
    fourth = new(PaymentFactory(instrument_fingerprint="fp_card_1", customer_email="c9@example.com"))
    assert fourth.state == State.ON_HOLD
    assert rule_entries(fourth)[0][0] == "velocity_instrument"
    assert new(PaymentFactory(instrument_fingerprint="fp_card_2")).state == State.IN_REVIEW


def test_velocity_per_destination_account():
    RiskRule.objects.create(
        code="velocity_iban",
        name="Same IBAN twice a day",
        kind="velocity",
        hold_type="fraud",
        params={"key": "destination", "max_count": 1, "window_hours": 24},
    )
    to = {"method": "bank_transfer", "iban": VALID_IBAN, "account_name": "Li Wei"}
    assert new(PaymentFactory(), refund_to=to).state == State.IN_REVIEW
    second = new(PaymentFactory(), refund_to=dict(to, iban="de89 3704 0044 0532 0130 00"))
    assert second.state == State.ON_HOLD and rule_entries(second)[0][0] == "velocity_iban"


def test_open_dispute_at_intake_is_a_dispute_hold_owned_by_finance(staff):
    payment = PaymentFactory(amount="500.00")
    dispute = DisputeFactory(payment=payment, amount=Decimal("100.00"))
    ticket = new(payment, amount="50.00")
    hold = open_hold_of(ticket)
    assert (ticket.state, hold.hold_type, hold.owner_role) == (State.ON_HOLD, "dispute", "finance")
    with pytest.raises(TransitionNotAllowed) as excinfo:
        perform_transition(ticket=ticket, name="release", actor=staff["finance"])
    assert "still open" in excinfo.value.detail
    dispute.status = DisputeStatus.WON
    dispute.save()
    with pytest.raises(TransitionForbidden):  # neither owner nor R/A of the risk stage
        perform_transition(ticket=ticket, name="release", actor=staff["reviewer"])
    assert perform_transition(ticket=ticket, name="release", actor=staff["finance"]).state == State.IN_REVIEW


def test_gateway_anomaly_flag_is_a_payment_anomaly_hold(staff):
    ticket = TicketFactory(state=State.APPROVED, risk_flags=["gateway_anomaly"])
    assert [h["rule"] for h in risk_hits(ticket)] == ["gateway_anomaly"]
    assert payout_check(ticket) is True
    ticket.refresh_from_db()
    hold = open_hold_of(ticket)
    assert (ticket.state, hold.hold_type, hold.owner_role, hold.return_state) == (
        State.ON_HOLD,
        "payment_anomaly",
        "finance",
        "approved",
    )
    assert perform_transition(ticket=ticket, name="release", actor=staff["finance"]).state == State.APPROVED


def test_gateway_anomaly_reported_on_a_payout_attempt():
    ticket = TicketFactory(state=State.APPROVED)
    ticket.payout_attempts.create(
        number=1,
        channel=ticket.channel,
        idempotency_key=f"{ticket.reference}-1",
        amount=ticket.amount,
        currency=ticket.currency,
        raw_response={"anomaly": "amount mismatch"},
    )
    assert ["amount mismatch" in h["message"] for h in risk_hits(ticket)] == [True]


# --- Rules are data ---------------------------------------------------------------------------------


def test_an_inactive_rule_does_not_fire():
    RiskRule.objects.filter(code="amount_over_risk_threshold").update(active=False)
    assert new(amount="6000.00").state == State.IN_REVIEW


def test_rule_scoped_to_another_policy_does_not_fire():
    from refunds.models import Policy

    other = Policy.objects.create(code="other", name="Other", region="CN")
    RiskRule.objects.create(
        code="any_amount",
        name="Everything",
        kind="amount_over_threshold",
        hold_type="risk",
        params={"amount": "1"},
        policy=other,
    )
    assert new().state == State.IN_REVIEW


def test_payout_only_rule_does_not_run_at_intake(staff):
    RiskRule.objects.create(
        code="payout_only",
        name="Big payouts",
        kind="amount_over_threshold",
        hold_type="risk",
        params={"amount": "10"},
        at_intake=False,
    )
    ticket = approved_ticket(staff)
    assert [h["rule"] for h in risk_hits(ticket)] == ["payout_only"]


def test_disabling_the_dispute_rule_keeps_the_builtin_safety_net():
    RiskRule.objects.filter(kind="open_dispute").update(active=False)
    payment = PaymentFactory(amount="500.00")
    DisputeFactory(payment=payment, amount=Decimal("10.00"))
    ticket = new(payment, amount="50.00")
    assert ticket.state == State.ON_HOLD and open_hold_of(ticket).hold_type == "dispute"
    assert ticket.log.get(kind="rule_hit").data["name"] == "Open dispute on the payment (built-in)"


def test_the_first_hit_by_priority_sets_the_hold_and_every_hit_is_logged():
    payment = PaymentFactory(amount="9000.00")
    DisputeFactory(payment=payment, amount=Decimal("100.00"))
    ticket = new(
        payment,
        amount="6000.00",
        refund_to={"method": "bank_transfer", "iban": VALID_IBAN, "account_name": "Zhang San"},
    )
    assert open_hold_of(ticket).hold_type == "dispute"
    assert [r for r, _ in rule_entries(ticket)] == [
        "open_dispute",
        "destination_differs_from_payer",
        "amount_over_risk_threshold",
    ]
    assert RiskRuleHit.objects.filter(ticket=ticket, hold__isnull=False).count() == 3


@pytest.mark.parametrize(
    "kind,params",
    [
        ("velocity", {"key": "customer_email", "max_count": 0, "window_hours": 24}),
        ("velocity", {"key": "ip", "max_count": 3, "window_hours": 24}),
        ("amount_over_threshold", {"amount": "-1"}),
        ("amount_over_threshold", {"limit": "10"}),
        ("gateway_anomaly", {"flags": "x"}),
    ],
)
def test_malformed_rule_parameters_are_refused(kind, params):
    with pytest.raises(ValidationError):
        RiskRule(code="x", name="x", kind=kind, hold_type="risk", params=params).clean()


# --- Before payout -------------------------------------------------------------------------------------


def test_dispute_opened_after_approval_blocks_the_payout(staff):
    payment = PaymentFactory(amount="500.00")
    ticket = approved_ticket(staff, payment, amount="50.00")
    assert risk_hits(ticket) == []
    DisputeFactory(payment=payment, amount=Decimal("500.00"))
    hits = risk_hits(ticket)
    assert [(h["rule"], h["hold_type"]) for h in hits] == [("open_dispute", "dispute")]
    assert payout_check(ticket) is True
    ticket.refresh_from_db()
    assert ticket.state == State.ON_HOLD and ticket.held_from == State.APPROVED
    entry = ticket.log.filter(kind="rule_hit").last()
    assert entry.data["rule"] == "open_dispute" and entry.data["checkpoint"] == "payout"
    assert ticket.log.filter(transition="hold").last().data == {
        "hold_type": "dispute",
        "rules": ["open_dispute"],
    }
    # The payout job would now find the ticket on hold and stop; nothing was submitted.
    assert not ticket.payout_attempts.exists()
    with pytest.raises(TransitionNotAllowed):
        perform_transition(ticket=ticket, name="release", actor=staff["finance"])


def test_released_dispute_hold_returns_to_approved_once_the_dispute_is_closed(staff):
    payment = PaymentFactory(amount="500.00")
    ticket = approved_ticket(staff, payment, amount="50.00")
    dispute = DisputeFactory(payment=payment, amount=Decimal("100.00"))
    payout_check(ticket)
    dispute.status = DisputeStatus.WON
    dispute.save()
    ticket = perform_transition(ticket=ticket, name="release", actor=staff["finance"])
    assert ticket.state == State.APPROVED
    assert payout_check(ticket) is False
    # A new dispute later holds it again: the dispute rule is never overridden by a release.
    DisputeFactory(payment=payment, amount=Decimal("10.00"))
    assert payout_check(ticket) is True


def test_released_compliance_hold_is_not_reapplied_before_payout(staff):
    ticket = new(refund_to={"method": "bank_transfer", "iban": VALID_IBAN, "account_name": "Zhang San"})
    ticket = perform_transition(
        ticket=ticket, name="release", actor=staff["risk"], comment="Verified relative"
    )
    ticket = perform_transition(ticket=ticket, name="approve", actor=staff["reviewer"])
    assert risk_hits(ticket) == []
    assert payout_check(ticket) is False
    assert ticket.state == State.APPROVED


def test_pre_payout_hold_ignores_tickets_not_approved():
    ticket = TicketFactory(state=State.IN_REVIEW, risk_flags=["gateway_anomaly"])
    assert payout_check(ticket) is False


def test_manual_holds_return_to_the_state_they_came_from(staff):
    for state in (State.IN_REVIEW, State.PENDING_APPROVAL, State.APPROVED, State.AWAITING_CUSTOMER):
        ticket = TicketFactory(state=state)
        ticket = perform_transition(
            ticket=ticket, name="hold", actor=staff["risk"], hold_type="fraud", comment="odd pattern"
        )
        assert open_hold_of(ticket).return_state == state
        assert perform_transition(ticket=ticket, name="release", actor=staff["risk"]).state == state


def test_other_name_supplied_later_is_caught_when_the_customer_provides_it(staff):
    ticket = new(refund_to={"method": "bank_transfer"})
    assert ticket.state == State.AWAITING_CUSTOMER
    ticket = perform_transition(
        ticket=ticket,
        name="provide_info",
        actor=Actor.customer(ticket),
        data={"iban": VALID_IBAN, "account_name": "Zhang San"},
    )
    assert ticket.state == State.ON_HOLD
    hold = open_hold_of(ticket)
    assert (hold.hold_type, hold.return_state) == ("compliance", "in_review")
    assert rule_entries(ticket) == [
        ("destination_differs_from_payer", "Bank account holder differs from the payer")
    ]
    assert perform_transition(ticket=ticket, name="release", actor=staff["risk"]).state == State.IN_REVIEW


def test_report_gateway_anomaly_flags_and_holds_an_approved_ticket():
    from refunds.risk import report_gateway_anomaly

    ticket = TicketFactory(state=State.APPROVED)
    assert report_gateway_anomaly(ticket=ticket, detail="amount differs from capture", actor=Actor.system())
    ticket.refresh_from_db()
    assert ticket.state == State.ON_HOLD and "gateway_anomaly" in ticket.risk_flags
    assert open_hold_of(ticket).hold_type == "payment_anomaly"
    assert ticket.log.filter(kind="note", data__gateway_anomaly="gateway_anomaly").exists()


@pytest.mark.parametrize(
    "reason,expected",
    [("duplicate", "duplicate"), ("fraudulent", "fraudulent"), ("damaged", "requested_by_customer")],
)
def test_reason_codes_map_to_the_channels_own_codes(reason, expected):
    from refunds.reasons import gateway_reason
    from tests.factories import channel

    assert gateway_reason(channel("card"), reason) == expected
    assert gateway_reason(channel("alipay"), reason) is None  # no map: the adapter sends no reason
    alipay = channel("alipay")
    alipay.reason_code_map = {"damaged": "QUALITY_ISSUE"}
    assert gateway_reason(alipay, "damaged") == "QUALITY_ISSUE"
    with pytest.raises(ValueError):
        gateway_reason(alipay, "bogus")


def test_rule_hits_keep_the_audit_chain_intact(staff):
    from refunds.audit import verify_ticket_chain

    payment = PaymentFactory(amount="500.00")
    ticket = approved_ticket(staff, payment, amount="50.00")
    DisputeFactory(payment=payment, amount=Decimal("10.00"))
    payout_check(ticket)
    ticket.refresh_from_db()
    assert verify_ticket_chain(ticket, ticket.log.order_by("seq")) is None
    kinds = list(ticket.log.order_by("seq").values_list("kind", "transition"))
    assert kinds[-2:] == [("rule_hit", ""), ("transition", "hold")]
