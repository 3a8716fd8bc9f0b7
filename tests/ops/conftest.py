from decimal import Decimal

import pytest

from refunds.actors import Actor
from refunds.services import create_ticket
from tests.factories import PaymentFactory


@pytest.fixture
def make_ticket(role_users):
    """A refund created through the service (intake sends 200 USD card refunds to review)."""

    def make(amount="200.00", **payment):
        return create_ticket(payment=PaymentFactory(**payment), amount=Decimal(amount), currency="USD",
                             reason="damaged", actor=Actor.staff(role_users["agent"]))

    return make


@pytest.fixture
def login(client):
    def as_(user):
        client.force_login(user)
        return client

    return as_



@pytest.fixture(autouse=True)
def _fresh_cache():
    """Queue counts and login throttles live in the cache: start every test from an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
