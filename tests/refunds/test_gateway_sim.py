"""The simulated gateway behaves like a real refund API: idempotency, failure injection, reversals."""

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from refunds.gateways import IdempotencyConflict, adapter_for
from refunds.gateways.simulated import SimulatedGateway, deliver_webhooks, triggers
from refunds.lifecycle import State
from refunds.models import Channel, SimulatedRefund
from refunds.models.tickets import PayoutStatus
from refunds.services import payouts
from refunds.sweeper import poll_pending, run_periodic_tasks
from tests.factories import TicketFactory
from tests.refunds.payout_helpers import approved_ticket, configure, refreshed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def inline(settings, defaults):
    settings.JOBS_INLINE = True


def fake_attempt(channel, key, *, amount="10.00", currency="USD", ref="pay_1"):
    """What the adapter reads from an attempt, without creating tickets (for many calls)."""
    payment = SimpleNamespace(payment_ref=ref, channel_id=channel.pk)
    return SimpleNamespace(idempotency_key=key, amount=Decimal(amount), currency=currency, tries=1,
                           channel_id=channel.pk, gateway_refund_id="",
                           ticket=SimpleNamespace(payment=payment, reason="damaged"))


def test_every_channel_defaults_to_the_simulated_adapter():
    assert {type(adapter_for(c)) for c in Channel.objects.all()} == {SimulatedGateway}


def test_same_key_same_refund_different_parameters_error():
    channel = configure()
    gateway = adapter_for(channel)
    first = gateway.create_refund(fake_attempt(channel, "k-1"))
    again = gateway.create_refund(fake_attempt(channel, "k-1"))
    assert first.refund_id == again.refund_id and first.status == again.status == "succeeded"
    assert SimulatedRefund.objects.get().calls == 2
    with pytest.raises(IdempotencyConflict):
        gateway.create_refund(fake_attempt(channel, "k-1", amount="10.01"))
    with pytest.raises(IdempotencyConflict):
        gateway.create_refund(fake_attempt(channel, "k-1", currency="EUR"))
    assert SimulatedRefund.objects.count() == 1
    other = gateway.create_refund(fake_attempt(channel, "k-2"))
    assert other.refund_id != first.refund_id
    # State is in the database: a fresh adapter instance (another process) gives the same answer.
    assert adapter_for(Channel.objects.get(pk=channel.pk)).create_refund(
        fake_attempt(channel, "k-1")).refund_id == first.refund_id


@pytest.mark.parametrize("ref,expected", [
    ("sim_fail_expired_or_canceled_card_12", "expired_or_canceled_card"),
    ("sim_fail_insufficient_funds_x", "insufficient_funds"),
    ("sim_fail_disputed_1", "disputed"),
    ("sim_fail_whatever_1", "declined"),
    ("pay_123", ""),
])
def test_failure_triggers(ref, expected):
    assert triggers(ref).fail_reason == expected


def test_no_random_failures_by_default():
    channel = configure()
    gateway = adapter_for(channel)
    results = [gateway.create_refund(fake_attempt(channel, f"d-{i}")).status for i in range(200)]
    assert set(results) == {"succeeded"}


def test_failure_rate_within_tolerance_and_reasons_from_config():
    channel = configure(failure_rate=0.2, failure_reasons=["declined", "insufficient_funds"])
    gateway = adapter_for(channel)
    results = [gateway.create_refund(fake_attempt(channel, f"f-{i}")) for i in range(500)]
    failed = [r for r in results if r.status == "failed"]
    assert 0.15 <= len(failed) / len(results) <= 0.25  # ±3σ for p=0.2, n=500
    assert {r.failure_reason for r in failed} == {"declined", "insufficient_funds"}


def test_reversal_rate_within_tolerance():
    channel = configure(reversal_rate=0.1, reverse_after_seconds=0)
    gateway = adapter_for(channel)
    results = [gateway.create_refund(fake_attempt(channel, f"r-{i}")).status for i in range(500)]
    assert 0.06 <= results.count("reversed") / len(results) <= 0.14  # ±3σ for p=0.1, n=500


def test_slow_trigger_confirms_late():
    channel = configure()
    result = adapter_for(channel).create_refund(fake_attempt(channel, "s-1", ref="sim_slow_1"))
    assert result.status == "pending"
    row = SimulatedRefund.objects.get()
    assert (row.settle_at - row.created_at).total_seconds() == 20


def test_late_reversal_moves_the_ticket_to_failed_by_polling(django_capture_on_commit_callbacks):
    ticket = approved_ticket("sim_reverse_5")
    with django_capture_on_commit_callbacks(execute=True):
        payouts.submit_payout(ticket.pk)
    assert refreshed(ticket).state == State.REFUNDED
    SimulatedRefund.objects.update(reverse_at=timezone.now())
    assert poll_pending() == {"reversed": 1}
    ticket = refreshed(ticket)
    assert ticket.state == State.FAILED
    attempt = ticket.payout_attempts.get()
    assert attempt.status == PayoutStatus.REVERSED and attempt.failure_reason == "expired_or_canceled_card"
    assert ticket.log.filter(transition="reverse", actor_kind="system").exists()


