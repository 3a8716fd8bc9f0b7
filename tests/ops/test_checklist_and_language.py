"""The ticket page shows the SOP checklist of the current stage and ticks it through the service;
the back office renders in Simplified Chinese."""

import pytest
from django.urls import reverse

from refunds.actors import Actor
from refunds.errors import TransitionNotAllowed
from refunds.models import Policy, RefundTicket
from refunds.services import perform_transition

pytestmark = pytest.mark.django_db

CHECKLISTS = {"review": [{"code": "photos", "label": "Photos of the damage checked",
                          "label_zh_hans": "已核对损坏照片"}]}


@pytest.fixture
def checklist_ticket(make_ticket):
    policy = Policy.objects.get(is_default=True)
    policy.checklists = CHECKLISTS
    policy.save()
    return make_ticket()


def test_checklist_is_shown_and_blocks_the_exit_transition_until_ticked(login, role_users, checklist_ticket):
    ticket = checklist_ticket
    client = login(role_users["reviewer"])
    page = client.get(reverse("ops:ticket", args=[ticket.reference])).content.decode()
    assert "Photos of the damage checked" in page and "1 item must be ticked" in page
    with pytest.raises(TransitionNotAllowed):
        perform_transition(ticket=ticket, name="approve", actor=Actor.staff(role_users["reviewer"]))

    response = client.post(reverse("ops:ticket-checklist", args=[ticket.reference]),
                           {"stage": "review", "item": "photos", "done": "1"}, follow=True)
    assert "Checklist updated." in response.content.decode()
    assert ticket.checklist_ticks.filter(item="photos", ticked_by=role_users["reviewer"]).exists()
    assert ticket.log.filter(kind="note").exists() or ticket.log.exists()

    client.post(reverse("ops:ticket-action", args=[ticket.reference]), {"name": "approve"})
    assert RefundTicket.objects.get(pk=ticket.pk).state != "in_review"


def test_a_role_outside_the_stage_cannot_tick(login, role_users, checklist_ticket):
    client = login(role_users["finance"])
    response = client.post(reverse("ops:ticket-checklist", args=[checklist_ticket.reference]),
                           {"stage": "review", "item": "photos"}, follow=True)
    assert response.status_code == 200
    assert not checklist_ticket.checklist_ticks.exists()


def test_unknown_item_is_a_message_not_an_error(login, role_users, checklist_ticket):
    client = login(role_users["reviewer"])
    response = client.post(reverse("ops:ticket-checklist", args=[checklist_ticket.reference]),
                           {"stage": "review", "item": "nope"}, follow=True)
    assert response.status_code == 200 and "nope" in response.content.decode()


def test_queue_and_ticket_pages_render_in_simplified_chinese(login, role_users, make_ticket):
    ticket = make_ticket()
    client = login(role_users["reviewer"])
    client.cookies["django_language"] = "zh-hans"
    queue = client.get(reverse("ops:queue"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    page = client.get(reverse("ops:ticket", args=[ticket.reference]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert 'lang="zh-hans"' in queue
    body = page.content.decode()
    assert "审核" in body or "退款" in body
    assert "Log out" not in body
