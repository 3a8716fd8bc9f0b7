"""Contract tests for every /api/v1/ endpoint: fields, status codes and problem+json bodies (SPEC §12)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from refunds.lifecycle import State
from refunds.models import Payment
from refunds.models.api import Scope
from tests.api.conftest import assert_problem, idem_key
from tests.factories import PaymentFactory, TicketFactory

pytestmark = pytest.mark.django_db

REFUND_FIELDS = {"reference", "state", "payment_ref", "order_ref", "channel", "amount", "currency", "reason",
                 "created_at", "updated_at", "status_url", "sla", "eta", "allowed_transitions"}


def payment_body(ref="pay-1", **overrides):
    return {"payment_ref": ref, "order_ref": f"SO-{ref}", "channel": "card", "amount": "100.00", "currency": "USD",
            "captured_at": "2026-11-20T10:00:00+00:00", "customer_email": "li@example.com", "region": "CN",
            **overrides}


# --- Authentication and scopes --------------------------------------------------------------------

def test_missing_key_is_401_problem(client, defaults):
    response = client.get("/api/v1/refunds/")
    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer rl_deadbeef_wrong", "Basic abc", "Bearer"])
def test_bad_key_is_401(client, api_a, header):
    assert_problem(client.get("/api/v1/refunds/", HTTP_AUTHORIZATION=header), 401)


def test_revoked_and_expired_keys_are_401(client, api_a):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_a.raw_key}"}
    assert client.get("/api/v1/refunds/", **auth).status_code == 200
    api_a.key.expires_at = timezone.now() - timedelta(seconds=1)
    api_a.key.save()
    assert_problem(client.get("/api/v1/refunds/", **auth), 401)
    api_a.key.expires_at = None
    api_a.key.save()
    api_a.key.revoke()
    assert_problem(client.get("/api/v1/refunds/", **auth), 401)


def test_key_is_stored_hashed_with_visible_prefix(api_a):
    assert api_a.raw_key not in (api_a.key.key_hash, api_a.key.prefix)
    assert api_a.raw_key.startswith(f"rl_{api_a.key.prefix}_")


def test_missing_scope_is_403(make_api):
    reader = make_api(scopes=[Scope.REFUNDS_READ])
    body = assert_problem(reader.post("/api/v1/payments/", payment_body()), 403)
    assert "payments:write" in body["detail"]
    assert_problem(reader.create_refund(PaymentFactory(partner=reader.partner)), 403)
    assert reader.get("/api/v1/refunds/").status_code == 200


# --- Payments -------------------------------------------------------------------------------------

def test_payment_upsert_creates_then_updates(api_a):
    created = api_a.post("/api/v1/payments/", payment_body())
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["amount"] == "100.00" and body["channel"] == "card" and body["payment_ref"] == "pay-1"
    updated = api_a.post("/api/v1/payments/", payment_body(amount="120.00", customer_name="Li Wei"))
    assert updated.status_code == 200
    assert updated.json()["amount"] == "120.00"
    assert Payment.objects.filter(payment_ref="pay-1").count() == 1


def test_payment_refs_are_per_partner(api_a, api_b):
    assert api_a.post("/api/v1/payments/", payment_body()).status_code == 201
    assert api_b.post("/api/v1/payments/", payment_body()).status_code == 201
    assert Payment.objects.filter(payment_ref="pay-1").count() == 2


def test_payment_validation_lists_every_field(api_a):
    response = api_a.post("/api/v1/payments/", payment_body(channel="nope", amount="1.005", currency="usd",
                                                          customer_email="x"))
    body = assert_problem(response, 422)
    assert {"channel", "currency", "customer_email"} <= set(body["errors"])


def test_payment_amount_with_too_many_decimals(api_a):
    assert_problem(api_a.post("/api/v1/payments/", payment_body(amount="1.005")), 422, field="amount")
    assert_problem(api_a.post("/api/v1/payments/", payment_body(amount="10.5", currency="JPY")), 422, field="amount")


def test_payment_missing_fields(api_a):
    body = assert_problem(api_a.post("/api/v1/payments/", {}), 422)
    assert {"payment_ref", "order_ref", "channel", "amount", "currency", "captured_at", "customer_email"} <= set(
        body["errors"])


# --- Refunds: create, read, list ------------------------------------------------------------------

def test_create_refund_returns_the_representation(api_a, payment_a):
    response = api_a.create_refund(payment_a, amount="20.00")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == REFUND_FIELDS
    assert body["reference"].startswith("RF-")
    assert body["amount"] == "20.00" and isinstance(body["amount"], str)
    assert body["state"] == State.IN_REVIEW
    assert body["payment_ref"] == payment_a.payment_ref and body["order_ref"] == payment_a.order_ref
    assert body["channel"] == "card" and body["currency"] == "USD" and body["reason"] == "damaged"
    assert set(body["sla"]) == {"status", "stage_due_at", "due_at"}
    assert set(body["eta"]) == {"earliest", "latest"} and body["eta"]["earliest"] <= body["eta"]["latest"]
    assert body["status_url"].startswith("http") and "/status/" in body["status_url"]
    assert "+00:00" in body["created_at"] or body["created_at"].endswith("Z")
    assert body["allowed_transitions"] == ["cancel"]


def test_create_refund_validation_is_422_with_errors(api_a, payment_a):
    response = api_a.create_refund(payment_a, amount="999999.00", reason="bored")
    body = assert_problem(response, 422)
    assert {"amount", "reason"} <= set(body["errors"])


def test_create_refund_for_unknown_payment(api_a):
    response = api_a.post("/api/v1/refunds/", {"payment_ref": "nope", "amount": "1.00", "currency": "USD",
                                               "reason": "damaged"}, idempotency_key=idem_key())
    assert_problem(response, 422, field="payment_ref")


def test_exact_duplicate_under_new_key_is_409_with_existing_reference(api_a, payment_a, refund_a):
    response = api_a.create_refund(payment_a, amount="20.00")
    body = assert_problem(response, 409)
    assert body["existing_reference"] == refund_a["reference"]


def test_refund_detail_and_404(api_a, refund_a):
    response = api_a.get(f"/api/v1/refunds/{refund_a['reference']}/")
    assert response.status_code == 200
    assert response.json() == {**refund_a, "updated_at": response.json()["updated_at"]}
    assert_problem(api_a.get("/api/v1/refunds/RF-NOPE/"), 404)


def test_events_timeline(api_a, refund_a):
    response = api_a.get(f"/api/v1/refunds/{refund_a['reference']}/events/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    first = body["results"][0]
    assert {"at", "actor", "kind", "from_state", "to_state", "comment"} <= set(first)
    assert [e["to_state"] for e in body["results"]] == ["submitted", "in_review"]
    assert first["actor"] == "partner:partner-a"


def test_list_filters_and_cursor_pagination(api_a, payment_a):
    other = PaymentFactory(partner=api_a.partner, order_ref="SO-OTHER")
    refs = [api_a.create_refund(payment_a, amount=f"{n}.00").json()["reference"] for n in range(1, 4)]
    other_ref = api_a.create_refund(other, amount="5.00").json()["reference"]
    page = api_a.get("/api/v1/refunds/", {"page_size": 2}).json()
    assert set(page) == {"next", "previous", "results"}
    assert len(page["results"]) == 2 and page["next"] and page["previous"] is None
    rest = api_a.client.get(page["next"]).json()
    seen = [r["reference"] for r in page["results"] + rest["results"]]
    assert sorted(seen) == sorted(refs + [other_ref])
    assert [r["reference"] for r in api_a.get("/api/v1/refunds/", {"order_ref": "SO-OTHER"}).json()["results"]] == [
        other_ref]
    assert len(api_a.get("/api/v1/refunds/", {"payment_ref": payment_a.payment_ref}).json()["results"]) == 3
    assert len(api_a.get("/api/v1/refunds/", {"state": "in_review", "channel": "card"}).json()["results"]) == 4
    assert api_a.get("/api/v1/refunds/", {"state": "refunded"}).json()["results"] == []
    assert api_a.get("/api/v1/refunds/", {"sla_status": "breached"}).json()["results"] == []
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert api_a.get("/api/v1/refunds/", {"created_after": future}).json()["results"] == []
    assert len(api_a.get("/api/v1/refunds/", {"created_before": future}).json()["results"]) == 4
    assert_problem(api_a.get("/api/v1/refunds/", {"state": "bogus"}), 422, field="state")
    assert_problem(api_a.get("/api/v1/refunds/", {"created_after": "yesterday"}), 422, field="created_after")


def test_list_query_count_is_fixed(api_a, django_assert_num_queries):
    for _ in range(3):
        TicketFactory(payment=PaymentFactory(partner=api_a.partner))
    api_a.get("/api/v1/refunds/")  # warm-up: last_used_at is written at most once a minute
    with django_assert_num_queries(5):  # key lookup, RACI matrix, the page, its payout attempts, open holds
        small = api_a.get("/api/v1/refunds/", {"page_size": 2})
    for _ in range(20):
        ticket = TicketFactory(payment=PaymentFactory(partner=api_a.partner), state="processing")
        ticket.payout_attempts.create(number=1, channel=ticket.channel, idempotency_key=f"{ticket.reference}-1",
                                      amount=ticket.amount, currency=ticket.currency)
    with django_assert_num_queries(5):
        large = api_a.get("/api/v1/refunds/", {"page_size": 20})
    assert len(small.json()["results"]) == 2 and len(large.json()["results"]) == 20


def test_staff_list_of_held_refunds_has_a_fixed_query_count(make_api, make_user, django_assert_num_queries):
    """Staff keys compute allowed transitions per row, including who may release a hold."""
    api = make_api(user=make_user("reviewer"))
    for _ in range(2):
        ticket = TicketFactory(state="on_hold")
        ticket.holds.create(hold_type="risk", owner_role="risk", reason="x", return_state="in_review")
    api.get("/api/v1/refunds/")
    with django_assert_num_queries(6) as few:  # + the key's user and roles
        api.get("/api/v1/refunds/")
    for _ in range(10):
        ticket = TicketFactory(state="on_hold")
        ticket.holds.create(hold_type="risk", owner_role="risk", reason="x", return_state="in_review")
    with django_assert_num_queries(len(few.captured_queries)):
        response = api.get("/api/v1/refunds/")
    assert len(response.json()["results"]) == 12


# --- Transitions, cancel, info --------------------------------------------------------------------

def test_partner_cannot_run_staff_transitions(api_a, refund_a):
    response = api_a.post(f"/api/v1/refunds/{refund_a['reference']}/transitions/", {"name": "approve"})
    body = assert_problem(response, 403)
    assert "staff" in body["detail"]


def test_unknown_transition_is_422(api_a, refund_a):
    response = api_a.post(f"/api/v1/refunds/{refund_a['reference']}/transitions/", {"name": "teleport"})
    assert_problem(response, 422, field="name")


def test_partner_cancel_through_transitions_and_cancel(api_a, payment_a, refund_a):
    response = api_a.post(f"/api/v1/refunds/{refund_a['reference']}/transitions/",
                          {"name": "cancel", "comment": "customer kept it"})
    assert response.status_code == 200, response.json()
    assert response.json()["state"] == State.CANCELLED and response.json()["allowed_transitions"] == []
    again = api_a.post(f"/api/v1/refunds/{refund_a['reference']}/cancel/", {})
    body = assert_problem(again, 409)
    assert "cancel" in body["detail"].lower() or "not possible" in body["detail"]


def test_cancel_endpoint(api_a, refund_a):
    response = api_a.post(f"/api/v1/refunds/{refund_a['reference']}/cancel/", {"comment": "withdrawn"})
    assert response.status_code == 200
    assert response.json()["state"] == State.CANCELLED


def test_info_endpoint_supplies_missing_bank_details(api_a, payment_a):
    created = api_a.create_refund(payment_a, refund_to={"method": "bank_transfer"})
    assert created.status_code == 201, created.json()
    assert created.json()["state"] == State.AWAITING_CUSTOMER
    reference = created.json()["reference"]
    bad = api_a.post(f"/api/v1/refunds/{reference}/info/", {"iban": "DE00 1234"})
    assert_problem(bad, 422)
    good = api_a.post(f"/api/v1/refunds/{reference}/info/",
                      {"iban": "DE89 3704 0044 0532 0130 00", "account_name": "Li Wei"})
    assert good.status_code == 200, good.json()
    assert good.json()["state"] == State.IN_REVIEW
    assert_problem(api_a.post(f"/api/v1/refunds/{reference}/info/", {"account_name": "Li Wei"}), 409)


def test_info_endpoint_answers_free_form_requests_and_email(api_a, payment_a, make_user):
    from refunds.actors import Actor
    from refunds.services import perform_transition

    reference = api_a.create_refund(payment_a, amount="120.00").json()["reference"]
    perform_transition(ticket=reference, name="request_info", actor=Actor.staff(make_user("reviewer")),
                       needed=["order_photo_url", "customer_email"])
    missing = api_a.post(f"/api/v1/refunds/{reference}/info/", {"answers": {"order_photo_url": ""}})
    body = assert_problem(missing, 422)
    assert set(body["errors"]) == {"order_photo_url"}
    bad_email = api_a.post(f"/api/v1/refunds/{reference}/info/",
                           {"customer_email": "not-an-email", "answers": {"order_photo_url": "https://x.example/p"}})
    assert set(assert_problem(bad_email, 422)["errors"]) == {"customer_email"}
    good = api_a.post(f"/api/v1/refunds/{reference}/info/",
                      {"customer_email": "new@example.com", "answers": {"order_photo_url": "https://x.example/p.jpg"}})
    assert good.status_code == 200, good.json()
    assert good.json()["state"] == State.IN_REVIEW
    from refunds.models import RefundTicket

    assert RefundTicket.objects.get(reference=reference).customer_email == "new@example.com"


def test_staff_key_follows_raci(make_api, make_user, payment_a, refund_a):
    reviewer = make_api(user=make_user("reviewer"))
    agent = make_api(user=make_user("agent"))
    path = f"/api/v1/refunds/{refund_a['reference']}/transitions/"
    detail = reviewer.get(f"/api/v1/refunds/{refund_a['reference']}/").json()
    assert "approve" in detail["allowed_transitions"]
    assert "approve" not in agent.get(f"/api/v1/refunds/{refund_a['reference']}/").json()["allowed_transitions"]
    body = assert_problem(agent.post(path, {"name": "approve"}), 403)
    assert "reviewer" in body["detail"]
    response = reviewer.post(path, {"name": "approve", "comment": "ok"})
    assert response.status_code == 200, response.json()
    assert response.json()["state"] in (State.APPROVED, State.PROCESSING)
    assert_problem(reviewer.post(path, {"name": "approve"}), 409)


def test_staff_reject_needs_reason(make_api, make_user, refund_a):
    reviewer = make_api(user=make_user("reviewer"))
    path = f"/api/v1/refunds/{refund_a['reference']}/transitions/"
    assert_problem(reviewer.post(path, {"name": "reject"}), 422, field="reason")
    response = reviewer.post(path, {"name": "reject", "reason": "not_eligible", "comment": "no"})
    assert response.json()["state"] == State.REJECTED


def test_staff_without_intake_role_cannot_create(make_api, make_user, payment_a):
    finance = make_api(user=make_user("finance"))
    assert_problem(finance.create_refund(payment_a), 403)
    agent = make_api(user=make_user("agent"))
    assert agent.create_refund(payment_a).status_code == 201


# --- Generic errors -------------------------------------------------------------------------------

def test_unknown_path_is_problem_404(api_a):
    assert_problem(api_a.get("/api/v1/nothing/here/"), 404)
    assert_problem(api_a.post("/api/v1/refunds"), 404)


def test_method_not_allowed_is_problem_405(api_a):
    assert_problem(api_a.client.put("/api/v1/refunds/", {}, format="json"), 405)
    assert_problem(api_a.client.delete("/api/v1/payments/"), 405)


def test_malformed_json_is_400_and_wrong_media_type_is_415(api_a):
    assert_problem(api_a.client.post("/api/v1/payments/", "{nope", content_type="application/json"), 400)
    assert_problem(api_a.client.post("/api/v1/payments/", "a=b", content_type="text/plain"), 415)
    assert_problem(api_a.client.post("/api/v1/payments/", "[1, 2]", content_type="application/json"), 422)


def test_nul_characters_never_reach_the_database(api_a):
    assert_problem(api_a.get("/api/v1/refunds/", {"order_ref": "a\x00b"}), 400)
    assert_problem(api_a.post("/api/v1/payments/", payment_body(order_ref="a\x00b")), 422, field="order_ref")


def test_throttling_is_429_with_retry_after(api_a, api_b, settings, monkeypatch):
    settings.API_THROTTLE_RATE = "3/minute"
    monkeypatch.setattr("refunds.api.throttling.time.time", lambda: 1_800_000_010.0)  # no window edge mid-test
    for _ in range(3):
        assert api_a.get("/api/v1/refunds/").status_code == 200
    response = api_a.get("/api/v1/refunds/")
    assert_problem(response, 429)
    assert response["Retry-After"] == "50"
    assert api_b.get("/api/v1/refunds/").status_code == 200  # counted per key


def test_schema_and_docs_are_served(client, defaults):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/refunds/{reference}/transitions/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()


def test_datetime_filters_accept_any_offset_and_refuse_out_of_range(api_a, refund_a):
    # PostgreSQL refuses offsets beyond ±15:59: the filter normalises to UTC first (found by fuzzing).
    assert api_a.get("/api/v1/refunds/", {"created_before": "0037-10-15T20:05:45.755+17:39"}).status_code == 200
    assert len(api_a.get("/api/v1/refunds/", {"created_after": "2000-01-01T00:00:00+17:39"}).json()["results"]) == 1
    assert_problem(api_a.get("/api/v1/refunds/", {"created_before": "0001-01-01T00:05:45+17:39"}), 422,
                   field="created_before")


def test_events_query_count_is_fixed(api_a, refund_a, django_assert_num_queries):
    path = f"/api/v1/refunds/{refund_a['reference']}/events/"
    api_a.get(path)
    with django_assert_num_queries(3):  # key lookup, the ticket, the page of entries
        assert len(api_a.get(path).json()["results"]) == 2


def test_payment_may_carry_its_fee_and_instrument_fingerprint(api_a):
    from refunds.models import Payment

    body = {"payment_ref": "pay_fp_1", "order_ref": "SO-FP-1", "channel": "card", "amount": "100.00",
            "currency": "USD", "captured_at": "2026-11-20T10:00:00+00:00", "customer_email": "fp@example.com",
            "fee_amount": "2.90", "instrument_fingerprint": "fp_4242"}
    assert api_a.post("/api/v1/payments/", body).status_code == 201
    payment = Payment.objects.get(payment_ref="pay_fp_1")
    assert (str(payment.fee_amount.normalize()), payment.instrument_fingerprint) == ("2.9", "fp_4242")
    bad = api_a.post("/api/v1/payments/", {**body, "payment_ref": "pay_fp_2", "fee_amount": "200.00"})
    assert_problem(bad, 422, field="fee_amount")
    bad = api_a.post("/api/v1/payments/", {**body, "payment_ref": "pay_fp_3", "fee_amount": "0.001"})
    assert_problem(bad, 422, field="fee_amount")
