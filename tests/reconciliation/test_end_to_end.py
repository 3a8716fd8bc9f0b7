"""The simulated gateway's statement and ledger for a day of refunds reconcile them; injected
discrepancies come out as the right exceptions."""

import pytest
from django.core.management import call_command

from reconciliation.models import ExceptionStatus, ReconException, RunStatus
from reconciliation.services import execute_run, import_file, start_run
from reconciliation.simulated_statements import statement_for
from refunds.audit import verify_ticket_chain
from refunds.models import RefundTicket
from tests.factories import channel

from .helpers import refunded

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code,currency", [("card", "USD"), ("paypal", "USD"), ("alipay", "CNY"),
                                           ("wechat_pay", "CNY")])
def test_clean_day_reconciles_every_ticket(defaults, code, currency, django_capture_on_commit_callbacks):
    tickets = [refunded(f"{10 + i}.50", currency, code) for i in range(6)]
    data, fmt, ledger, injected = statement_for(channel(code))
    assert import_file(data=data, format=fmt).status == "imported"
    assert import_file(data=ledger, format="ledger").status == "imported"
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    assert run.counts["reconciled"] == 6
    assert not ReconException.objects.exists()
    # Fully worked files are closed: the next run does not read them again.
    from reconciliation.models import StatementImport

    assert set(StatementImport.objects.values_list("open_lines", flat=True)) == {0}
    for ticket in tickets:
        ticket = RefundTicket.objects.get(pk=ticket.pk)
        assert ticket.state == "reconciled"
        assert verify_ticket_chain(ticket, ticket.log.order_by("seq")) is None
        assert ticket.history.first().state == "reconciled"


def test_injected_discrepancies_become_exceptions(defaults, django_capture_on_commit_callbacks):
    for i in range(30):
        refunded(f"{20 + i}.00", "USD", "card", paid_days_ago=20)
    data, fmt, ledger, injected = statement_for(channel("card"), discrepancies={
        "missing": 2, "amount_mismatch": 2, "duplicate": 1, "unexpected": 3, "currency_mismatch": 1,
        "fee_difference": 1, "reversal": 1, "chargeback": 1})
    import_file(data=data, format=fmt)
    import_file(data=ledger, format="ledger")
    with django_capture_on_commit_callbacks(execute=True):
        run = start_run()
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    found = {}
    for exc in ReconException.objects.select_related("ticket", "line"):
        found.setdefault(exc.type, set()).add(exc.ticket.reference if exc.ticket else exc.line.gateway_refund_id)
    assert found["missing_on_statement"] == set(injected["missing"])
    assert found["amount_mismatch"] == set(injected["amount_mismatch"])
    assert found["duplicate"] == set(injected["duplicate"])
    assert found["unexpected_statement_line"] == set(injected["unexpected"])
    assert found["currency_mismatch"] == set(injected["currency_mismatch"])
    assert found["fee_difference"] == set(injected["fee_difference"])
    assert found["reversed_after_success"] == set(injected["reversal"])
    assert found["refund_plus_chargeback"] == set(injected["chargeback"])
    broken = sum(len(v) for v in injected.values() if v) - len(injected["unexpected"])
    assert RefundTicket.objects.filter(state="reconciled").count() == 30 - broken
    assert ReconException.objects.filter(status=ExceptionStatus.OPEN).count() == sum(len(v) for v in found.values())
    # A second run finds nothing new and duplicates nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = start_run()
    again.refresh_from_db()
    assert again.counts["exceptions_created"] == 0


def test_manage_commands(defaults, tmp_path, capsys):
    refunded("12.00")
    data, fmt, ledger, _ = statement_for(channel("card"))
    (tmp_path / "s.csv").write_bytes(data)
    (tmp_path / "l.csv").write_bytes(ledger)
    call_command("import_statement", str(tmp_path / "s.csv"), "--format", fmt)
    call_command("import_statement", str(tmp_path / "l.csv"), "--format", "ledger")
    call_command("reconcile")
    out = capsys.readouterr().out
    assert "reconciled" in out
    assert RefundTicket.objects.filter(state="reconciled").count() == 1


def test_rerun_of_same_run_id_does_nothing(defaults):
    from django.utils import timezone

    from reconciliation.models import MatchRun

    run = MatchRun.objects.create(as_of=timezone.now(), three_way=False)
    assert execute_run(run.pk) is not None
    assert execute_run(run.pk) is None


def test_bulk_reconcile_is_set_based_and_keeps_the_audit_chain(defaults, django_assert_max_num_queries):
    from reconciliation.services import reconcile_tickets
    from refunds.actors import Actor

    tickets = [refunded(f"{10 + i}.00") for i in range(25)]
    with django_assert_max_num_queries(15):
        assert reconcile_tickets([t.pk for t in tickets], actor=Actor.system()) == 25
    for ticket in RefundTicket.objects.filter(pk__in=[t.pk for t in tickets]):
        assert ticket.state == "reconciled"
        assert verify_ticket_chain(ticket, ticket.log.order_by("seq")) is None
        assert ticket.history.first().history_change_reason == "reconcile"
    # Tickets that moved on are skipped, not re-reconciled.
    assert reconcile_tickets([t.pk for t in tickets], actor=Actor.system()) == 0
