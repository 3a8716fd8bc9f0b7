from datetime import UTC, datetime
from decimal import Decimal

import pytest

from refunds import sla
from refunds.actors import Actor
from refunds.services import create_ticket
from tests.factories import PaymentFactory


class Clock:
    def __init__(self):
        self.now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday

    def at(self, *args) -> datetime:
        self.now = datetime(*args, tzinfo=UTC)
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(sla, "_now", lambda: c.now)
    return c


@pytest.fixture
def new_ticket(role_users, clock, django_capture_on_commit_callbacks):
    """A USD card refund of 200 that intake sends to review (reviewer decides), created at clock.now."""

    def make(amount="200.00", region="US", **payment):
        with django_capture_on_commit_callbacks(execute=True):
            return create_ticket(payment=PaymentFactory(region=region, **payment), amount=Decimal(amount),
                                 currency="USD", reason="damaged", actor=Actor.staff(role_users["agent"]))

    return make


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a callable and then its on-commit callbacks (mails go out after commit)."""

    def call(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return func(*args, **kwargs)

    return call
