"""The transition log is append-only and tamper-evident; history rows name the actor."""

import pytest
from django.core.management import call_command

from refunds.actors import Actor
from refunds.lifecycle import Role, State
from refunds.models import RefundTicket, TransitionLog
from refunds.models.audit import AppendOnlyError
from refunds.services import add_comment, perform_transition
from tests.factories import TicketFactory


@pytest.fixture
def worked_ticket(make_user, system):
    reviewer = make_user(Role.REVIEWER)
    ticket = TicketFactory(state=State.IN_REVIEW)
    add_comment(ticket=ticket, actor=Actor.staff(reviewer), text="Asked the warehouse")
    perform_transition(ticket=ticket, name="approve", actor=Actor.staff(reviewer), comment="fine")
    perform_transition(ticket=ticket, name="submit_payout", actor=system)
    return RefundTicket.objects.get(pk=ticket.pk)


def verify_exit_code(capsys) -> int:
    try:
        call_command("verify_audit")
    except SystemExit as exc:
        return exc.code
    return 0


@pytest.mark.django_db
def test_intact_chain_verifies(worked_ticket, capsys):
    assert verify_exit_code(capsys) == 0
    assert "intact" in capsys.readouterr().out
    entries = list(worked_ticket.log.order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
    assert worked_ticket.audit_head == entries[-1].hash


@pytest.mark.django_db
def test_editing_a_row_in_the_database_is_detected(worked_ticket, capsys):
    entry = worked_ticket.log.get(seq=2)
    TransitionLog.objects.filter(pk=entry.pk).update(comment="approved by the CEO")
    assert verify_exit_code(capsys) == 1
    assert f"{worked_ticket.reference} entry 2" in capsys.readouterr().err


@pytest.mark.django_db
def test_deleting_a_middle_row_is_detected(worked_ticket, capsys):
    TransitionLog.objects.filter(ticket=worked_ticket, seq=2)._raw_delete(TransitionLog.objects.db)
    assert verify_exit_code(capsys) == 1
    assert "sequence gap" in capsys.readouterr().err


@pytest.mark.django_db
def test_deleting_the_last_row_is_detected(worked_ticket, capsys):
    TransitionLog.objects.filter(ticket=worked_ticket, seq=3)._raw_delete(TransitionLog.objects.db)
    assert verify_exit_code(capsys) == 1
    assert "head hash" in capsys.readouterr().err


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted_through_the_orm(worked_ticket):
    entry = worked_ticket.log.first()
    entry.comment = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()


@pytest.mark.django_db
def test_history_rows_carry_the_actor_for_staff_and_for_jobs(worked_ticket):
    rows = list(worked_ticket.history.order_by("history_date"))
    approved = next(r for r in rows if r.state == State.APPROVED)
    processing = next(r for r in rows if r.state == State.PROCESSING)
    assert approved.history_user.groups.filter(name=Role.REVIEWER).exists()
    assert approved.history_change_reason == "approve: fine"
    # Work run by a job or a command is recorded as the system account, never as nobody.
    assert processing.history_user.username == "system"


@pytest.mark.django_db
def test_payout_job_records_the_system_actor(make_user):
    from refunds import jobs

    ticket = TicketFactory(state=State.APPROVED)
    jobs.submit_payout(ticket.pk)
    row = RefundTicket.history.filter(id=ticket.pk, state=State.PROCESSING).get()
    assert row.history_user.username == "system"
    assert ticket.log.get(transition="submit_payout").actor_label == "system"
