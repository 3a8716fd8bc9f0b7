"""Two matching runs at once (two RQ workers) must not match the same lines twice (PostgreSQL)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from reconciliation.models import Match, MatchLink, MatchRun
from reconciliation.services import execute_run, import_file
from reconciliation.simulated_statements import statement_for
from refunds.models import RefundTicket
from tests.factories import channel

from .helpers import refunded


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_match_once(postgres, defaults):
    for i in range(8):
        refunded(f"{10 + i}.00")
    data, fmt, _ledger, _ = statement_for(channel("card"))
    assert import_file(data=data, format=fmt).status == "imported"
    runs = [MatchRun.objects.create(as_of=timezone.now(), three_way=False) for _ in range(2)]
    errors = []

    def work(run_id):
        try:
            execute_run(run_id)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(r.pk,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert Match.objects.count() == 8 and MatchLink.objects.count() == 8
    assert RefundTicket.objects.filter(state="reconciled").count() == 8
    assert sorted(MatchRun.objects.values_list("status", flat=True)) == ["done", "done"]
