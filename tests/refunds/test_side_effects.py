"""Side effects run only after commit: a rolled-back transition never enqueues anything."""

import pytest
from django.db import connection, transaction

from refunds import jobqueue
from refunds.actors import Actor
from refunds.lifecycle import Role, State
from refunds.services import perform_transition
from refunds.signals import ticket_transitioned
from tests.factories import TicketFactory


@pytest.fixture
def enqueued(monkeypatch):
    calls = []

    def fake_enqueue(queue, func, *args, **kwargs):
        # Fails loudly if a job is published while the transition's transaction is still open.
        assert not connection.in_atomic_block or connection.savepoint_ids == [], "enqueue inside a transaction"
        calls.append((queue, func, args))

    monkeypatch.setattr(jobqueue, "enqueue", fake_enqueue)
    return calls


@pytest.mark.django_db
def test_payout_is_enqueued_only_after_commit(make_user, enqueued, django_capture_on_commit_callbacks):
    reviewer = Actor.staff(make_user(Role.REVIEWER))
    ticket = TicketFactory(state=State.IN_REVIEW)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        perform_transition(ticket=ticket, name="approve", actor=reviewer)
        assert enqueued == []
    assert len(callbacks) == 1
    for callback in callbacks:
        callback()
    assert enqueued == [("payouts", "refunds.jobs.submit_payout", (ticket.pk,))]


@pytest.mark.django_db
def test_rolled_back_transition_enqueues_nothing_and_sends_no_signal(make_user, enqueued,
                                                                     django_capture_on_commit_callbacks):
    reviewer = Actor.staff(make_user(Role.REVIEWER))
    ticket = TicketFactory(state=State.IN_REVIEW)
    received = []
    ticket_transitioned.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="test-rollback")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(RuntimeError):
                with transaction.atomic():
                    perform_transition(ticket=ticket, name="approve", actor=reviewer)
                    raise RuntimeError("boom")
    finally:
        ticket_transitioned.disconnect(dispatch_uid="test-rollback")
    assert enqueued == [] and received == []
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW and not ticket.log.exists()


@pytest.mark.django_db
def test_signal_fires_after_commit_with_ids(make_user, enqueued, django_capture_on_commit_callbacks):
    reviewer = Actor.staff(make_user(Role.REVIEWER))
    ticket = TicketFactory(state=State.IN_REVIEW)
    received = []
    ticket_transitioned.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="test-signal")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            perform_transition(ticket=ticket, name="approve", actor=reviewer)
    finally:
        ticket_transitioned.disconnect(dispatch_uid="test-signal")
    assert received[0]["ticket_id"] == ticket.pk
    assert (received[0]["from_state"], received[0]["to_state"]) == (State.IN_REVIEW, State.APPROVED)
