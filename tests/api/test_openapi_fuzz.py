"""The OpenAPI schema validates, and schemathesis fuzzes every operation against it (authenticated).

Bounded: FUZZ_EXAMPLES examples per operation (env SCHEMATHESIS_EXAMPLES), derandomized so CI is
reproducible. Checks: no 5xx, documented status codes and content types, bodies matching the schema.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from refunds.models import ApiKey
from tests.api.conftest import ALL_SCOPES
from tests.factories import PartnerFactory, PaymentFactory

FUZZ_EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "30"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.django_db
def test_schema_validates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    text = (tmp_path / "schema.yaml").read_text()
    for path in ["/api/v1/payments/", "/api/v1/refunds/", "/api/v1/refunds/{reference}/",
                 "/api/v1/refunds/{reference}/events/", "/api/v1/refunds/{reference}/transitions/",
                 "/api/v1/refunds/{reference}/cancel/", "/api/v1/refunds/{reference}/info/",
                 "/api/v1/webhook-endpoints/"]:
        assert f"{path}:" in text


@pytest.fixture
def keep_test_connection():
    """Requests go through the real WSGI handler: like Django's test client, stop it closing the test
    transaction's connection at request start/end (fatal on PostgreSQL)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_key(defaults, settings, keep_test_connection, monkeypatch):
    settings.API_THROTTLE_RATE = ""  # fuzzing is many requests on one key
    # Fuzzed webhook URLs are arbitrary hosts: never send (or resolve) anything outside this machine.
    monkeypatch.setattr("refunds.services.webhooks._post", lambda endpoint, delivery: (None, "not sent in tests"))
    partner = PartnerFactory(name="fuzz")
    PaymentFactory(partner=partner, payment_ref="fuzz-pay")
    _key, raw = ApiKey.objects.issue(scopes=ALL_SCOPES, partner=partner)
    return raw


# Loaded at collection (schema generation needs no database). Not `schemathesis.pytest.from_fixture`:
# its lazy loader writes `node._nodeid`, which pytest 9 no longer has.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_fuzz_api(case, fuzz_key):
    response = case.call(headers={"Authorization": f"Bearer {fuzz_key}"})
    case.validate_response(response, checks=CHECKS)
