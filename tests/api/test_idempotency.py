"""Idempotency-Key on POST /refunds/ and /payments/ (SPEC §12): replay, mismatch, missing, in flight, concurrency."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from refunds.api.idempotency import purge_expired
from refunds.models import IdempotencyRecord, RefundTicket
from refunds.models.api import IdempotencyStatus
from tests.api.conftest import Api, assert_problem
from tests.factories import PartnerFactory, PaymentFactory


@pytest.mark.django_db
class TestIdempotency:
    def test_same_key_same_body_replays_the_first_response(self, api_a, payment_a):
        first = api_a.create_refund(payment_a, key="k1")
        second = api_a.create_refund(payment_a, key="k1")
        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first
        assert RefundTicket.objects.count() == 1

    def test_body_key_order_does_not_matter(self, api_a, payment_a):
        body = {"payment_ref": payment_a.payment_ref, "amount": "20.00", "currency": "USD", "reason": "damaged"}
        first = api_a.post("/api/v1/refunds/", body, idempotency_key="k-order")
        again = api_a.post("/api/v1/refunds/", dict(reversed(list(body.items()))), idempotency_key="k-order")
        assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
        assert again.json()["reference"] == first.json()["reference"]

    def test_same_key_different_body_is_422(self, api_a, payment_a):
        api_a.create_refund(payment_a, key="k2", amount="20.00")
        body = assert_problem(api_a.create_refund(payment_a, key="k2", amount="21.00"), 422)
        assert "different request" in body["detail"]
        assert RefundTicket.objects.count() == 1

    def test_missing_key_is_400(self, api_a, payment_a):
        response = api_a.post("/api/v1/refunds/", {"payment_ref": payment_a.payment_ref, "amount": "1.00",
                                                   "currency": "USD", "reason": "damaged"})
        body = assert_problem(response, 400)
        assert "Idempotency-Key" in body["detail"]
        assert_problem(api_a.create_refund(payment_a, key="x" * 256), 400)

    def test_key_in_flight_is_409(self, api_a, payment_a):
        first = api_a.create_refund(payment_a, key="k3")
        IdempotencyRecord.objects.filter(key="k3").update(status=IdempotencyStatus.IN_PROGRESS)
        response = api_a.create_refund(payment_a, key="k3")
        assert_problem(response, 409)
        assert response["Retry-After"] == "1"
        assert first.status_code == 201

    def test_abandoned_in_flight_key_is_taken_over(self, api_a, payment_a):
        api_a.create_refund(payment_a, key="k4", amount="3.00")
        IdempotencyRecord.objects.filter(key="k4").update(status=IdempotencyStatus.IN_PROGRESS,
                                                          created_at=timezone.now() - timedelta(minutes=5))
        # The earlier attempt "died" before storing its response: the retry runs (and hits the
        # duplicate rule, which links to the refund the first attempt committed).
        body = assert_problem(api_a.create_refund(payment_a, key="k4", amount="3.00"), 409)
        assert body["existing_reference"]

    def test_errors_are_stored_and_replayed_too(self, api_a, payment_a):
        first = api_a.create_refund(payment_a, key="k5", reason="bored")
        again = api_a.create_refund(payment_a, key="k5", reason="bored")
        assert_problem(first, 422)
        assert_problem(again, 422)
        assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()

    def test_keys_are_scoped_per_api_key(self, make_api, api_a, payment_a):
        other_key_same_partner = make_api(partner=api_a.partner)
        first = api_a.create_refund(payment_a, key="shared", amount="7.00")
        second = other_key_same_partner.create_refund(payment_a, key="shared", amount="8.00")
        assert first.status_code == second.status_code == 201
        assert "Idempotent-Replayed" not in second

    def test_payments_accept_an_optional_key(self, api_a):
        body = {"payment_ref": "p-idem", "order_ref": "SO-1", "channel": "card", "amount": "10.00",
                "currency": "USD", "captured_at": "2026-11-20T10:00:00Z", "customer_email": "a@example.com"}
        first = api_a.post("/api/v1/payments/", body, idempotency_key="pay-1")
        again = api_a.post("/api/v1/payments/", body, idempotency_key="pay-1")
        assert first.status_code == again.status_code == 201
        assert again["Idempotent-Replayed"] == "true"
        assert api_a.post("/api/v1/payments/", body).status_code == 200  # no key: plain upsert

    def test_records_are_kept_at_least_a_day(self, api_a, payment_a, settings):
        settings.IDEMPOTENCY_KEEP_HOURS = 1  # never below 24 h, whatever the setting says
        api_a.create_refund(payment_a, key="old")
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=23))
        assert purge_expired() == 0
        IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
        assert purge_expired() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_requests_with_one_key_create_one_refund(postgres, defaults, make_api):
    api = make_api(partner=PartnerFactory(name="concurrent"))
    payment = PaymentFactory(partner=api.partner)
    barrier = threading.Barrier(8)
    results: list[tuple[int, dict, bool]] = []
    lock = threading.Lock()

    def worker():
        try:
            own = Api(api.raw_key, api.key, partner=api.partner)  # one client per thread
            barrier.wait(timeout=10)
            response = own.create_refund(payment, key="race", amount="20.00")
            with lock:
                results.append((response.status_code, response.json(), response.has_header("Idempotent-Replayed")))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 8
    assert RefundTicket.objects.filter(payment=payment).count() == 1
    codes = sorted(code for code, _body, _replayed in results)
    assert set(codes) <= {201, 409}, results
    reference = RefundTicket.objects.get(payment=payment).reference
    for code, body, replayed in results:
        if code == 201:
            assert body["reference"] == reference
        else:
            assert body["status"] == 409 and "existing_reference" not in body
    assert codes.count(201) >= 1
    assert IdempotencyRecord.objects.filter(key="race").count() == 1
    print("concurrent outcomes:", codes)
