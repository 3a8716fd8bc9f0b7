"""Two simultaneous transitions on one ticket (separate PostgreSQL connections): exactly one effect."""

import threading

import pytest
from django.db import connections

from refunds.actors import Actor
from refunds.errors import TransitionNotAllowed
from refunds.lifecycle import Role, State
from refunds.models import RefundTicket
from refunds.services import perform_transition
from tests.factories import TicketFactory


def race(n: int, work) -> list:
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def runner(i):
        try:
            barrier.wait()
            outcomes[i] = work(i)
        except Exception as exc:  # collected and asserted on below
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name,start", [("approve", State.IN_REVIEW), ("cancel", State.IN_REVIEW)])
def test_same_transition_twice_at_once_has_one_effect(postgres, make_user, name, start):
    actor = Actor.staff(make_user(Role.OPS_LEAD))
    ticket = TicketFactory(state=start)
    history_before = ticket.history.count()

    outcomes = race(2, lambda i: perform_transition(ticket=ticket.reference, name=name, actor=actor))

    successes = [o for o in outcomes if isinstance(o, RefundTicket)]
    refusals = [o for o in outcomes if isinstance(o, TransitionNotAllowed)]
    assert len(successes) == 1 and len(refusals) == 1, outcomes
    ticket.refresh_from_db()
    assert ticket.log.filter(transition=name).count() == 1
    assert ticket.history.count() == history_before + 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_different_transitions_from_the_same_state_at_once(postgres, make_user):
    """approve and reject race: one wins, the ticket ends in exactly one of the two states."""
    reviewer = Actor.staff(make_user(Role.REVIEWER))
    ticket = TicketFactory(state=State.IN_REVIEW)

    def work(i):
        if i == 0:
            return perform_transition(ticket=ticket.reference, name="approve", actor=reviewer)
        return perform_transition(ticket=ticket.reference, name="reject", actor=reviewer, reason="not_eligible")

    outcomes = race(2, work)
    assert sum(isinstance(o, RefundTicket) for o in outcomes) == 1, outcomes
    ticket.refresh_from_db()
    assert ticket.state in (State.APPROVED, State.REJECTED)
    assert ticket.log.filter(kind="transition").count() == 1
