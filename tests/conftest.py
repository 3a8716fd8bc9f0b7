"""Shared fixtures: one user per role, the system actor, service gates."""

import os

import pytest
from django.apps import apps
from django.db import connection

from refunds.actors import Actor
from refunds.defaults import install_all
from refunds.lifecycle import Role
from tests.factories import UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _skip_or_fail(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres(db):
    """Skip (or fail under REQUIRE_SERVICES=1) unless the tests run on PostgreSQL."""
    if connection.vendor != "postgresql":
        _skip_or_fail("this test needs PostgreSQL (set DATABASE_URL=postgres://…)")


@pytest.fixture
def redis_url():
    from django.conf import settings

    if not settings.REDIS_URL:
        _skip_or_fail("this test needs Redis (set REDIS_URL=redis://…)")
    return settings.REDIS_URL


@pytest.fixture
def defaults(db):
    """Roles, RACI, channels and the default policy (re-installed after a flush in transactional tests)."""
    install_all(apps.get_model)


@pytest.fixture
def make_user(db, defaults):
    def make(*roles: str, **kwargs):
        return UserFactory(roles=list(roles), **kwargs)

    return make


@pytest.fixture
def role_users(make_user):
    """One user per role, named after the role."""
    return {role: make_user(role, username=role) for role in Role.values}


@pytest.fixture
def system():
    return Actor.system()


def staff(user) -> Actor:
    return Actor.staff(user)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's chromium (never a downloaded browser), headless and quiet on a closed network."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


def pytest_collection_modifyitems(config, items):
    """Browser tests need Debian's chromium: skipped without it, a hard error under REQUIRE_SERVICES=1.

    Decided at collection, before the session-wide browser fixture would try to launch it."""
    browser_tests = [item for item in items if item.get_closest_marker("browser")]
    if not browser_tests or os.path.exists(CHROMIUM):
        return
    reason = f"browser tests need {CHROMIUM} (apt-get install chromium)"
    if REQUIRE_SERVICES:
        raise pytest.UsageError(f"REQUIRE_SERVICES=1 but {reason}")
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=reason))
