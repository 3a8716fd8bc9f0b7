"""Inbound gateway webhooks: signatures, tolerance, rotation, replays, concurrency."""

import json
import threading
import time

import pytest
from django.db import connections
from django.test import Client

from refunds import signing
from refunds.lifecycle import State
from refunds.models import GatewayEvent, SimulatedRefund
from refunds.services import payouts
from tests.refunds.payout_helpers import approved_ticket, configure, refreshed

URL = "/api/v1/webhooks/gateway/card/"
OLD, NEW = "whsec_old_0123456789", "whsec_new_9876543210"


@pytest.fixture
def processing(settings, defaults, django_capture_on_commit_callbacks):
    """A ticket in processing whose refund the gateway has accepted, confirmation pending."""
    settings.JOBS_INLINE = True
    configure(confirm_after_seconds=60, deliver_webhooks=False, webhook_secrets=[NEW, OLD])
    ticket = approved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        payouts.submit_payout(ticket.pk)
    ticket = refreshed(ticket)
    assert ticket.state == State.PROCESSING
    return ticket


def event(ticket, event_type="refund.succeeded", **data):
    attempt = ticket.payout_attempts.get()
    body = {"id": f"evt_{attempt.gateway_refund_id}_{event_type}", "type": event_type,
            "data": {"refund_id": attempt.gateway_refund_id, "idempotency_key": attempt.idempotency_key, **data}}
    return json.dumps(body).encode()


def post(body, *, secrets=(NEW,), timestamp=None, header=None, client=None):
    headers = {} if header == "" else {signing.HEADER: header or signing.header_value(secrets, body, timestamp)}
    return (client or Client()).post(URL, body, content_type="application/json", headers=headers)


def assert_problem(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == status
    return problem


@pytest.mark.django_db
def test_signed_event_confirms(processing):
    response = post(event(processing))
    assert response.status_code == 200
    assert response.json()["results"][0]["outcome"] == "confirmed"
    assert refreshed(processing).state == State.REFUNDED
    assert GatewayEvent.objects.get().outcome == "confirmed"


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["unsigned", "wrong_secret", "old_timestamp", "future_timestamp", "garbage"])
def test_bad_signatures_change_nothing(processing, case, caplog):
    body = event(processing)
    if case == "unsigned":
        response = post(body, header="")
    elif case == "wrong_secret":
        response = post(body, secrets=["whsec_attacker"])
    elif case == "old_timestamp":
        response = post(body, timestamp=int(time.time()) - 301)
    elif case == "future_timestamp":
        response = post(body, timestamp=int(time.time()) + 301)
    else:
        response = post(body, header="t=abc,v1=")
    problem = assert_problem(response, 401)
    assert problem["type"].endswith(("signature-missing", "signature-invalid", "signature-stale"))
    assert refreshed(processing).state == State.PROCESSING
    assert not GatewayEvent.objects.exists()
    assert "webhook rejected" in caplog.text


@pytest.mark.django_db
def test_body_tampered_after_signing_is_rejected(processing):
    body = event(processing)
    header = signing.header_value([NEW], body)
    response = post(event(processing, "refund.failed", failure_reason="declined"), header=header)
    assert_problem(response, 401)
    assert refreshed(processing).state == State.PROCESSING


@pytest.mark.django_db
@pytest.mark.parametrize("secrets", [[OLD], [NEW], [OLD, NEW], ["whsec_retired", OLD]])
def test_rotated_secrets_are_all_accepted(processing, secrets):
    assert post(event(processing), secrets=secrets).status_code == 200
    assert refreshed(processing).state == State.REFUNDED


@pytest.mark.django_db
def test_retired_secret_is_refused(processing):
    configure(confirm_after_seconds=60, webhook_secrets=[NEW])
    assert_problem(post(event(processing), secrets=[OLD]), 401)


@pytest.mark.django_db
def test_replayed_event_is_refused_and_changes_nothing(processing):
    body = event(processing)
    assert post(body).status_code == 200
    before = list(refreshed(processing).log.values_list("seq", flat=True))
    replay = post(body)  # same event id, freshly signed: a replay, not a forgery
    assert_problem(replay, 409)
    assert replay.json()["type"].endswith("replayed")
    # A different event id for the same (refund, type) is the same event: deduplicated too.
    other = json.loads(body)
    other["id"] = "evt_other"
    assert_problem(post(json.dumps(other).encode()), 409)
    assert list(refreshed(processing).log.values_list("seq", flat=True)) == before
    assert GatewayEvent.objects.count() == 1


@pytest.mark.django_db
def test_failed_event_records_the_reason(processing):
    assert post(event(processing, "refund.failed", failure_reason="lost_or_stolen_card")).status_code == 200
    ticket = refreshed(processing)
    assert ticket.state == State.FAILED
    assert ticket.payout_attempts.get().failure_reason == "lost_or_stolen_card"


@pytest.mark.django_db
@pytest.mark.parametrize("body,status", [
    (b"not json", 400),
    (b'{"id": "e", "type": "refund.succeeded"}', 400),
    (b'{"id": "e", "type": "charge.captured", "data": {"refund_id": "x"}}', 400),
    (b'{"id": "e", "type": "refund.succeeded", "data": {"refund_id": "re_unknown"}}', 404),
])
def test_malformed_or_unknown_is_a_clear_4xx(processing, body, status):
    assert_problem(post(body), status)
    assert refreshed(processing).state == State.PROCESSING


@pytest.mark.django_db
def test_unknown_channel_get_and_oversized(processing):
    assert_problem(Client().post("/api/v1/webhooks/gateway/nope/", b"{}", content_type="application/json"), 404)
    assert Client().get(URL).status_code == 405
    assert_problem(post(b"x" * (256 * 1024 + 1)), 413)


@pytest.mark.django_db
def test_event_matched_by_idempotency_key_when_the_response_was_lost(processing):
    """Timeout after accept: we never stored the refund id, the webhook still finds the attempt."""
    attempt = processing.payout_attempts.get()
    refund_id = attempt.gateway_refund_id
    type(attempt).objects.filter(pk=attempt.pk).update(gateway_refund_id="")
    body = json.dumps({"id": "evt_1", "type": "refund.succeeded",
                       "data": {"refund_id": refund_id, "idempotency_key": attempt.idempotency_key}}).encode()
    assert post(body).status_code == 200
    attempt.refresh_from_db()
    assert attempt.gateway_refund_id == refund_id and refreshed(processing).state == State.REFUNDED


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_five_concurrent_identical_webhooks_change_state_once(postgres, processing):
    body = event(processing)
    header = signing.header_value([NEW], body)
    barrier = threading.Barrier(5)
    codes: list = [None] * 5

    def deliver(i):
        try:
            barrier.wait()
            codes[i] = post(body, header=header).status_code
        except Exception as exc:  # surfaced by the assertion below
            codes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(codes) == [200, 409, 409, 409, 409], codes
    ticket = refreshed(processing)
    assert ticket.state == State.REFUNDED
    assert ticket.log.filter(transition="confirm").count() == 1
    assert GatewayEvent.objects.count() == 1
    assert SimulatedRefund.objects.count() == 1


@pytest.mark.django_db
def test_misconfigured_adapter_is_a_503_not_a_500(processing):
    from refunds.models import Channel

    Channel.objects.filter(code="card").update(adapter="gone")
    assert_problem(post(event(processing)), 503)
