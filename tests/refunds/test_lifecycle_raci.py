"""Every transition × every role, and every transition from every state where it is not allowed."""

import pytest

from refunds import raci
from refunds.actors import Actor
from refunds.errors import TransitionForbidden, TransitionNotAllowed
from refunds.lifecycle import TRANSITIONS, Role, State
from refunds.models import RefundTicket
from refunds.services import perform_transition
from tests.factories import PartnerFactory, PaymentFactory, TicketFactory

# Inputs each transition needs so that only RACI and state decide.
PAYLOADS = {
    "request_info": {"needed": ["iban"]},
    "record_approval": {"decision": "approve"},
    "hold": {"hold_type": "risk"},
    "reject": {"reason": "not_eligible"},
    "fail": {"failure_reason": "declined"},
    "switch_channel": {"channel": "store_credit"},
}
COMMENTS = {"hold": "checking", "record_approval": "ok"}
STAFF_ROLES = [r for r in Role.values]


def default_matrix_acting_roles(stage: str) -> set[str]:
    letters = raci.DEFAULT_MATRIX[stage]
    return set(letters["R"]) | set(letters["A"])


def run(ticket, name, actor):
    return perform_transition(ticket=ticket, name=name, actor=actor, comment=COMMENTS.get(name, ""),
                              **PAYLOADS.get(name, {}))


def ticket_ready_for(name: str) -> RefundTicket:
    """A ticket in the first source state of `name`, with whatever rows that state implies."""
    spec = TRANSITIONS[name]
    source = spec.sources[0]
    amount = "1500.00" if name in ("record_approval", "request_approval") else "20.00"
    payment = PaymentFactory(amount="2000.00")
    ticket = TicketFactory(payment=payment, amount=amount, state=source)
    if name == "record_approval":
        ticket.approvals.create(role=Role.OPS_LEAD)
        ticket.approvals.create(role=Role.FINANCE)
    if name == "release":
        ticket.holds.create(hold_type="risk", owner_role=Role.RISK, reason="x", return_state=State.IN_REVIEW)
        RefundTicket.objects.filter(pk=ticket.pk).update(held_from=State.IN_REVIEW)
    if name == "provide_info":
        RefundTicket.objects.filter(pk=ticket.pk).update(info_requested=[])
    if name in ("confirm", "fail"):
        ticket.payout_attempts.create(number=1, channel=ticket.channel, idempotency_key=f"{ticket.reference}-1",
                                      amount=ticket.amount, currency=ticket.currency)
    return ticket


@pytest.mark.django_db
@pytest.mark.parametrize("role", STAFF_ROLES)
@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_transition_allowed_only_for_R_and_A_roles(name, role, make_user):
    spec = TRANSITIONS[name]
    user = make_user(role)
    ticket = ticket_ready_for(name)
    allowed = not spec.automatic and role in default_matrix_acting_roles(spec.stage)
    if allowed:
        result = run(ticket, name, Actor.staff(user))
        assert result.log.filter(transition=name, actor=user).exists()
    else:
        with pytest.raises(TransitionForbidden) as excinfo:
            run(ticket, name, Actor.staff(user))
        message = excinfo.value.detail
        if spec.automatic:
            assert "automatically" in message
        else:
            # The refusal names the roles that may act.
            for needed in default_matrix_acting_roles(spec.stage):
                assert needed in message
        ticket.refresh_from_db()
        assert ticket.state == spec.sources[0]
        assert not ticket.log.filter(transition=name).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", [n for n, s in TRANSITIONS.items() if s.automatic])
def test_automatic_transitions_run_as_system(name, defaults, system):
    ticket = ticket_ready_for(name)
    run(ticket, name, system)
    entry = ticket.log.get(transition=name)
    assert entry.actor_kind == "system" and entry.actor is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name,state",
    [(n, s) for n, spec in TRANSITIONS.items() for s in State.values if s not in spec.sources],
)
def test_transition_refused_from_every_state_it_does_not_start_from(name, state, defaults, system):
    ticket = TicketFactory(state=state)
    with pytest.raises(TransitionNotAllowed):
        run(ticket, name, system)
    ticket.refresh_from_db()
    assert ticket.state == state
    assert not ticket.log.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_partner_and_customer_take_only_their_own_paths(name, defaults):
    partner = PartnerFactory()
    other = PartnerFactory()
    ticket = ticket_ready_for(name)
    RefundTicket.objects.filter(pk=ticket.pk).update(partner=partner)
    ticket.refresh_from_db()
    spec = TRANSITIONS[name]
    with pytest.raises(TransitionForbidden):
        run(ticket, name, Actor.for_partner(other))
    if spec.customer_path:
        run(ticket, name, Actor.for_partner(partner))
    else:
        with pytest.raises(TransitionForbidden):
            run(ticket, name, Actor.for_partner(partner))
        with pytest.raises(TransitionForbidden):
            run(ticket, name, Actor.customer(ticket))


@pytest.mark.django_db
def test_direct_state_assignment_fails(defaults):
    ticket = TicketFactory(state=State.IN_REVIEW)
    with pytest.raises(AttributeError):
        ticket.state = State.APPROVED


def test_catalogue_matches_fsm_declarations():
    """lifecycle.TRANSITIONS and the model's @transition methods declare the same sources."""
    for name, spec in TRANSITIONS.items():
        method = getattr(RefundTicket, name)
        declared = set(method._django_fsm.transitions.keys())
        assert declared == {str(s) for s in spec.sources}, name


@pytest.mark.django_db
def test_superuser_gets_no_ticket_powers_without_a_role(make_user):
    admin = make_user(Role.ADMIN, is_superuser=True)
    ticket = TicketFactory(state=State.IN_REVIEW)
    with pytest.raises(TransitionForbidden):
        run(ticket, "approve", Actor.staff(admin))


@pytest.mark.django_db
def test_raci_is_data_editing_the_matrix_changes_who_may_act(make_user):
    from refunds.models import RaciEntry

    agent = make_user(Role.AGENT)
    ticket = TicketFactory(state=State.IN_REVIEW)
    with pytest.raises(TransitionForbidden):
        run(ticket, "approve", Actor.staff(agent))
    RaciEntry.objects.filter(stage="review", role=Role.AGENT).update(responsibility="R")
    run(ticket, "approve", Actor.staff(agent))
    assert RefundTicket.objects.get(pk=ticket.pk).state == State.APPROVED
