"""Parallel approvals with four-eyes (SPEC §4, §5)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from refunds.actors import Actor
from refunds.errors import InvalidInput, TransitionForbidden, TransitionNotAllowed
from refunds.lifecycle import State
from refunds.models import Approval
from refunds.services import create_ticket, perform_transition
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def users(make_user):
    return {
        name: make_user(*roles, username=name)
        for name, roles in {
            "agent": ["agent"],
            "reviewer": ["reviewer"],
            "reviewer2": ["reviewer"],
            "ops": ["ops_lead"],
            "fin": ["finance"],
            "both": ["ops_lead", "finance"],
            "flead": ["finance_lead"],
            "submitter": ["agent", "ops_lead", "finance"],
        }.items()
    }


def ticket_for(amount: str, created_by=None):
    payment = PaymentFactory(amount="5000.00")
    actor = Actor.staff(created_by) if created_by else Actor.system()
    ticket = create_ticket(payment=payment, amount=amount, currency="USD", reason="damaged", actor=actor)
    assert ticket.state == State.IN_REVIEW
    return ticket


def send_for_approval(ticket, user):
    return perform_transition(ticket=ticket, name="request_approval", actor=Actor.staff(user))


def decide(ticket, user, decision="approve", comment=""):
    return perform_transition(
        ticket=ticket, name="record_approval", actor=Actor.staff(user), decision=decision, comment=comment
    )


# --- Thresholds -------------------------------------------------------------------------------------


def test_exactly_1000_needs_no_extra_approval(users):
    ticket = ticket_for("1000.00")
    with pytest.raises(TransitionNotAllowed) as excinfo:
        send_for_approval(ticket, users["reviewer"])
    assert "use “approve”" in excinfo.value.detail
    assert (
        perform_transition(ticket=ticket, name="approve", actor=Actor.staff(users["reviewer"])).state
        == "approved"
    )


def test_1000_01_needs_parallel_approval_rows_created_at_once(users):
    ticket = ticket_for("1000.01")
    with pytest.raises(TransitionNotAllowed) as excinfo:
        perform_transition(ticket=ticket, name="approve", actor=Actor.staff(users["reviewer"]))
    assert "ops_lead, finance" in excinfo.value.detail
    ticket = send_for_approval(ticket, users["reviewer"])
    assert ticket.state == State.PENDING_APPROVAL
    rows = list(ticket.approvals.order_by("role"))
    assert [(r.role, r.decision, r.round, r.requested_by_id) for r in rows] == [
        ("finance", "pending", 1, users["reviewer"].pk),
        ("ops_lead", "pending", 1, users["reviewer"].pk),
    ]
    assert ticket.log.get(transition="request_approval").data == {"roles": ["ops_lead", "finance"]}


# --- Order independence and short-circuit ------------------------------------------------------------


@pytest.mark.parametrize("order", [("ops", "fin"), ("fin", "ops")])
def test_approvals_in_any_order(users, order):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    ticket = decide(ticket, users[order[0]])
    assert ticket.state == State.PENDING_APPROVAL
    ticket = decide(ticket, users[order[1]])
    assert ticket.state == State.APPROVED
    assert set(ticket.approvals.values_list("decision", flat=True)) == {"approved"}
    assert {a.approver.username for a in ticket.approvals.all()} == set(order)


@pytest.mark.parametrize("first", ["ops", "fin"])
def test_any_rejection_short_circuits(users, first):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    ticket = decide(ticket, users[first], "reject", comment="Receipt does not match")
    assert ticket.state == State.REJECTED
    assert ticket.log.get(transition="record_approval").comment == "Receipt does not match"
    assert ticket.approvals.filter(decision="pending").count() == 1
    other = "fin" if first == "ops" else "ops"
    with pytest.raises(TransitionNotAllowed):
        decide(ticket, users[other])


def test_rejection_after_one_approval_still_rejects(users):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    decide(ticket, users["ops"])
    assert decide(ticket, users["fin"], "reject", comment="over budget").state == State.REJECTED


def test_rejection_needs_a_reason(users):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    with pytest.raises(InvalidInput) as excinfo:
        decide(ticket, users["ops"], "reject")
    assert "comment" in excinfo.value.errors


def test_accountable_role_can_fill_any_pending_row(users):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    decide(ticket, users["ops"])
    assert decide(ticket, users["flead"]).state == State.APPROVED
    assert ticket.approvals.get(role="finance").approver == users["flead"]


# --- Four-eyes --------------------------------------------------------------------------------------


def test_submitter_cannot_approve(users):
    ticket = send_for_approval(ticket_for("1500.00", created_by=users["submitter"]), users["reviewer"])
    with pytest.raises(TransitionForbidden) as excinfo:
        decide(ticket, users["submitter"])
    assert "you submitted this refund" in excinfo.value.detail


def test_requester_cannot_approve(make_user):
    both = make_user("reviewer", "ops_lead", username="reviewer-and-lead")
    ticket = send_for_approval(ticket_for("1500.00"), both)
    with pytest.raises(TransitionForbidden) as excinfo:
        decide(ticket, both)
    assert "you sent this refund for approval" in excinfo.value.detail


def test_one_person_cannot_fill_two_rows(users):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    ticket = decide(ticket, users["both"])
    assert ticket.state == State.PENDING_APPROVAL
    with pytest.raises(TransitionForbidden) as excinfo:
        decide(ticket, users["both"])
    assert "already filled an approval row" in excinfo.value.detail
    assert ticket.approvals.filter(approver=users["both"]).count() == 1


def test_database_also_refuses_one_approver_on_two_rows(users):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    ops_row, fin_row = ticket.approvals.get(role="ops_lead"), ticket.approvals.get(role="finance")
    Approval.objects.filter(pk=ops_row.pk).update(approver=users["both"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.filter(pk=fin_row.pk).update(approver=users["both"])


def test_roles_outside_the_approval_stage_are_refused(users):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    with pytest.raises(TransitionForbidden):
        decide(ticket, users["agent"])
    with pytest.raises(TransitionForbidden):
        decide(ticket, users["reviewer2"])


def test_a_second_round_after_reopen_starts_fresh(users):
    ticket = send_for_approval(ticket_for("1500.00"), users["reviewer"])
    ticket = decide(ticket, users["ops"], "reject", comment="missing receipt")
    ticket = perform_transition(ticket=ticket, name="reopen", actor=Actor.staff(users["reviewer"]))
    ticket = send_for_approval(ticket, users["reviewer2"])
    assert sorted(ticket.approvals.filter(round=2).values_list("role", flat=True)) == ["finance", "ops_lead"]
    decide(ticket, users["ops"])  # approved in round 1's rejecter is allowed in a new round
    assert decide(ticket, users["fin"]).state == State.APPROVED
    assert ticket.amount == Decimal("1500.00")
