"""The matcher on crafted cases: every exception type, tolerance boundaries, ambiguity, 1-n and n-1."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reconciliation.models import Match, MatchLink, MatchRun, Proposal, ReconException, StatementLine
from reconciliation.services import execute_run, import_file, reject_proposal
from refunds.models import RefundTicket
from tests.factories import DisputeFactory, PaymentFactory, channel

from .helpers import refunded

pytestmark = pytest.mark.django_db
HEADER = "id,type,source,amount,fee,net,currency,created,description,payment_intent,refund_reference\n"
LEDGER = "entry_id,booked_at,account,reference,gateway_refund_id,payment_ref,type,currency,debit,credit,memo\n"


def stamp(days_ago=1):
    return (timezone.now() - timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S")


def row(n, amount, *, kind="refund", gref="", ref="", pref="", cur="usd", fee="0.00", days_ago=1):
    return f"txn_{n},{kind},{gref},{amount},{fee},{amount},{cur},{stamp(days_ago)},,{pref},{ref}\n"


def statement(*rows):
    record = import_file(data=(HEADER + "".join(rows)).encode(), format="stripe")
    assert record.status == "imported", record.errors


def ledger_for(*tickets, skip=()):
    body = "".join(
        f"je_{t.pk},{stamp()},2100,{t.reference},{t.payout_attempts.get().gateway_refund_id},,refund,"
        f"{t.currency},,{t.amount:.2f},refund\n" for t in tickets if t not in skip)
    record = import_file(data=(LEDGER + body).encode(), format="ledger")
    assert record.status == "imported", record.errors


def run(three_way=False, **kw):
    r = MatchRun.objects.create(as_of=timezone.now(), three_way=three_way, **kw)
    return execute_run(r.pk)


def types():
    return sorted(ReconException.objects.values_list("type", flat=True))


def state(ticket):
    return RefundTicket.objects.get(pk=ticket.pk).state


def gref(ticket):
    return ticket.payout_attempts.get().gateway_refund_id


def test_exact_match_on_gateway_refund_id(defaults):
    t = refunded("20.00")
    statement(row(1, "-20.00", gref=gref(t)))
    done = run()
    assert done.counts["reconciled"] == 1 and state(t) == "reconciled" and types() == []
    assert StatementLine.objects.get().links.exists()
    assert Match.objects.get().pass_name == "refund_id"


def test_match_on_our_reference_then_payment_and_amount(defaults):
    a = refunded("20.00", gref="")
    PayoutAttemptless = a  # noqa: F841
    b = refunded("31.00")
    statement(row(1, "-20.00", ref=a.reference), row(2, "-31.00", pref=b.payment.payment_ref))
    run()
    assert state(a) == state(b) == "reconciled"
    assert sorted(Match.objects.values_list("pass_name", flat=True)) == ["payment_amount", "reference"]


def test_amount_mismatch(defaults):
    t = refunded("20.00")
    statement(row(1, "-19.00", gref=gref(t)))
    run()
    assert types() == ["amount_mismatch"] and state(t) == "refunded"
    exc = ReconException.objects.get()
    assert (exc.expected_minor, exc.actual_minor, exc.difference_minor) == (2000, 1900, -100)
    assert exc.history.count() == 1


def test_tolerance_is_absolute_minor_units_per_channel(defaults):
    card = channel("card")
    card.reconciliation_tolerance_minor = 2
    card.save()
    inside, edge, outside = refunded("20.00"), refunded("30.00"), refunded("40.00")
    statement(row(1, "-20.01", gref=gref(inside)), row(2, "-30.02", gref=gref(edge)),
              row(3, "-40.03", gref=gref(outside)))
    run()
    assert state(inside) == state(edge) == "reconciled"
    assert ReconException.objects.get().ticket_id == outside.pk


def test_currency_mismatch(defaults):
    t = refunded("20.00")
    statement(row(1, "-20.00", gref=gref(t), cur="eur"))
    run()
    assert types() == ["currency_mismatch"]


def test_fee_difference_is_classified_apart(defaults):
    t = refunded("20.00")
    statement(row(1, "-19.70", gref=gref(t), fee="0.30"))
    run()
    assert types() == ["fee_difference"]


def test_fx_difference_on_cross_currency_refund(defaults):
    t = refunded("20.00")
    RefundTicket.objects.filter(pk=t.pk).update(currency="EUR", refund_currency="USD", fx_rate=Decimal("1.1"))
    statement(row(1, "-20.40", gref=gref(t)))
    run()
    assert types() == ["fx_difference"]


def test_duplicate_in_one_statement_and_across_statements(defaults):
    t = refunded("20.00")
    statement(row(1, "-20.00", gref=gref(t)), row(2, "-20.00", gref=gref(t)))
    run()
    assert types() == ["duplicate"]
    u = refunded("15.00")
    statement(row(3, "-15.00", gref=gref(u)))
    run()
    assert state(u) == "reconciled"
    statement(row(4, "-15.00", gref=gref(u)))  # the same refund again, a day later
    run()
    assert types() == ["duplicate", "duplicate"]


def test_missing_on_statement_only_after_the_settlement_grace(defaults):
    late = refunded("20.00", paid_days_ago=30)
    recent = refunded("21.00", paid_days_ago=1)
    statement(row(1, "-99.00", gref="re_other"))
    done = run()
    assert ReconException.objects.filter(type="missing_on_statement").get().ticket_id == late.pk
    assert done.counts["pending_statement"] == 1
    assert state(recent) == "refunded"


def test_missing_in_ledger_and_unexpected_ledger_line(defaults):
    a, b = refunded("20.00", paid_days_ago=5), refunded("21.00", paid_days_ago=5)
    statement(row(1, "-20.00", gref=gref(a)), row(2, "-21.00", gref=gref(b)))
    ledger_for(a)
    import_file(data=(LEDGER + f"je_x,{stamp()},2100,RF-NOPE,re_nope,,refund,USD,,77.00,refund\n").encode(),
                format="ledger")
    run(three_way=True)
    assert state(a) == "reconciled" and state(b) == "refunded"
    assert types() == ["missing_in_ledger", "unexpected_ledger_line"]


def test_unexpected_statement_line(defaults):
    statement(row(1, "-55.00", gref="re_ghost"))
    run()
    assert types() == ["unexpected_statement_line"]


def test_reversed_after_success(defaults):
    t = refunded("20.00")
    statement(row(1, "-20.00", gref=gref(t)), row(2, "20.00", kind="refund_failure", gref=gref(t)))
    run()
    assert types() == ["reversed_after_success"] and state(t) == "refunded"


def test_refund_plus_chargeback_from_statement_and_from_disputes(defaults):
    t = refunded("20.00")
    statement(row(1, "-20.00", gref=gref(t)), row(2, "-200.00", kind="adjustment", pref=t.payment.payment_ref))
    run()
    assert types() == ["refund_plus_chargeback"]
    u = refunded("25.00")
    DisputeFactory(payment=u.payment, status="lost")
    statement(row(3, "-25.00", gref=gref(u)))
    run()
    assert ReconException.objects.filter(type="refund_plus_chargeback", ticket=u).exists()
    assert state(u) == "refunded"


def test_split_refund_one_ticket_two_lines(defaults):
    t = refunded("30.00")
    statement(row(1, "-10.00", gref=gref(t)), row(2, "-20.00", gref=gref(t)))
    run()
    assert state(t) == "reconciled"
    assert MatchLink.objects.filter(line__isnull=False).count() == 2 and Match.objects.count() == 1


def test_batched_payout_two_tickets_one_line(defaults):
    payment = PaymentFactory(channel=channel("card"))
    a = refunded("10.00", payment=payment, gref="batch_1")
    b = refunded("15.00", payment=payment, gref="batch_1")
    statement(row(1, "-25.00", gref="batch_1"))
    run()
    assert state(a) == state(b) == "reconciled"


def test_tolerance_pass_auto_matches_a_unique_candidate(defaults):
    t = refunded("20.00", gref="")
    statement(row(1, "-20.01", gref="re_unknown_to_us"))
    run()
    assert state(t) == "reconciled"
    assert Match.objects.get().pass_name == "tolerance"


def test_tolerance_pass_outside_the_window_does_not_match(defaults):
    t = refunded("20.00", gref="", paid_days_ago=40)
    statement(row(1, "-20.00", gref="re_unknown_to_us", days_ago=1))
    run()
    assert state(t) == "refunded"
    assert types() == ["missing_on_statement", "unexpected_statement_line"]


def test_ambiguity_gives_proposals_and_a_rejected_pair_is_never_proposed_again(defaults, make_user):
    a, b = refunded("20.00", gref=""), refunded("20.00", gref="")
    statement(row(1, "-20.00", gref="re_unknown_to_us"))
    run()
    assert state(a) == state(b) == "refunded"
    assert sorted(Proposal.objects.values_list("ticket_id", flat=True)) == sorted([a.pk, b.pk])
    assert StatementLine.objects.get().statement_import.open_lines == 1  # waits for finance
    user = make_user("finance")
    reject_proposal(proposal_id=Proposal.objects.get(ticket=a).pk, user=user)
    run()
    # a is no longer a candidate, so b is now the unique one and matches.
    assert state(b) == "reconciled" and state(a) == "refunded"
    assert Proposal.objects.filter(ticket=a, status="proposed").count() == 0


def test_channel_scoped_run_leaves_other_channels_alone(defaults):
    card = refunded("20.00")
    pp = refunded("20.00", code="paypal")
    statement(row(1, "-20.00", gref=gref(card)), row(2, "-20.00", gref=gref(pp)))
    run(channel=channel("card"))
    assert state(card) == "reconciled" and state(pp) == "refunded"
