"""Demo data for `manage.py seed_demo`: today's simulated statements (one per channel, in the channel's
own format, with a few injected breaks on cards) and the finance ledger, imported and matched once."""

from django.utils import timezone

from refunds.models import Channel

from .models import MatchRun, StatementImport
from .simulated_statements import build_rows, render, statement_for

CARD_BREAKS = {"missing": 1, "amount_mismatch": 1, "duplicate": 1, "unexpected": 1, "fee_difference": 1}


def simulate_day(channel, *, user=None, discrepancies=None, seed: int = 7, before=None):
    """Import the simulated gateway's statement for a channel (its succeeded refunds, those confirmed
    before `before` when given)."""
    from .services import import_file

    data, fmt, _ledger, injected = statement_for(channel, discrepancies=discrepancies, seed=seed, before=before)
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return import_file(data=data, format=fmt, filename=f"simulated-{channel.code}-{stamp}.{fmt}", channel=channel,
                       user=user), injected


def simulate_ledger(*, user=None, before=None):
    """Import a ledger export with one journal line per succeeded refund (every channel)."""
    from .services import import_file
    from .simulated_statements import attempts_for

    rows = []
    for channel in Channel.objects.all():
        rows += build_rows(attempts_for(channel, before=before))[1]
    stamp = timezone.now().strftime("%Y%m%d%H%M%S")
    return import_file(data=render("ledger", rows), format="ledger", filename=f"ledger-{stamp}.csv", user=user)


def seed(stdout) -> None:
    from .services import execute_run

    if StatementImport.objects.filter(filename__startswith="simulated-").exists():
        stdout.write("Demo statements exist already; leaving them as they are.")
        return
    # The gateways' files cover refunds confirmed before today; today's are not on a statement yet.
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    for channel in Channel.objects.all():
        record, injected = simulate_day(channel, discrepancies=CARD_BREAKS if channel.code == "card" else None,
                                        before=today)
        if record.status == "imported":
            stdout.write(f"  {channel.code}: imported {record.imported_count} statement lines"
                         + (f" (injected: {', '.join(k for k, v in injected.items() if v)})" if injected else ""))
    simulate_ledger(before=today)
    run = MatchRun.objects.create(as_of=timezone.now(), three_way=True)
    run = execute_run(run.pk)
    stdout.write(f"Reconciliation run #{run.pk}: {run.counts.get('reconciled', 0)} refunds reconciled, "
                 f"{run.counts.get('exceptions_created', 0)} exceptions for finance.")
