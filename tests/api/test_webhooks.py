"""Outbound partner webhooks: signed (verifiable by the receiver), retried on 500, disabled after N failures,
replayable by the partner. The receiver is a local threaded http.server on this worktree's ports."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from refunds import signing
from refunds.models import WebhookDelivery, WebhookEndpoint
from refunds.models.webhooks import DeliveryStatus
from refunds.services import webhooks
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db
PORTS = range(18040, 18050)


class Receiver:
    """Records requests; answers the queued status codes, then 200."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        for port in PORTS:
            try:
                self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free port in 18040-18049")
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def endpoint(api_a, receiver):
    response = api_a.post("/api/v1/webhook-endpoints/", {"url": receiver.url, "event_types": ["refund.cancelled"]})
    assert response.status_code == 201, response.json()
    return response.json()


def cancel(api, reference, capture):
    with capture(execute=True):
        response = api.post(f"/api/v1/refunds/{reference}/cancel/", {"comment": "withdrawn"})
    assert response.status_code == 200


def test_create_and_list_endpoints(api_a, endpoint):
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["event_types"] == ["refund.cancelled"] and endpoint["active"] is True
    listed = api_a.get("/api/v1/webhook-endpoints/").json()
    assert set(listed) == {"next", "previous", "results"}
    assert [e["id"] for e in listed["results"]] == [endpoint["id"]] and "secret" not in listed["results"][0]
    assert api_a.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/").json()["url"] == endpoint["url"]
    bad = api_a.post("/api/v1/webhook-endpoints/", {"url": "ftp://x", "event_types": ["refund.teleported"]})
    assert_problem(bad, 422)


