"""The status page: headers, 404, language, escaping, query budget, info form, consent, feedback, visits."""

import pytest
from django.core import mail

from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.lifecycle import State
from refunds.models import CustomerFeedback, RefundTicket, StatusVisit

VALID_IBAN = "DE89370400440532013000"


def test_unknown_token_is_404_with_customer_headers(client, db):
    response = client.get("/status/not-a-real-token-0123456789abcdef/")
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"] and "Content-Security-Policy" in response
    assert 'href="/status/"' in response.content.decode()
    assert client.post("/status/not-a-real-token/feedback/", {"rating": "5"}).status_code == 404
    response = client.get("/status/" + "x" * 200 + "/")
    assert response.status_code == 404


def test_page_is_never_cached_and_has_a_csp(client, status_ticket):
    _, token = status_ticket()
    response = client.get(f"/status/{token}/")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert response["Referrer-Policy"] == "same-origin"


def test_query_budget(client, status_ticket, django_assert_num_queries):
    ticket, token = status_ticket(state="processing")
    append_entry(ticket, actor=Actor.system(), transition="submit_payout", from_state="approved",
                 to_state="processing", customer_visible=True)
    client.get(f"/status/{token}/")  # warms the calendar cache
    # ticket (+channel, policy, SLA, feedback) · timeline · in-app messages · visit insert
    with django_assert_num_queries(4):
        response = client.get(f"/status/{token}/")
    assert response.status_code == 200


@pytest.mark.parametrize("state", ["submitted", "awaiting_customer", "failed", "refunded"])
def test_query_budget_cold_cache_stays_within_six(client, status_ticket, django_assert_max_num_queries, state):
    ticket, token = status_ticket(state=state, info_requested=["customer_phone"])
    with django_assert_max_num_queries(6):
        assert client.get(f"/status/{token}/").status_code == 200


def test_customer_language_and_switch(client, status_ticket):
    _, token = status_ticket(customer_language="zh-hans")
    body = client.get(f"/status/{token}/").content.decode()
    assert "审核" in body and 'lang="zh-hans"' in body
    body = client.get(f"/status/{token}/?lang=en").content.decode()
    assert "Our team is reviewing your request." in body
    assert client.get(f"/status/{token}/?lang=xx").status_code == 200  # unknown → the ticket's language


