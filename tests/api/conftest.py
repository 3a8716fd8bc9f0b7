"""API fixtures: partners with keys, authenticated clients, a registered payment."""

import itertools

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from refunds.models import ApiKey
from refunds.models.api import Scope
from tests.factories import PartnerFactory, PaymentFactory

ALL_SCOPES = Scope.values
_idem = itertools.count(1)


def idem_key() -> str:
    return f"test-key-{next(_idem)}"


class Api:
    """An APIClient bound to one key, with JSON defaults."""

    def __init__(self, raw_key: str, key: ApiKey, partner=None, user=None):
        self.raw_key, self.key, self.partner, self.user = raw_key, key, partner, user
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def get(self, path, params=None, **extra):
        return self.client.get(path, params or {}, **extra)

    def post(self, path, data=None, *, idempotency_key: str | None = None, **extra):
        if idempotency_key:
            extra["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        return self.client.post(path, data if data is not None else {}, format="json", **extra)

    def create_refund(self, payment, amount="20.00", reason="damaged", key=None, **fields):
        body = {"payment_ref": payment.payment_ref, "amount": amount, "currency": payment.currency,
                "reason": reason, **fields}
        return self.post("/api/v1/refunds/", body, idempotency_key=key or idem_key())


@pytest.fixture(autouse=True)
def _inline_jobs(settings):
    """API tests run jobs inline (as in embedded mode) even when REDIS_URL is set; the RQ path has
    its own test in test_webhooks.py."""
    settings.JOBS_INLINE = True
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True  # the test receiver listens on 127.0.0.1


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()  # throttle counters
    yield
    cache.clear()


@pytest.fixture
def make_api(defaults):
    def make(*, partner=None, user=None, scopes=ALL_SCOPES) -> Api:
        if partner is None and user is None:
            partner = PartnerFactory()
        key, raw = ApiKey.objects.issue(scopes=scopes, partner=partner, user=user)
        return Api(raw, key, partner=partner, user=user)

    return make


@pytest.fixture
def api_a(make_api):
    return make_api(partner=PartnerFactory(name="partner-a"))


@pytest.fixture
def api_b(make_api):
    return make_api(partner=PartnerFactory(name="partner-b"))


@pytest.fixture
def payment_a(api_a):
    return PaymentFactory(partner=api_a.partner)


@pytest.fixture
def refund_a(api_a, payment_a):
    response = api_a.create_refund(payment_a)
    assert response.status_code == 201, response.json()
    return response.json()


def assert_problem(response, status: int, *, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, getattr(response, "data", None))
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    if field is not None:
        assert field in body["errors"], body
    return body