def test_state_change_is_delivered_signed(api_a, endpoint, receiver, refund_a, django_capture_on_commit_callbacks):
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    # The receiver verifies with the secret it was given, exactly as the docs describe.
    signing.verify(request["headers"][signing.HEADER], request["body"], [endpoint["secret"]])
    with pytest.raises(signing.SignatureError):
        signing.verify(request["headers"][signing.HEADER], request["body"], ["whsec_wrong"])
    event = json.loads(request["body"])
    assert event["type"] == "refund.cancelled"
    assert event["data"]["reference"] == refund_a["reference"] and event["data"]["state"] == "cancelled"
    assert event["data"]["from_state"] == "in_review" and event["data"]["amount"] == "20.00"
    assert request["headers"]["Refundloop-Event-Id"] == event["id"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 1
    log = api_a.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/").json()["results"]
    assert log[0]["status"] == "delivered" and log[0]["event_type"] == "refund.cancelled"


def test_unsubscribed_events_and_other_partners_are_not_delivered(api_a, api_b, endpoint, receiver, payment_a,
                                                                 django_capture_on_commit_callbacks):
    api_b.post("/api/v1/webhook-endpoints/", {"url": receiver.url})
    with django_capture_on_commit_callbacks(execute=True):
        api_a.create_refund(payment_a)  # intake → in_review: A is not subscribed to it, B does not own it
    assert receiver.requests == [] and WebhookDelivery.objects.count() == 0


def test_retries_on_500_with_backoff(api_a, endpoint, receiver, refund_a, django_capture_on_commit_callbacks):
    receiver.statuses = [500, 500]
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1 and delivery.last_status_code == 500
    first_wait = delivery.next_attempt_at - timezone.now()
    assert webhooks.retry_due() == 0  # not due yet
    assert webhooks.retry_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.status == DeliveryStatus.PENDING
    assert delivery.next_attempt_at - timezone.now() > first_wait  # backoff grows
    webhooks.retry_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 3
    assert len(receiver.requests) == 3
    assert len({json.loads(r["body"])["id"] for r in receiver.requests}) == 1  # same event id on every try
    assert WebhookEndpoint.objects.get().consecutive_failures == 0


def test_endpoint_disabled_after_consecutive_failures(api_a, endpoint, receiver, refund_a, settings,
                                                      django_capture_on_commit_callbacks):
    settings.WEBHOOK_DISABLE_AFTER_FAILURES = 3
    receiver.statuses = [500] * 10
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    for _ in range(5):
        webhooks.retry_due(now=timezone.now() + timedelta(days=1))
    endpoint_row = WebhookEndpoint.objects.get()
    delivery = WebhookDelivery.objects.get()
    assert endpoint_row.active is False and endpoint_row.consecutive_failures == 3
    assert "3 consecutive" in endpoint_row.disabled_reason
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert len(receiver.requests) == 3


def test_gives_up_after_max_attempts(api_a, endpoint, receiver, refund_a, settings,
                                     django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [503] * 5
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    webhooks.retry_due(now=timezone.now() + timedelta(days=1))
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2
    assert WebhookEndpoint.objects.get().active is True


def test_network_errors_are_recorded(api_a, refund_a, django_capture_on_commit_callbacks):
    free = Receiver()
    url = free.url
    free.close()  # nothing listens there any more
    api_a.post("/api/v1/webhook-endpoints/", {"url": url})
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_status_code is None
    assert "ConnectionError" in delivery.last_error


def test_partner_replays_a_delivery(api_a, api_b, endpoint, receiver, refund_a, django_capture_on_commit_callbacks):
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    original = WebhookDelivery.objects.get()
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries/{original.pk}/replay/"
    assert_problem(api_b.post(path), 404)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_a.post(path)
    assert response.status_code == 202
    assert response.json()["replay_of"] == original.pk
    assert len(receiver.requests) == 2
    assert json.loads(receiver.requests[0]["body"])["id"] == json.loads(receiver.requests[1]["body"])["id"]
    assert WebhookDelivery.objects.get(pk=response.json()["id"]).status == DeliveryStatus.DELIVERED


def test_deactivated_endpoint_gets_nothing(api_a, endpoint, receiver, refund_a, django_capture_on_commit_callbacks):
    assert api_a.client.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}/").status_code == 204
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    assert receiver.requests == []


def test_delivery_job_is_idempotent(api_a, endpoint, receiver, refund_a, django_capture_on_commit_callbacks):
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.deliver(delivery.pk) == "skipped"  # already delivered: a duplicate job does nothing
    assert len(receiver.requests) == 1


@pytest.mark.services
def test_production_mode_delivers_through_rq_and_schedules_retries(redis_url, settings, api_a, endpoint, receiver,
                                                                    refund_a, django_capture_on_commit_callbacks):
    import django_rq
    from rq import SimpleWorker

    settings.JOBS_INLINE = False
    queue = django_rq.get_queue(webhooks.QUEUE)
    queue.empty()
    receiver.statuses = [500]
    cancel(api_a, refund_a["reference"], django_capture_on_commit_callbacks)
    assert receiver.requests == [] and queue.count == 1  # enqueued after commit, not sent in the request
    with django_capture_on_commit_callbacks(execute=True):
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.status == DeliveryStatus.PENDING
    scheduled = queue.scheduled_job_registry.get_job_ids()
    assert len(scheduled) == 1  # the retry waits in RQ's scheduler until next_attempt_at
    for job_id in scheduled:
        queue.scheduled_job_registry.remove(job_id, delete_job=True)


def test_private_targets_are_refused_in_production(api_a, settings, monkeypatch):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    resolved = {"hooks.example.com": "93.184.216.34", "internal.example.com": "10.0.0.5"}
    monkeypatch.setattr("socket.getaddrinfo", lambda host, port: [(2, 1, 6, "", (resolved.get(host, host), port))])
    for url in ["http://127.0.0.1:6379/", "http://169.254.169.254/latest/meta-data/", "http://internal.example.com/x",
                "http://[::1]/"]:
        assert_problem(api_a.post("/api/v1/webhook-endpoints/", {"url": url}), 422, field="url")
    assert api_a.post("/api/v1/webhook-endpoints/", {"url": "https://hooks.example.com/rl"}).status_code == 201
    assert webhooks.target_refusal("https://hooks.example.com/rl") is None