def test_customer_text_is_escaped(client, status_ticket):
    ticket, token = status_ticket(source="customer")
    append_entry(ticket, actor=Actor.customer(ticket), transition="create", to_state="submitted",
                 customer_visible=True, comment="<script>alert(1)</script>")
    body = client.get(f"/status/{token}/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_staff_only_log_entries_are_hidden(client, status_ticket):
    ticket, token = status_ticket(source="staff")
    append_entry(ticket, actor=Actor.system(), transition="create", to_state="submitted", customer_visible=True,
                 comment="VIP, called twice, grumpy")
    append_entry(ticket, actor=Actor.system(), kind="note", comment="internal: suspicious customer",
                 customer_visible=False)
    body = client.get(f"/status/{token}/").content.decode()
    assert "suspicious" not in body and "grumpy" not in body


def test_visits_are_counted_without_the_ip(client, status_ticket):
    ticket, token = status_ticket()
    client.get(f"/status/{token}/", REMOTE_ADDR="203.0.113.7")
    client.get(f"/status/{token}/", REMOTE_ADDR="203.0.113.7")
    visits = list(StatusVisit.objects.filter(ticket=ticket))
    assert len(visits) == 2 and visits[0].visitor == visits[1].visitor
    assert "203.0.113" not in visits[0].visitor


# --- Info form -------------------------------------------------------------------------------------

@pytest.fixture
def awaiting(status_ticket, payment_channel="bank_transfer"):
    from tests.factories import channel

    return status_ticket(state="awaiting_customer", info_requested=["iban", "account_name"],
                         refund_to={"method": "bank_transfer"}, payment__channel=channel("bank_transfer"),
                         payment__currency="EUR")


def test_info_form_shows_what_is_needed(client, awaiting):
    _, token = awaiting
    body = client.get(f"/status/{token}/?lang=en").content.decode()
    assert 'name="iban"' in body and 'name="account_name"' in body


def test_invalid_info_is_refused_with_messages(client, awaiting):
    ticket, token = awaiting
    response = client.post(f"/status/{token}/info/?lang=en", {"iban": "DE00 1234", "account_name": "Li Wei"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "This IBAN is not valid" in body
    assert "Please correct the highlighted fields." in body
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_CUSTOMER


def test_missing_fields_are_refused(client, awaiting):
    _, token = awaiting
    response = client.post(f"/status/{token}/info/?lang=en", {"iban": ""})
    assert response.status_code == 422


def test_valid_info_resumes_the_ticket(client, awaiting, django_capture_on_commit_callbacks):
    ticket, token = awaiting
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/status/{token}/info/?lang=en", {"iban": VALID_IBAN, "account_name": "Li Wei"})
    assert response.status_code == 302 and response["Location"].endswith(f"/status/{token}/?lang=en")
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW
    assert ticket.refund_to["iban"] == VALID_IBAN
    entry = ticket.log.order_by("-seq").first()
    assert entry.transition == "provide_info" and entry.actor_kind == "customer"
    page = client.get(response["Location"]).content.decode()
    assert "we received your information" in page


def test_info_post_when_not_awaiting_changes_nothing(client, status_ticket):
    ticket, token = status_ticket(state="in_review")
    response = client.post(f"/status/{token}/info/", {"iban": VALID_IBAN})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW


def test_fallback_consent_through_the_info_form(client, status_ticket):
    from tests.factories import channel

    ticket, token = status_ticket(state="awaiting_customer", info_requested=["fallback_consent"],
                                  channel=channel("store_credit"))
    body = client.get(f"/status/{token}/?lang=en").content.decode()
    assert "store credit" in body and 'name="fallback_consent"' in body
    assert client.post(f"/status/{token}/info/?lang=en", {}).status_code == 422
    response = client.post(f"/status/{token}/info/?lang=en", {"fallback_consent": "on"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.fallback_consent_at is not None and ticket.state == State.IN_REVIEW


def test_consent_while_payout_failed(client, status_ticket):
    ticket, token = status_ticket(state="failed")  # card → fallback store credit
    body = client.get(f"/status/{token}/?lang=en").content.decode()
    assert 'action="/status/' in body and "consent/" in body
    client.post(f"/status/{token}/consent/?lang=en", {"agree": "on"})
    ticket.refresh_from_db()
    assert ticket.fallback_consent_at is not None
    assert ticket.state == State.FAILED  # consent changes no state; staff switch the channel
    note = ticket.log.order_by("-seq").first()
    assert note.kind == "note" and note.customer_visible and note.actor_kind == "customer"
    page = client.get(f"/status/{token}/?lang=en").content.decode()
    assert "You agreed to receive the refund another way" in page
    response = client.post(f"/status/{token}/consent/?lang=en", {"agree": "on"}, follow=True)
    assert "not needed" in response.content.decode()


# --- Feedback --------------------------------------------------------------------------------------

def test_feedback_only_after_arrival(client, status_ticket):
    ticket, token = status_ticket(state="processing")
    assert 'name="rating"' not in client.get(f"/status/{token}/").content.decode()
    client.post(f"/status/{token}/feedback/", {"rating": "5"})
    assert not CustomerFeedback.objects.exists()


@pytest.mark.parametrize("state", ["refunded", "reconciled"])
def test_feedback_once(client, status_ticket, state):
    ticket, token = status_ticket(state=state, customer_language="en")
    assert 'name="rating"' in client.get(f"/status/{token}/").content.decode()
    response = client.post(f"/status/{token}/feedback/?lang=en", {"rating": "4", "comment": "<b>quick</b>"})
    assert response.status_code == 302
    response = client.post(f"/status/{token}/feedback/?lang=en", {"rating": "1", "comment": "again"}, follow=True)
    assert "already have your feedback" in response.content.decode()
    feedback = CustomerFeedback.objects.get(ticket=ticket)
    assert (feedback.rating, feedback.comment) == (4, "<b>quick</b>")
    body = client.get(f"/status/{token}/").content.decode()
    assert 'name="rating"' not in body and "4/5" in body


@pytest.mark.parametrize("rating", ["0", "6", "abc", ""])
def test_feedback_rating_out_of_range(client, status_ticket, rating):
    _, token = status_ticket(state="refunded")
    response = client.post(f"/status/{token}/feedback/", {"rating": rating})
    assert response.status_code == 422
    assert not CustomerFeedback.objects.exists()


def test_opt_out_from_the_page(client, status_ticket):
    from notifications.models import OptOut

    ticket, token = status_ticket(customer_phone="+8613800138000")
    client.post(f"/status/{token}/opt-out/", {"channel": "sms"})
    assert OptOut.objects.filter(channel="sms", address="+8613800138000").exists()


def test_no_get_on_write_urls(client, status_ticket):
    _, token = status_ticket(state="refunded")
    assert client.get(f"/status/{token}/feedback/").status_code == 405
    assert RefundTicket.objects.count() == 1
    assert not mail.outbox


def test_query_budget_cold_cache_with_calendars_and_holidays(client, status_ticket, django_assert_max_num_queries):
    from datetime import date

    from refunds.models import BusinessCalendar, Holiday
    from tests.factories import channel

    region = BusinessCalendar.objects.create(code="us", name="US", kind="region", region="US")
    settle = BusinessCalendar.objects.create(code="card", name="card", kind="channel", channel=channel("card"))
    Holiday.objects.create(calendar=region, date=date(2026, 12, 25))
    Holiday.objects.create(calendar=settle, date=date(2026, 12, 25))
    _, token = status_ticket(state="in_review", region="US")
    with django_assert_max_num_queries(6):
        assert client.get(f"/status/{token}/").status_code == 200


def test_repeat_inquiry_kpi(client, status_ticket):
    from refunds.customer.selectors import repeat_inquiry_kpi

    often, token = status_ticket()
    once, other = status_ticket()
    for _ in range(3):
        client.get(f"/status/{token}/")
    client.get(f"/status/{other}/")
    kpi = repeat_inquiry_kpi()
    assert (kpi["views"], kpi["tickets"], kpi["repeat_tickets"]) == (4, 2, 1)
    assert kpi["repeat_share"] == 0.5


def test_demo_seed_is_idempotent(status_ticket):
    import io

    from notifications.demo import seed
    from notifications.models import NotificationTemplate

    NotificationTemplate.objects.filter(event="delay").delete()
    out = io.StringIO()
    seed(out)
    seed(out)
    assert NotificationTemplate.objects.count() == 56
    assert "6 installed" in out.getvalue() and "present" in out.getvalue()
