"""A partner sees only its own payments and refunds: another partner's reference answers 404 (SPEC §12)."""

import pytest

from refunds.lifecycle import State
from refunds.models import RefundTicket
from tests.api.conftest import assert_problem
from tests.factories import PaymentFactory

pytestmark = pytest.mark.django_db


def test_partner_b_cannot_read_list_cancel_or_transition_a_refund(api_a, api_b, refund_a):
    ref = refund_a["reference"]
    a_body = assert_problem(api_b.get(f"/api/v1/refunds/{ref}/"), 404)
    missing = assert_problem(api_b.get("/api/v1/refunds/RF-0000000000/"), 404)
    assert a_body["detail"] == missing["detail"]  # same answer for "not yours" and "does not exist"
    assert_problem(api_b.get(f"/api/v1/refunds/{ref}/events/"), 404)
    assert api_b.get("/api/v1/refunds/").json()["results"] == []
    assert api_b.get("/api/v1/refunds/", {"payment_ref": refund_a["payment_ref"]}).json()["results"] == []
    assert_problem(api_b.post(f"/api/v1/refunds/{ref}/cancel/", {}), 404)
    assert_problem(api_b.post(f"/api/v1/refunds/{ref}/transitions/", {"name": "cancel"}), 404)
    assert_problem(api_b.post(f"/api/v1/refunds/{ref}/info/", {"account_name": "x"}), 404)
    assert RefundTicket.objects.get(reference=ref).state == State.IN_REVIEW
    assert [r["reference"] for r in api_a.get("/api/v1/refunds/").json()["results"]] == [ref]


def test_partner_b_cannot_refund_or_overwrite_a_payment(api_a, api_b, payment_a):
    response = api_b.create_refund(payment_a)
    assert_problem(response, 422, field="payment_ref")
    body = {"payment_ref": payment_a.payment_ref, "order_ref": "SO-B", "channel": "card", "amount": "5.00",
            "currency": "USD", "captured_at": "2026-11-20T10:00:00Z", "customer_email": "b@example.com"}
    assert api_b.post("/api/v1/payments/", body).status_code == 201  # B's own payment with the same ref
    payment_a.refresh_from_db()
    assert payment_a.amount == 200 and payment_a.order_ref != "SO-B"


def test_staff_keys_see_by_role(make_api, make_user, refund_a):
    ops = make_api(user=make_user("agent"))
    admin_only = make_api(user=make_user("admin"))
    assert [r["reference"] for r in ops.get("/api/v1/refunds/").json()["results"]] == [refund_a["reference"]]
    assert admin_only.get("/api/v1/refunds/").json()["results"] == []
    assert_problem(admin_only.get(f"/api/v1/refunds/{refund_a['reference']}/"), 404)


def test_webhook_endpoints_are_per_partner(api_a, api_b, make_api, make_user):
    created = api_a.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:18040/hook"})
    assert created.status_code == 201
    endpoint_id = created.json()["id"]
    assert api_b.get("/api/v1/webhook-endpoints/").json()["results"] == []
    assert_problem(api_b.get(f"/api/v1/webhook-endpoints/{endpoint_id}/"), 404)
    assert_problem(api_b.get(f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries/"), 404)
    staff = make_api(user=make_user("agent"))
    assert_problem(staff.get("/api/v1/webhook-endpoints/"), 403)


def test_payments_of_other_partners_do_not_leak_through_filters(api_a, api_b):
    PaymentFactory(partner=api_b.partner, payment_ref="b-secret")
    assert api_a.get("/api/v1/refunds/", {"payment_ref": "b-secret"}).json()["results"] == []
