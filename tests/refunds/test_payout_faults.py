"""Money goes back exactly once under faults (SPEC §15), with real processes.

Each test starts its own redis-server (ports 18050-18059) and `manage.py rqworker` processes on the
test database, and stops them by PID. PostgreSQL and Redis are required (REQUIRE_SERVICES=1 fails
instead of skipping).
"""

import shutil
import threading
from unittest import mock

import pytest
from django.db import connections

from refunds.actors import Actor
from refunds.audit import verify_ticket_chain
from refunds.lifecycle import Role, State
from refunds.models import SimulatedRefund
from refunds.models.tickets import PayoutStatus
from refunds.services import payouts, perform_transition
from refunds.sweeper import sweep
from tests.conftest import _skip_or_fail
from tests.factories import PaymentFactory, TicketFactory, UserFactory
from tests.refunds.fault_tools import (
    RedisServer,
    kill_worker,
    rq_settings,
    run_burst_worker,
    start_worker,
    wait_for,
)
from tests.refunds.payout_helpers import approved_ticket, configure, refreshed

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis(postgres, redis_url, defaults, settings):
    if shutil.which("redis-server") is None:
        _skip_or_fail("fault tests start their own redis-server, which is not installed")
    server = RedisServer(18051).start()
    rq_settings(settings, server.url)
    settings.REFUNDLOOP = {**settings.REFUNDLOOP, "PAYOUT_RETRY_INTERVALS": [0, 0]}  # RQ Retry, no wait
    yield server
    server.stop()


def assert_paid_once(ticket):
    ticket = refreshed(ticket)
    assert ticket.state == State.REFUNDED
    assert SimulatedRefund.objects.count() == 1
    refund = SimulatedRefund.objects.get()
    attempt = ticket.payout_attempts.get()
    assert attempt.status == PayoutStatus.SUCCEEDED and attempt.gateway_refund_id == refund.refund_id
    assert ticket.log.filter(transition="confirm").count() == 1
    assert ticket.log.filter(transition="submit_payout").count() == 1
    assert verify_ticket_chain(ticket, list(ticket.log.order_by("seq"))) is None
    return ticket, refund, attempt


def test_two_payout_jobs_at_once_make_one_gateway_refund(postgres, defaults, settings):
    settings.JOBS_INLINE = True
    configure(latency_ms=400)  # both calls are inside the gateway at the same time
    ticket = approved_ticket()
    # Move to processing without running the send job: two copies of it run below, at once.
    held_back = []
    with mock.patch("refunds.services.payouts.enqueue_send_payout", side_effect=held_back.append):
        payouts.submit_payout(ticket.pk)
    assert held_back == [ticket.pk]
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def job(i):
        try:
            barrier.wait()
            outcomes[i] = payouts.send_payout(ticket.pk)
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(map(str, outcomes)) == ["confirmed", "unchanged"], outcomes
    _, refund, attempt = assert_paid_once(ticket)
    assert refund.calls == 2 and attempt.tries == 2


def test_two_rq_workers_running_the_same_payout_make_one_refund(private_redis):
    configure(latency_ms=1500)
    ticket = approved_ticket()
    payouts.submit_payout(ticket.pk)  # enqueues send_payout once
    payouts.enqueue_send_payout(ticket.pk)  # and a duplicate, as a sweep racing a slow job would
    workers = [start_worker(private_redis.url, burst=True) for _ in range(2)]
    for worker in workers:
        worker.communicate(timeout=30)
    _, refund, attempt = assert_paid_once(ticket)
    assert refund.calls == attempt.tries  # every call the gateway saw used the one key


def test_timeout_after_accept_is_retried_by_rq_with_the_same_key(private_redis):
    ticket = approved_ticket("sim_timeout_rq")
    payouts.submit_payout(ticket.pk)  # commits; enqueues send_payout with RQ Retry on the private Redis
    assert refreshed(ticket).state == State.PROCESSING
    output = run_burst_worker(private_redis.url)
    _, refund, attempt = assert_paid_once(ticket)
    assert refund.calls == 2 and attempt.tries == 2, output
    assert "GatewayTimeout" in attempt.last_error


def test_worker_killed_mid_payout_then_sweep_pays_exactly_once(private_redis):
    configure(latency_ms=5000)  # the gateway accepts, then answers slowly: we kill the worker meanwhile
    ticket = approved_ticket()
    payouts.submit_payout(ticket.pk)
    worker = start_worker(private_redis.url, burst=False)
    try:
        wait_for(lambda: SimulatedRefund.objects.exists(), timeout=20)
    finally:
        kill_worker(worker)
    ticket = refreshed(ticket)
    assert ticket.state == State.PROCESSING
    attempt = ticket.payout_attempts.get()
    assert attempt.gateway_refund_id == ""  # the answer never reached us
    configure(latency_ms=0)
    assert sweep(older_than=0) == {"approved": 0, "processing": 1}
    run_burst_worker(private_redis.url)
    _, refund, attempt = assert_paid_once(ticket)
    assert refund.calls == 2 and attempt.tries == 2


def test_redis_down_while_approving_then_sweeper_completes(private_redis, caplog):
    reviewer = UserFactory(roles=[Role.REVIEWER])
    ticket = TicketFactory(payment=PaymentFactory(), state=State.IN_REVIEW)
    private_redis.stop()
    perform_transition(ticket=ticket.pk, name="approve", actor=Actor.staff(reviewer))  # commits
    assert refreshed(ticket).state == State.APPROVED
    assert "Redis unavailable" in caplog.text
    private_redis.start()
    assert sweep(older_than=0) == {"approved": 1, "processing": 0}
    run_burst_worker(private_redis.url)
    assert_paid_once(ticket)
