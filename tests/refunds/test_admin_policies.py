"""Admin for risk rules, rule hits and checklist ticks (ticks go through the service)."""

import pytest

import refunds.admin_policies  # noqa: F401 - registers the admin classes (refunds/admin.py imports it too)
from refunds.lifecycle import State
from refunds.models import ChecklistTick, Policy, RiskRule
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    policy = Policy.objects.get(is_default=True)
    policy.checklists = {"review": [{"code": "photos", "label": "Photos checked"}]}
    policy.save()
    return TicketFactory(state=State.IN_REVIEW, policy=policy, policy_version=policy.version)


def login(client, make_user, *roles):
    user = make_user(*roles, is_superuser=True)
    client.force_login(user)
    return user


@pytest.mark.parametrize("url", ["/admin/refunds/riskrule/", "/admin/refunds/riskrule/add/",
                                 "/admin/refunds/riskrulehit/", "/admin/refunds/checklisttick/",
                                 "/admin/refunds/checklisttick/add/"])
def test_pages_load(client, make_user, url):
    login(client, make_user, "admin")
    assert client.get(url).status_code == 200


def test_rule_edit_page_and_bad_params_are_refused(client, make_user):
    login(client, make_user, "admin")
    rule = RiskRule.objects.get(code="velocity_customer")
    assert client.get(f"/admin/refunds/riskrule/{rule.pk}/change/").status_code == 200
    response = client.post(f"/admin/refunds/riskrule/{rule.pk}/change/", {
        "code": rule.code, "name": rule.name, "kind": "velocity", "params": '{"max_count": 0, "window_hours": 1}',
        "hold_type": "fraud", "active": "on", "at_intake": "on", "before_payout": "on", "priority": "50"})
    assert response.status_code == 200 and "must be a whole number" in response.content.decode()


def test_tick_through_admin_uses_the_service(client, make_user, ticket):
    user = login(client, make_user, "reviewer")
    response = client.post("/admin/refunds/checklisttick/add/", {
        "ticket_reference": ticket.reference, "stage": "review", "item": "photos", "note": "ok"})
    assert response.status_code == 302, response.content.decode()[:2000]
    tick = ChecklistTick.objects.get(ticket=ticket)
    assert tick.ticked_by == user
    assert ticket.log.filter(kind="note", data__item="photos").exists()


def test_tick_refused_for_roles_outside_the_stage_and_for_unknown_items(client, make_user, ticket):
    login(client, make_user, "agent")
    response = client.post("/admin/refunds/checklisttick/add/", {
        "ticket_reference": ticket.reference, "stage": "review", "item": "photos"})
    assert response.status_code == 200 and "Only roles responsible" in response.content.decode()
    response = client.post("/admin/refunds/checklisttick/add/", {
        "ticket_reference": ticket.reference, "stage": "review", "item": "nope"})
    assert "Items on this refund" in response.content.decode()
    assert not ChecklistTick.objects.exists()


def test_sop_demo_seed_is_idempotent(make_user):
    import io

    from refunds.models import RefundTicket
    from refunds.sop_demo import seed

    make_user("reviewer", username="reviewer")
    seed(io.StringIO())
    seed(io.StringIO())
    tickets = RefundTicket.objects.filter(payment__payment_ref__startswith="demo_sop_").order_by("payment__payment_ref")
    assert [t.state for t in tickets] == ["in_review", "on_hold"]
    assert tickets[0].policy.code == "sop-uk-card"
    assert tickets[0].checklist_ticks.count() == 1
