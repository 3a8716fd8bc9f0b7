"""Fixtures shared by the customer-facing test packages (status page, notifications)."""

import pytest
from django.core.cache import cache

from refunds.status_tokens import token_for
from tests.factories import TicketFactory


@pytest.fixture(autouse=True)
def inline_jobs(settings):
    """Run jobs in-process even when REDIS_URL is set: these tests are about what the jobs do.
    (tests/notifications/test_rq.py runs the same jobs through a real RQ queue.)"""
    settings.JOBS_INLINE = True


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits and cached calendars live in the cache: start every test from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def status_ticket(defaults):
    """A ticket in a given state and its status-page token."""

    def make(state="in_review", **kwargs):
        ticket = TicketFactory(state=state, **kwargs)
        return ticket, token_for(ticket)

    return make
