"""A matching run goes through a real RQ queue and `manage.py rqworker` process (SPEC §9: runs as a job)."""

import shutil

import pytest

from reconciliation.models import RunStatus
from reconciliation.services import import_file, start_run
from reconciliation.simulated_statements import statement_for
from refunds.models import RefundTicket
from tests.conftest import _skip_or_fail
from tests.factories import channel
from tests.refunds.fault_tools import RedisServer, rq_settings, run_burst_worker

from .helpers import refunded

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_run_is_executed_by_a_worker_with_progress(postgres, redis_url, defaults, settings):
    if shutil.which("redis-server") is None:
        _skip_or_fail("this test starts its own redis-server, which is not installed")
    server = RedisServer(18058).start()
    try:
        rq_settings(settings, server.url)
        tickets = [refunded(f"{20 + i}.00", "USD", "card") for i in range(3)]
        data, fmt, ledger, _ = statement_for(channel("card"))
        import_file(data=data, format=fmt)
        import_file(data=ledger, format="ledger")
        run = start_run()  # committed (transactional test): the job is now on the private Redis
        assert run.status == RunStatus.QUEUED
        output = run_burst_worker(server.url, queues=("reconciliation",))
        run.refresh_from_db()
        assert run.status == RunStatus.DONE, output
        assert run.rows_done == run.rows_total > 0
        assert {t.state for t in RefundTicket.objects.filter(pk__in=[t.pk for t in tickets])} == {"reconciled"}
    finally:
        server.stop()