def client_transport(client):
    def post(url, body, headers):
        path = url.split("://", 1)[-1]
        path = path[path.index("/"):]
        return client.post(path, body, content_type="application/json", headers=headers).status_code
    return post


def test_async_confirmation_and_reversal_delivered_as_signed_webhooks(django_capture_on_commit_callbacks):
    configure(confirm_after_seconds=30, reversal_rate=1, reverse_after_seconds=60)
    ticket = approved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        payouts.submit_payout(ticket.pk)
    assert refreshed(ticket).state == State.PROCESSING
    transport = client_transport(Client())
    assert deliver_webhooks(transport=transport) == {"delivered": 0, "failed": 0}  # nothing due yet
    SimulatedRefund.objects.update(settle_at=timezone.now())
    assert deliver_webhooks(transport=transport) == {"delivered": 1, "failed": 0}
    assert refreshed(ticket).state == State.REFUNDED
    assert deliver_webhooks(transport=transport)["delivered"] == 0
    SimulatedRefund.objects.update(reverse_at=timezone.now())
    assert deliver_webhooks(transport=transport) == {"delivered": 1, "failed": 0}
    ticket = refreshed(ticket)
    assert ticket.state == State.FAILED
    assert list(ticket.gateway_events.order_by("received_at").values_list("event_type", flat=True)) == [
        "refund.succeeded", "refund.reversed"]


def test_undelivered_webhooks_are_retried_next_pass(django_capture_on_commit_callbacks):
    configure(confirm_after_seconds=1)
    ticket = approved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        payouts.submit_payout(ticket.pk)
    SimulatedRefund.objects.update(settle_at=timezone.now())
    assert deliver_webhooks(transport=lambda *a: 503) == {"delivered": 0, "failed": 1}
    assert deliver_webhooks(transport=client_transport(Client()))["delivered"] == 1
    assert refreshed(ticket).state == State.REFUNDED


def test_run_periodic_tasks_reports_each_part(django_capture_on_commit_callbacks):
    configure(confirm_after_seconds=1, deliver_webhooks=False)
    ticket = approved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        payouts.submit_payout(ticket.pk)
    SimulatedRefund.objects.update(settle_at=timezone.now())
    results = run_periodic_tasks()
    assert set(results) == {"simulated_webhooks", "poll_pending", "sweep"}
    assert results["poll_pending"] == {"confirmed": 1}
    assert refreshed(ticket).state == State.REFUNDED


def test_payout_demo_seed_is_idempotent_and_uses_triggers(django_capture_on_commit_callbacks):
    import io

    from refunds.models import Payment, RefundTicket
    from refunds.payout_demo import DEMO_PAYOUTS, seed

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        seed(out)
    seed(out)
    assert Payment.objects.filter(payment_ref__in=[p[0] for p in DEMO_PAYOUTS]).count() == len(DEMO_PAYOUTS)
    states = dict(RefundTicket.objects.values_list("payment__payment_ref", "state"))
    assert states["sim_demo_ok_0001"] == State.PROCESSING  # card confirms asynchronously in the demo
    assert states["sim_reverse_demo_0005"] == State.REFUNDED
    assert "exist already" in out.getvalue()
    SimulatedRefund.objects.update(settle_at=timezone.now())
    SimulatedRefund.objects.filter(reverse_at__isnull=False).update(reverse_at=timezone.now())
    poll_pending()
    states = dict(RefundTicket.objects.values_list("payment__payment_ref", "state"))
    assert states == {"sim_demo_ok_0001": State.REFUNDED, "sim_slow_demo_0002": State.REFUNDED,
                      "sim_fail_insufficient_funds_demo_0003": State.FAILED,
                      "sim_fail_disputed_demo_0004": State.ON_HOLD, "sim_reverse_demo_0005": State.FAILED}


def test_channel_validates_adapter_name():
    from django.core.exceptions import ValidationError

    channel = Channel.objects.get(code="card")
    channel.adapter = "nonexistent"
    with pytest.raises(ValidationError):
        channel.full_clean()


def test_admin_screens_for_events_and_sandbox(client, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    ticket = approved_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        payouts.submit_payout(ticket.pk)
    admin = UserFactory(is_superuser=True)
    client.force_login(admin)
    assert client.get("/admin/refunds/simulatedrefund/").status_code == 200
    assert client.get("/admin/refunds/gatewayevent/").status_code == 200


@pytest.mark.django_db
def test_the_gateway_receives_its_own_reason_code(defaults, django_capture_on_commit_callbacks):
    """Our reason codes are mapped to the channel's (Stripe-like card: damaged → requested_by_customer)."""
    from refunds.models import PayoutAttempt, SimulatedRefund
    from refunds.services.payouts import submit_payout

    ticket = TicketFactory(state="approved", reason="duplicate")
    with django_capture_on_commit_callbacks(execute=True):
        submit_payout(ticket.pk)
    attempt = PayoutAttempt.objects.get(ticket=ticket)
    assert SimulatedRefund.objects.get(idempotency_key=attempt.idempotency_key).reason == "duplicate"
