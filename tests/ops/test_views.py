"""Ops screens per role: queues, actions, refusals, 403/404, throttling, fixed query counts."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from refunds import sla
from refunds.actors import Actor
from refunds.models import RefundTicket
from refunds.services import add_comment, perform_transition
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client, make_ticket):
    ticket = make_ticket()
    for url in (reverse("ops:queue"), reverse("ops:ticket", args=[ticket.reference])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_root_redirects_to_ops(client):
    assert client.get("/")["Location"] == "/ops/"


def test_user_without_an_ops_role_gets_403(login, role_users, make_ticket):
    ticket = make_ticket()
    client = login(role_users["admin"])
    assert client.get(reverse("ops:queue")).status_code == 403
    assert client.get(reverse("ops:ticket", args=[ticket.reference])).status_code == 403
    assert client.post(reverse("ops:ticket-action", args=[ticket.reference]), {"name": "approve"}).status_code == 403


def test_unknown_or_invisible_ticket_is_404(login, role_users):
    client = login(role_users["reviewer"])
    assert client.get(reverse("ops:ticket", args=["RF-NOPE000000"])).status_code == 404
    assert client.post(reverse("ops:ticket-action", args=["RF-NOPE000000"]), {"name": "approve"}).status_code == 404


def test_team_queue_per_role(login, role_users, make_ticket):
    ticket = make_ticket()
    reviewer = login(role_users["reviewer"]).get(reverse("ops:queue"))
    assert reviewer.status_code == 200 and ticket.reference in reviewer.text
    finance = login(role_users["finance"]).get(reverse("ops:queue"))
    assert ticket.reference not in finance.text  # review is not finance's stage
    everything = login(role_users["finance"]).get(reverse("ops:queue") + "?queue=all")
    assert ticket.reference in everything.text


@pytest.mark.parametrize(("role", "visible", "hidden"), [
    ("reviewer", {"approve", "request_info", "reject"}, {"cancel", "confirm"}),
    ("agent", {"cancel"}, {"approve", "reject"}),
    ("ops_lead", {"approve", "reject", "hold", "cancel"}, {"confirm"}),
    ("finance", set(), {"approve", "cancel", "reject"}),
])
def test_ticket_page_shows_only_allowed_actions(login, role_users, make_ticket, role, visible, hidden):
    ticket = make_ticket()
    page = login(role_users[role]).get(reverse("ops:ticket", args=[ticket.reference])).text
    for name in visible:
        assert f'data-action="{name}"' in page
    for name in hidden:
        assert f'data-action="{name}"' not in page


def test_approve_from_the_page_and_see_it_in_the_timeline(login, role_users, make_ticket,
                                                           django_capture_on_commit_callbacks):
    ticket = make_ticket()
    client = login(role_users["reviewer"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ops:ticket-action", args=[ticket.reference]),
                               {"name": "approve", "comment": "looks fine"}, follow=True)
    ticket.refresh_from_db()
    assert ticket.state in ("approved", "processing", "refunded")
    assert "looks fine" in response.text and "Done: Approve" in response.text


def test_refusal_is_a_message_not_an_error(login, role_users, make_ticket):
    ticket = make_ticket()
    response = login(role_users["agent"]).post(reverse("ops:ticket-action", args=[ticket.reference]),
                                               {"name": "approve"}, follow=True)
    assert response.status_code == 200
    assert "needs one of the roles" in response.text
    assert RefundTicket.objects.get(pk=ticket.pk).state == "in_review"
    bad = login(role_users["reviewer"]).post(reverse("ops:ticket-action", args=[ticket.reference]),
                                             {"name": "reject"}, follow=True)
    assert bad.status_code == 200 and "rejection reason" in bad.text
    unknown = login(role_users["reviewer"]).post(reverse("ops:ticket-action", args=[ticket.reference]),
                                                 {"name": "explode"}, follow=True)
    assert unknown.status_code == 200 and "Unknown transition" in unknown.text


def test_comment_and_assign(login, role_users, make_ticket):
    ticket = make_ticket()
    client = login(role_users["reviewer"])
    client.post(reverse("ops:ticket-comment", args=[ticket.reference]), {"text": "called the customer"})
    client.post(reverse("ops:bulk-assign"), {"tickets": [ticket.reference], "assignee": "reviewer"})
    ticket.refresh_from_db()
    assert ticket.assignee == role_users["reviewer"]
    mine = client.get(reverse("ops:queue") + "?queue=mine").text
    assert ticket.reference in mine
    page = client.get(reverse("ops:ticket", args=[ticket.reference])).text
    assert "called the customer" in page and "Assigned to reviewer" in page
    refused = client.post(reverse("ops:bulk-assign"), {"tickets": [ticket.reference], "assignee": "nobody"},
                          follow=True)
    assert "No active ops user" in refused.text


def test_search_filters_and_bad_filter_input(login, role_users, make_ticket):
    one, two = make_ticket(), make_ticket()
    client = login(role_users["reviewer"])
    found = client.get(reverse("ops:queue"), {"queue": "all", "q": one.reference.lower()}).text
    assert one.reference in found and two.reference not in found
    by_email = client.get(reverse("ops:queue"), {"queue": "all", "q": two.customer_email}).text
    assert two.reference in by_email and one.reference not in by_email
    bad = client.get(reverse("ops:queue"), {"queue": "all", "amount_min": "lots", "sort": "nonsense",
                                            "page": "zz"})
    assert bad.status_code == 200 and one.reference not in bad.text


def test_at_risk_and_breached_queues(login, role_users, make_ticket, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    ticket = make_ticket()
    later = timezone.now() + timedelta(days=10)
    monkeypatch.setattr(sla, "_now", lambda: later)
    sla.run_periodic_tasks()
    client = login(role_users["reviewer"])
    assert ticket.reference in client.get(reverse("ops:queue") + "?queue=breached").text
    assert ticket.reference not in client.get(reverse("ops:queue") + "?queue=at_risk").text


def test_login_throttle(client, role_users):
    cache.clear()
    url = reverse("login")
    for _ in range(5):
        assert client.post(url, {"username": "reviewer", "password": "wrong"}).status_code == 200
    blocked = client.post(url, {"username": "reviewer", "password": DEFAULT_PASSWORD})
    assert blocked.status_code == 429 and "Too many failed log-ins" in blocked.text
    cache.clear()
    ok = client.post(url, {"username": "reviewer", "password": DEFAULT_PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/ops/"


def test_queue_page_query_count_is_fixed(login, role_users, make_ticket, django_assert_num_queries):
    client = login(role_users["reviewer"])
    make_ticket()
    url = reverse("ops:queue") + "?queue=all&state=in_review"
    client.get(url)
    with django_assert_num_queries(8) as few:
        client.get(url)
    for _ in range(12):
        make_ticket()
    perform_transition(ticket=RefundTicket.objects.first(), name="request_info",
                       actor=Actor.staff(role_users["reviewer"]), needed=["iban"])
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_ticket_page_query_count_is_fixed(login, role_users, make_ticket, django_assert_num_queries):
    client = login(role_users["reviewer"])
    ticket = make_ticket()
    url = reverse("ops:ticket", args=[ticket.reference])
    client.get(url)
    with django_assert_num_queries(17) as few:
        client.get(url)
    actor = Actor.staff(role_users["reviewer"])
    for n in range(5):
        add_comment(ticket=ticket, actor=actor, text=f"note {n}")
        perform_transition(ticket=ticket, name="request_info", actor=actor, needed=["customer_phone"])
        perform_transition(ticket=ticket, name="provide_info", actor=Actor.customer(ticket),
                           data={"customer_phone": "+8613800138000"})
    perform_transition(ticket=ticket, name="hold", actor=Actor.staff(role_users["risk"]), hold_type="risk",
                       comment="check")
    perform_transition(ticket=ticket, name="release", actor=Actor.staff(role_users["risk"]), comment="cleared")
    # Same state as the first request, with far more history: the same number of queries.
    with django_assert_num_queries(len(few.captured_queries)):
        client.get(url)


def test_queue_sorts_on_stored_due_times(login, role_users, make_ticket):
    from datetime import timedelta

    from django.utils import timezone

    late, early = make_ticket(), make_ticket()
    RefundTicket.objects.filter(pk=late.pk).update(stage_due_at=timezone.now() + timedelta(hours=5), priority=4)
    RefundTicket.objects.filter(pk=early.pk).update(stage_due_at=timezone.now() + timedelta(hours=1))
    client = login(role_users["reviewer"])
    by_due = client.get(reverse("ops:queue")).text
    assert by_due.index(early.reference) < by_due.index(late.reference)
    by_priority = client.get(reverse("ops:queue") + "?sort=priority").text
    assert by_priority.index(late.reference) < by_priority.index(early.reference)


def test_display_helpers():
    from decimal import Decimal

    from refunds.templatetags.ops_tags import money

    assert money(Decimal("200.0000"), "USD") == "200.00 USD"
    assert money(Decimal("1500.0000"), "JPY") == "1500 JPY"
    assert money(Decimal("1.2340"), "KWD") == "1.234 KWD"
    assert money(None, "USD") == "—"


def test_queue_counts_survive_a_cache_outage(login, role_users, make_ticket, monkeypatch):
    from django.core.cache import cache

    def down(*args, **kwargs):
        raise ConnectionError("redis down")

    make_ticket()
    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    response = login(role_users["reviewer"]).get(reverse("ops:queue"))
    assert response.status_code == 200 and 'data-queue="team"' in response.text


@pytest.mark.parametrize("role,landing", [("reviewer", "/ops/"), ("finance", "/ops/"), ("admin", "/admin/")])
def test_login_lands_on_a_screen_the_role_may_open(client, role_users, role, landing):
    response = client.post(reverse("login"), {"username": role, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response["Location"] == landing
