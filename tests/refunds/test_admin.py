"""Admin: ops_lead can work, the RACI grid edits the matrix with history, actions go through services."""

import pytest
from django.urls import reverse

from refunds.lifecycle import Role, State
from refunds.models import RaciEntry
from tests.factories import TicketFactory


@pytest.fixture
def ops_lead_client(client, make_user):
    client.force_login(make_user(Role.OPS_LEAD, username="ops_lead"))
    return client


@pytest.mark.django_db
def test_ticket_admin_shows_facts_actions_and_timeline(ops_lead_client):
    ticket = TicketFactory(state=State.IN_REVIEW)
    response = ops_lead_client.get(reverse("admin:refunds_refundticket_change", args=[ticket.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert ticket.reference in body and "Actions you may take now" in body
    assert 'value="approve"' in body
    assert 'value="submit_payout"' not in body  # automatic: never offered to a person


@pytest.mark.django_db
def test_admin_transition_goes_through_the_service(ops_lead_client):
    ticket = TicketFactory(state=State.IN_REVIEW)
    url = reverse("admin:refunds_refundticket_transition", args=[ticket.pk])
    ops_lead_client.post(url, {"name": "approve", "comment": "ok from admin"})
    ticket.refresh_from_db()
    assert ticket.state in (State.APPROVED, State.PROCESSING)
    entry = ticket.log.get(transition="approve")
    assert entry.actor.username == "ops_lead" and entry.comment == "ok from admin"


@pytest.mark.django_db
def test_admin_transition_refusal_is_a_message_not_an_error(client, make_user):
    agent = make_user(Role.AGENT, username="agent")
    client.force_login(agent)
    ticket = TicketFactory(state=State.IN_REVIEW)
    url = reverse("admin:refunds_refundticket_transition", args=[ticket.pk])
    response = client.post(url, {"name": "approve"}, follow=True)
    assert response.status_code == 200
    assert "reviewer" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW


@pytest.mark.django_db
def test_ticket_state_cannot_be_edited_in_admin(ops_lead_client):
    ticket = TicketFactory(state=State.IN_REVIEW)
    url = reverse("admin:refunds_refundticket_change", args=[ticket.pk])
    ops_lead_client.post(url, {"state": State.REFUNDED})
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW


@pytest.mark.django_db
def test_raci_grid_edits_the_matrix_with_history(client, make_user):
    admin_user = make_user(Role.ADMIN, username="admin", is_superuser=True)
    client.force_login(admin_user)
    url = reverse("admin:refunds_raciEntry_changelist".replace("raciEntry", "racientry"))
    response = client.get(url)
    assert response.status_code == 200 and "cell-review-reviewer" in response.content.decode()
    cells = {f"cell-{e.stage}-{e.role}": e.responsibility for e in RaciEntry.objects.all()}
    cells["cell-review-agent"] = "R"
    client.post(url, cells)
    entry = RaciEntry.objects.get(stage="review", role=Role.AGENT)
    assert entry.responsibility == "R"
    assert entry.history.latest().history_user == admin_user


@pytest.mark.django_db
def test_admin_bulk_cancel_uses_the_service(ops_lead_client):
    open_ticket = TicketFactory(state=State.IN_REVIEW)
    paid = TicketFactory(state=State.REFUNDED)
    url = reverse("admin:refunds_refundticket_changelist")
    ops_lead_client.post(url, {"action": "bulk_cancel", "_selected_action": [open_ticket.pk, paid.pk]})
    open_ticket.refresh_from_db()
    paid.refresh_from_db()
    assert open_ticket.state == State.CANCELLED and paid.state == State.REFUNDED
