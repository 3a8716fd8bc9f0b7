"""Lost link: same answer whether or not a refund matches; rate limits per IP and per e-mail."""

import pytest
from django.core import mail

from refunds.customer.services import LOOKUP_LIMITS
from refunds.models import StatusVisit
from refunds.status_tokens import status_url


@pytest.fixture
def ticket(status_ticket):
    ticket, _ = status_ticket(customer_email="mei@example.com", payment__order_ref="SO-4242",
                              customer_language="zh-hans")
    return ticket


def lookup(client, order_ref, email, ip="198.51.100.1", **extra):
    return client.post("/status/?lang=en", {"order_ref": order_ref, "email": email}, REMOTE_ADDR=ip, **extra)


def test_lookup_form_renders(client, db):
    response = client.get("/status/")
    assert response.status_code == 200
    assert 'name="order_ref"' in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_same_response_for_match_and_no_match(client, ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        hit = lookup(client, "SO-4242", "MEI@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        miss = lookup(client, "SO-0000", "nobody@example.com", ip="198.51.100.2")
    assert hit.status_code == miss.status_code == 200
    assert hit.content == miss.content
    # Only the match gets an e-mail, with the link, in the customer's language.
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["mei@example.com"]
    assert status_url(ticket) in message.body
    assert "退款" in message.subject
    assert StatusVisit.objects.filter(ticket=ticket, kind="lookup").count() == 1


def test_wrong_email_for_a_real_order_sends_nothing(client, ticket, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = lookup(client, "SO-4242", "attacker@example.com")
    assert response.status_code == 200
    assert not mail.outbox


def test_invalid_form_is_422(client, db):
    response = client.post("/status/", {"order_ref": "", "email": "not-an-email"})
    assert response.status_code == 422


def test_rate_limit_per_email(client, ticket, django_capture_on_commit_callbacks):
    limit = LOOKUP_LIMITS["lookup-email"][0]
    for n in range(limit):
        with django_capture_on_commit_callbacks(execute=True):
            assert lookup(client, "SO-4242", "mei@example.com", ip=f"198.51.100.{n + 10}").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = lookup(client, "SO-4242", "mei@example.com", ip="198.51.100.99")
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert len(mail.outbox) == limit


def test_rate_limit_per_ip(client, db):
    limit = LOOKUP_LIMITS["lookup-ip"][0]
    for n in range(limit):
        assert lookup(client, "SO-1", f"user{n}@example.com").status_code == 200
    assert lookup(client, "SO-1", "another@example.com").status_code == 429
    assert lookup(client, "SO-1", "another@example.com", ip="198.51.100.200").status_code == 200


def test_rate_limit_fails_open_when_the_cache_is_down(client, db, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(cache, "add", broken)
    assert lookup(client, "SO-1", "x@example.com").status_code == 200
