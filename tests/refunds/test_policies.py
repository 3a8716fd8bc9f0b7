"""Policies as SOPs: selection precedence, versions kept by tickets, stage checklists, auto-approval."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from refunds.actors import Actor
from refunds.errors import InvalidInput, TransitionForbidden, TransitionNotAllowed
from refunds.intake import auto_approval_refusal
from refunds.lifecycle import State
from refunds.models import Policy
from refunds.policies import select_policy
from refunds.services import create_ticket, perform_transition
from refunds.sop import (
    checklist_status,
    missing_checklist_items,
    policy_as_of,
    policy_for_ticket,
    set_checklist_item,
)
from tests.factories import PaymentFactory, TicketFactory, channel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _defaults(defaults):
    pass


def pick(amount="100", code="card", region="US", currency="USD") -> str:
    return select_policy(channel=channel(code), region=region, currency=currency, amount=Decimal(amount)).code


# --- Selection precedence ---------------------------------------------------------------------------


def test_default_policy_when_nothing_else_matches():
    assert pick() == "standard"


def test_most_specific_policy_wins():
    Policy.objects.create(code="card", name="Card", channel=channel("card"))
    Policy.objects.create(code="card-us", name="Card US", channel=channel("card"), region="US")
    Policy.objects.create(
        code="card-us-usd", name="Card US USD", channel=channel("card"), region="US", currency="USD"
    )
    Policy.objects.create(code="eu", name="EU", region="EU")
    assert pick() == "card-us-usd"
    assert pick(currency="EUR") == "card-us"
    assert pick(region="CN", currency="CNY") == "card"
    assert pick(code="paypal", region="EU") == "eu"
    assert pick(code="paypal", region="CN") == "standard"


def test_amount_range_counts_and_narrowest_range_breaks_ties():
    Policy.objects.create(code="small", name="Small", max_amount=Decimal("50"))
    Policy.objects.create(code="mid", name="Mid", min_amount=Decimal("0"), max_amount=Decimal("1000"))
    Policy.objects.create(code="large", name="Large", min_amount=Decimal("1000.01"))
    assert pick("50") == "small"
    assert pick("50.01") == "mid"
    assert pick("1000") == "mid"
    assert pick("1000.01") == "large"


def test_inactive_policies_are_ignored_and_default_always_exists():
    Policy.objects.create(code="card", name="Card", channel=channel("card"), active=False)
    assert pick() == "standard"


def test_only_one_default_policy():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Policy.objects.create(code="other-default", name="Other", is_default=True)


# --- Versions -----------------------------------------------------------------------------------------


def test_every_edit_bumps_the_version_and_history_keeps_each():
    policy = Policy.objects.get(is_default=True)
    first = policy.version
    policy.auto_approve_max_amount = Decimal("25")
    policy.save()
    policy.auto_approve_max_amount = Decimal("75")
    policy.save()
    assert policy.version == first + 2
    assert policy_as_of(policy, first).auto_approve_max_amount is None
    assert policy_as_of(policy, first + 1).auto_approve_max_amount == Decimal("25")
    assert policy_as_of(policy, first + 2) is policy


def test_old_ticket_keeps_the_policy_version_it_was_opened_under(make_user):
    payment = PaymentFactory(amount="5000.00")
    old = create_ticket(
        payment=payment, amount="800.00", currency="USD", reason="damaged", actor=Actor.system()
    )
    policy = old.policy
    opened_version = old.policy_version
    policy.approval_rules = [{"above": "500", "roles": ["ops_lead", "finance"]}]
    policy.checklists = {"review": [{"code": "receipt", "label": "Receipt checked"}]}
    policy.save()
    old.refresh_from_db()
    assert old.policy_version == opened_version and policy.version == opened_version + 1
    assert policy_for_ticket(old).approval_rules == [{"above": "1000", "roles": ["ops_lead", "finance"]}]
    # Under its own version, 800 needs no extra approval and no checklist: the reviewer approves.
    assert missing_checklist_items(old) == []
    old = perform_transition(ticket=old, name="approve", actor=Actor.staff(make_user("reviewer")))
    assert old.state == State.APPROVED
    new = create_ticket(
        payment=payment, amount="800.00", currency="USD", reason="not_received", actor=Actor.system()
    )
    assert new.policy_version == policy.version
    assert [i["code"] for i in missing_checklist_items(new)] == ["receipt"]
    with pytest.raises(TransitionNotAllowed):
        perform_transition(ticket=new, name="approve", actor=Actor.staff(make_user("reviewer")))


# --- Checklists -----------------------------------------------------------------------------------

CHECKLIST = {
    "review": [
        {"code": "photos", "label": "Photos of the damage checked", "label_zh_hans": "已核对损坏照片"},
        {"code": "order", "label": "Order status confirmed"},
    ],
    "approval": [{"code": "budget", "label": "Budget line confirmed"}],
    "risk": [{"code": "kyc", "label": "Identity verified"}],
}


@pytest.fixture
def sop_policy():
    policy = Policy.objects.get(is_default=True)
    policy.checklists = CHECKLIST
    policy.save()
    return policy


def test_stage_exit_refused_until_the_checklist_is_complete(sop_policy, make_user):
    reviewer = Actor.staff(make_user("reviewer"))
    ticket = TicketFactory(state=State.IN_REVIEW, policy=sop_policy, policy_version=sop_policy.version)
    assert [m["code"] for m in missing_checklist_items(ticket)] == ["photos", "order"]
    with pytest.raises(TransitionNotAllowed) as excinfo:
        perform_transition(ticket=ticket, name="approve", actor=reviewer)
    assert "Photos of the damage checked; Order status confirmed" in excinfo.value.detail
    assert excinfo.value.extra["missing"] == [
        {"stage": "review", "code": "photos"},
        {"stage": "review", "code": "order"},
    ]
    set_checklist_item(ticket=ticket, stage="review", item="photos", actor=reviewer)
    with pytest.raises(TransitionNotAllowed) as excinfo:
        perform_transition(ticket=ticket, name="request_approval", actor=reviewer)
    assert "Photos" not in excinfo.value.detail and "Order status confirmed" in excinfo.value.detail
    status = set_checklist_item(
        ticket=ticket, stage="review", item="order", actor=reviewer, note="shipped back"
    )
    assert all(item["done"] for item in status) and status[0]["ticked_by"] == reviewer.user.username
    assert perform_transition(ticket=ticket, name="approve", actor=reviewer).state == State.APPROVED
    notes = ticket.log.filter(kind="note").values_list("data", flat=True)
    assert [n["item"] for n in notes] == ["photos", "order"]


def test_exception_paths_are_not_blocked_by_the_checklist(sop_policy, make_user):
    ticket = TicketFactory(state=State.IN_REVIEW, policy=sop_policy, policy_version=sop_policy.version)
    reviewer = Actor.staff(make_user("reviewer"))
    perform_transition(ticket=ticket, name="request_info", actor=reviewer, needed=["photos"])
    perform_transition(ticket=ticket, name="cancel", actor=Actor.customer(ticket))


def test_untick_makes_the_item_missing_again(sop_policy, make_user):
    reviewer = Actor.staff(make_user("reviewer"))
    ticket = TicketFactory(state=State.IN_REVIEW, policy=sop_policy, policy_version=sop_policy.version)
    set_checklist_item(ticket=ticket, stage="review", item="photos", actor=reviewer)
    set_checklist_item(ticket=ticket, stage="review", item="photos", actor=reviewer, done=False)
    assert [m["code"] for m in missing_checklist_items(ticket, "review")] == ["photos", "order"]


def test_only_stage_roles_may_tick_and_only_listed_items(sop_policy, make_user):
    ticket = TicketFactory(state=State.IN_REVIEW, policy=sop_policy, policy_version=sop_policy.version)
    with pytest.raises(TransitionForbidden):
        set_checklist_item(
            ticket=ticket, stage="review", item="photos", actor=Actor.staff(make_user("agent"))
        )
    with pytest.raises(InvalidInput) as excinfo:
        set_checklist_item(
            ticket=ticket, stage="review", item="nope", actor=Actor.staff(make_user("reviewer"))
        )
    assert "item" in excinfo.value.errors


def test_labels_follow_the_language(sop_policy):
    from django.utils import translation

    ticket = TicketFactory(state=State.IN_REVIEW, policy=sop_policy, policy_version=sop_policy.version)
    with translation.override("zh-hans"):
        assert checklist_status(ticket, "review")[0]["label"] == "已核对损坏照片"


def test_approval_checklist_blocks_approvals_not_rejections(sop_policy, make_user):
    ticket = TicketFactory(
        state=State.PENDING_APPROVAL,
        amount="1500.00",
        payment=PaymentFactory(amount="2000"),
        policy=sop_policy,
        policy_version=sop_policy.version,
    )
    ticket.approvals.create(role="ops_lead")
    ticket.approvals.create(role="finance")
    ops = Actor.staff(make_user("ops_lead"))
    with pytest.raises(TransitionNotAllowed) as excinfo:
        perform_transition(ticket=ticket, name="record_approval", actor=ops, decision="approve")
    assert "Budget line confirmed" in excinfo.value.detail
    ticket = perform_transition(
        ticket=ticket, name="record_approval", actor=ops, decision="reject", comment="no budget"
    )
    assert ticket.state == State.REJECTED


def test_risk_checklist_blocks_release(sop_policy, make_user):
    ticket = TicketFactory(state=State.IN_REVIEW, policy=sop_policy, policy_version=sop_policy.version)
    risk = Actor.staff(make_user("risk"))
    perform_transition(ticket=ticket, name="hold", actor=risk, hold_type="risk", comment="check")
    with pytest.raises(TransitionNotAllowed):
        perform_transition(ticket=ticket, name="release", actor=risk)
    set_checklist_item(ticket=ticket, stage="risk", item="kyc", actor=risk)
    assert perform_transition(ticket=ticket, name="release", actor=risk).state == State.IN_REVIEW


@pytest.mark.parametrize(
    "checklists",
    [
        {"intake": [{"code": "a", "label": "A"}]},
        {"review": [{"code": "a"}]},
        {"review": [{"code": "a", "label": "A"}, {"code": "a", "label": "B"}]},
        {"review": "tick everything"},
        ["review"],
    ],
)
def test_malformed_checklists_are_refused_in_admin(checklists):
    policy = Policy(code="x", name="X", checklists=checklists)
    with pytest.raises(ValidationError) as excinfo:
        policy.clean()
    assert "checklists" in excinfo.value.message_dict


def test_malformed_approval_rules_are_refused():
    with pytest.raises(ValidationError) as excinfo:
        Policy(code="x", name="X", approval_rules=[{"above": "1000", "roles": ["boss"]}]).clean()
    assert "approval_rules" in excinfo.value.message_dict
    Policy(
        code="x", name="X", approval_rules=[{"above": "1000", "roles": ["finance"]}], checklists=CHECKLIST
    ).clean()


# --- Auto-approval ----------------------------------------------------------------------------------


@pytest.fixture
def card_policy():
    return Policy.objects.create(
        code="card-small",
        name="Card",
        channel=channel("card"),
        auto_approve_max_amount=Decimal("50"),
        approval_rules=[{"above": "1000", "roles": ["ops_lead", "finance"]}],
        auto_approve_velocity_limit=2,
        auto_approve_velocity_hours=24,
    )


def new(payment, amount, reason="damaged"):
    return create_ticket(
        payment=payment, amount=amount, currency=payment.currency, reason=reason, actor=Actor.system()
    )


def test_small_clean_card_refund_is_auto_approved(card_policy):
    ticket = new(PaymentFactory(), "50.00")
    assert ticket.state == State.APPROVED
    assert ticket.log.get(kind="rule_hit").data["rule"] == "auto_approval"


def test_above_the_auto_approval_limit_goes_to_review(card_policy):
    assert new(PaymentFactory(), "50.01").state == State.IN_REVIEW


def test_other_channels_are_not_auto_approved(card_policy):
    payment = PaymentFactory(channel=channel("paypal"))
    assert new(payment, "10.00").state == State.IN_REVIEW


def test_customer_over_the_velocity_limit_is_not_auto_approved(card_policy):
    email = "frequent@example.com"
    assert new(PaymentFactory(customer_email=email), "10.00").state == State.APPROVED
    assert new(PaymentFactory(customer_email=email), "10.00").state == State.APPROVED
    third = new(PaymentFactory(customer_email=email), "10.00")
    assert third.state == State.IN_REVIEW
    assert auto_approval_refusal(third) == "velocity_limit"


def test_risk_flag_prevents_auto_approval(card_policy):
    ticket = TicketFactory(
        amount=Decimal("10.00"),
        policy=card_policy,
        policy_version=card_policy.version,
        risk_flags=["manual_flag"],
    )
    assert auto_approval_refusal(ticket) == "risk_flag"


@pytest.mark.parametrize("required", ["refund_to.iban", ["refund to iban"], [3]])
def test_malformed_required_fields_are_refused(required):
    with pytest.raises(ValidationError) as excinfo:
        Policy(code="x", name="X", required_fields=required).clean()
    assert "required_fields" in excinfo.value.message_dict
    Policy(code="x", name="X", required_fields=["refund_to.iban", "customer_phone", "proof_of_return"]).clean()
