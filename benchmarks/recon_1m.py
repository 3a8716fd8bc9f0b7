"""Reconciliation at scale (SPEC §14): 1,000,000 refunded tickets against a ~1,000,000-line Stripe-format
statement with injected discrepancies, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/refundloop_bench8 python -m benchmarks.recon_1m

Data set-up (tickets, payments, payout attempts via generate_series; the statement file in memory)
is not timed. Timed: import (parse + COPY + insert) and match (all passes, matches, links,
exceptions). Checked: every injected discrepancy is found exactly — no more, no fewer. Printed:
wall times and the peak memory of this process (ru_maxrss) and of the PostgreSQL backend.
Budget: import + match ≤ 60 s and ≤ 2 GB; aim < 15 s.

Database: RECON_BENCH_DATABASE_URL, else BENCH_DATABASE_URL + "_recon" (its own database under `make
bench`), else DATABASE_URL when it names a bench database, else refundloop_bench8; created on first use.
Options (env): RECON_BENCH_N (default 1,000,000), RECON_BENCH_LEDGER=1 to add a 1M-line ledger
(three-way), RECON_BENCH_APPLY=N to also move N matched tickets to `reconciled` through the
bulk transition service (timed separately, not part of the budget).
"""

import os
import resource
import sys
import time

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/refundloop_bench8"
PREFIX = "RB-"


def _create_database(url: str) -> None:
    """Create the benchmark database on first use (connects to the server's `postgres` database)."""
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django():
    from django.conf import settings

    if not settings.configured:
        # A dedicated database: BENCH_DATABASE_URL (make bench), else DATABASE_URL if it names a bench
        # database, else refundloop_bench8. The benchmark resets its own tables there.
        current = os.environ.get("DATABASE_URL", "")
        shared = os.environ.get("BENCH_DATABASE_URL", "")
        os.environ["DATABASE_URL"] = (os.environ.get("RECON_BENCH_DATABASE_URL")
                                      or (shared.rstrip("/") + "_recon" if shared else "")
                                      or (current if "bench" in current else DEFAULT_DB))
    if os.environ["DATABASE_URL"].startswith("postgres"):
        _create_database(os.environ["DATABASE_URL"])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def _amount(g: int) -> int:
    """Minor units of ticket g: 10.00 … 909.99, deterministic."""
    return 1000 + (g * 7919) % 90000


def _ensure_database():
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise RuntimeError("recon_1m needs PostgreSQL (set RECON_BENCH_DATABASE_URL or DATABASE_URL)")
    call_command("migrate", verbosity=0)


def _prepare_tickets(n: int, missing: set[int]) -> None:
    """Create (once) or reset n refunded tickets with succeeded payout attempts; missing ones were paid
    30 days ago (past settlement grace), the rest yesterday."""
    from django.db import connection

    from refunds.models import Channel, Policy

    card = Channel.objects.get(code="card")
    policy = Policy.objects.get(is_default=True)
    with connection.cursor() as c:
        c.execute("SELECT COUNT(*) FROM refunds_refundticket WHERE reference LIKE %s", [PREFIX + "%"])
        have = c.fetchone()[0]
        c.execute("SELECT COUNT(*) FROM refunds_refundticket WHERE reference NOT LIKE %s", [PREFIX + "%"])
        if c.fetchone()[0]:
            raise RuntimeError("recon_1m resets its own tables: point DATABASE_URL at a dedicated database "
                             f"(e.g. {DEFAULT_DB}), not one with other tickets")
        if have != n:
            print(f"  generating {n:,} payments, tickets and payout attempts …", flush=True)
            c.execute("TRUNCATE refunds_payoutattempt, refunds_transitionlog, refunds_historicalrefundticket,"
                      " reconciliation_matchlink, reconciliation_match, reconciliation_proposal,"
                      " reconciliation_historicalreconexception, reconciliation_reconexception,"
                      " reconciliation_statementline, reconciliation_statementimport, reconciliation_matchrun")
            c.execute("DELETE FROM refunds_approval")
            c.execute("DELETE FROM refunds_hold")
            c.execute("DELETE FROM refunds_refundticket")
            c.execute("DELETE FROM refunds_historicalpayment")
            c.execute("DELETE FROM refunds_payment WHERE id NOT IN (SELECT payment_id FROM refunds_dispute)")
            c.execute(
                "INSERT INTO refunds_payment (payment_ref, order_ref, channel_id, amount, currency, fee_amount,"
                " captured_at, customer_email, customer_name, customer_phone, region, created_at, updated_at)"
                " SELECT 'bpi_' || g, 'BO-' || g, %s, 1000, 'USD', 0, now() - interval '40 days',"
                " 'c' || g || '@example.com', '', '', 'US', now(), now() FROM generate_series(1, %s) g",
                [card.pk, n])
            c.execute(
                "INSERT INTO refunds_refundticket (reference, amount, currency, refund_currency, reason, reason_detail,"
                " customer_email, customer_phone, customer_language, region, refund_to, policy_version, state,"
                " held_from, priority, team, info_requested, risk_flags, sla_status, paused_seconds, source,"
                " idempotency_key, status_nonce, audit_head, created_at, updated_at, channel_id, payment_id,"
                " policy_id)"
                " SELECT %s || lpad(CAST(substr(p.payment_ref, 5) AS text), 10, '0'),"
                " (1000 + (CAST(substr(p.payment_ref, 5) AS bigint) * 7919) %% 90000) / 100.0, 'USD', '',"
                " 'damaged', '', p.customer_email, '', 'en', 'US', '{}', 1, 'refunded', '', 2, '', '[]', '[]',"
                " 'on_track', 0, 'api', '', md5(p.payment_ref), '', now(), now(), %s, p.id, %s"
                " FROM refunds_payment p WHERE p.payment_ref LIKE 'bpi_%%'",
                [PREFIX, card.pk, policy.pk])
            c.execute(
                "INSERT INTO refunds_payoutattempt (number, idempotency_key, amount, currency, gateway_refund_id,"
                " status, failure_reason, raw_response, created_at, updated_at, channel_id, ticket_id)"
                " SELECT 1, t.reference || '-1', t.amount, 'USD', 're_' || CAST(CAST(substr(t.reference, 4) AS bigint)"
                " AS text), 'succeeded', '', '{}', now(), now() - interval '1 day', %s, t.id"
                " FROM refunds_refundticket t WHERE t.reference LIKE %s", [card.pk, PREFIX + "%"])
        else:
            print("  resetting existing bench data …", flush=True)
            c.execute("TRUNCATE reconciliation_matchlink, reconciliation_match, reconciliation_proposal,"
                      " reconciliation_historicalreconexception, reconciliation_reconexception,"
                      " reconciliation_statementline, reconciliation_statementimport, reconciliation_matchrun,"
                      " refunds_transitionlog, refunds_historicalrefundticket")
            c.execute("UPDATE refunds_refundticket SET state = 'refunded', audit_head = ''"
                      " WHERE reference LIKE %s AND state <> 'refunded'", [PREFIX + "%"])
            c.execute("UPDATE refunds_payoutattempt SET updated_at = now() - interval '1 day'")
        c.execute("UPDATE refunds_payoutattempt SET updated_at = now() - interval '30 days'"
                  " WHERE ticket_id IN (SELECT id FROM refunds_refundticket WHERE reference = ANY(%s))",
                  [[f"{PREFIX}{g:010d}" for g in sorted(missing)]])
        c.execute("ANALYZE refunds_refundticket")
        c.execute("ANALYZE refunds_payoutattempt")


def _statement(n: int, missing, mismatch, duplicate, unexpected: int) -> bytes:
    """Stripe balance-transaction CSV for all tickets but the missing ones, with the injected breaks."""
    out = ["id,type,source,amount,fee,net,currency,created,description,payment_intent,refund_reference"]
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 20 * 3600))
    append = out.append
    for g in range(1, n + 1):
        if g in missing:
            continue
        minor = _amount(g) - (500 if g in mismatch else 0)
        amount = f"-{minor // 100}.{minor % 100:02d}"
        row = f"txn_{g},refund,re_{g},{amount},0.00,{amount},usd,{created},,bpi_{g},{PREFIX}{g:010d}"
        append(row)
        if g in duplicate:
            append(f"txn_{g}_dup,refund,re_{g},{amount},0.00,{amount},usd,{created},,bpi_{g},{PREFIX}{g:010d}")
    for k in range(unexpected):
        minor = 9_000_000 + 13 * k
        amount = f"-{minor // 100}.{minor % 100:02d}"
        append(f"txn_x{k},refund,re_x{k},{amount},0.00,{amount},usd,{created},,bpi_x{k},")
    return ("\n".join(out) + "\n").encode()


def _ledger(n: int) -> bytes:
    out = ["entry_id,booked_at,account,reference,gateway_refund_id,payment_ref,type,currency,debit,credit,memo"]
    booked = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 20 * 3600))
    for g in range(1, n + 1):
        minor = _amount(g)
        out.append(f"je_{g},{booked},2100,{PREFIX}{g:010d},re_{g},bpi_{g},refund,USD,,"
                   f"{minor // 100}.{minor % 100:02d},refund")
    return ("\n".join(out) + "\n").encode()


def _backend_peak_kb() -> int | None:
    """Peak RSS of this connection's PostgreSQL backend (VmHWM), when it runs on this machine."""
    from django.db import connection

    with connection.cursor() as c:
        c.execute("SELECT pg_backend_pid()")
        pid = c.fetchone()[0]
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main() -> dict:
    _setup_django()
    from django.utils import timezone

    from reconciliation.models import MatchRun, ReconException
    from reconciliation.services import execute_run, import_file, reconcile_tickets
    from refunds.actors import Actor

    n = int(os.environ.get("RECON_BENCH_N", "1000000"))
    with_ledger = os.environ.get("RECON_BENCH_LEDGER") == "1"
    apply = int(os.environ.get("RECON_BENCH_APPLY", "0") or 0)  # how many matched tickets to reconcile
    step = 200  # every 200th ticket: 0.5 %
    missing = set(range(7, n + 1, step))
    mismatch = set(range(101, n + 1, step))
    duplicate = set(range(53, n + 1, 500))  # 0.2 %
    unexpected = max(5, n // 200)  # 5,000 at 1M
    assert not (missing & mismatch or missing & duplicate or mismatch & duplicate)

    print(f"recon_1m: {n:,} tickets, statement with {len(missing):,} missing, {len(mismatch):,} amount"
          f" mismatches, {len(duplicate):,} duplicates, {unexpected:,} unexpected lines", flush=True)
    _ensure_database()
    _prepare_tickets(n, missing)
    statement = _statement(n, missing, mismatch, duplicate, unexpected)
    ledger = _ledger(n) if with_ledger else None
    print(f"  statement: {len(statement) / 1e6:.0f} MB" + (f", ledger {len(ledger) / 1e6:.0f} MB" if ledger else ""),
          flush=True)

    t0 = time.perf_counter()
    record = import_file(data=statement, format="stripe", filename="bench.csv", max_bytes=1 << 31)
    assert record.status == "imported", record.errors[:5]
    if ledger:
        ledger_record = import_file(data=ledger, format="ledger", filename="bench-ledger.csv", max_bytes=1 << 31)
        assert ledger_record.status == "imported", ledger_record.errors[:5]
    t_import = time.perf_counter() - t0
    del statement, ledger

    run = MatchRun.objects.create(as_of=timezone.now(), three_way=with_ledger, apply_outcomes=False)
    t1 = time.perf_counter()
    run = execute_run(run.pk)
    t_match = time.perf_counter() - t1
    total = t_import + t_match

    # Exactness: every injected discrepancy, and nothing else.
    refs = lambda ids: {f"{PREFIX}{g:010d}" for g in ids}  # noqa: E731
    found: dict[str, set] = {}
    for kind, ref, gref in ReconException.objects.values_list("type", "ticket__reference", "line__gateway_refund_id"):
        found.setdefault(kind, set()).add(ref or gref)
    expected = {
        "missing_on_statement": refs(missing),
        "amount_mismatch": refs(mismatch),
        "duplicate": refs(duplicate),
        "unexpected_statement_line": {f"re_x{k}" for k in range(unexpected)},
    }
    if with_ledger:
        expected["missing_in_ledger"] = set()
    exact = {kind: found.get(kind, set()) == want for kind, want in expected.items()}
    extra = sorted(set(found) - set(expected))
    ok = all(exact.values()) and not extra
    ready = run.counts.get("ready_to_reconcile", 0)
    clean = n - len(missing) - len(mismatch) - len(duplicate)
    ok = ok and ready == clean

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = _backend_peak_kb()
    result = {
        "tickets": n, "statement_lines": record.line_count, "ledger": with_ledger,
        "import_s": round(t_import, 2), "match_s": round(t_match, 2), "import_plus_match_s": round(total, 2),
        "peak_rss_mb_python": round(rss_mb), "peak_rss_mb_postgres_backend": round(backend / 1024) if backend else None,
        "ready_to_reconcile": ready, "exceptions": {k: len(v) for k, v in found.items()},
        "exact": ok, "budget_ok": ok and total <= 60 and rss_mb <= 2048,
    }
    if apply:
        from django.db import connection

        with connection.cursor() as c:
            c.execute("SELECT t.id FROM refunds_refundticket t WHERE t.state = 'refunded' AND NOT EXISTS (SELECT 1"
                      " FROM reconciliation_reconexception r WHERE r.ticket_id = t.id) AND EXISTS (SELECT 1 FROM"
                      " reconciliation_matchlink ml WHERE ml.ticket_id = t.id)")
            ids = [row[0] for row in c.fetchall()][:apply]
        t2 = time.perf_counter()
        result["reconciled"] = reconcile_tickets(ids, actor=Actor.system(), run=run)
        result["apply_s"] = round(time.perf_counter() - t2, 2)
        result["apply_tickets_per_s"] = round(result["reconciled"] / result["apply_s"]) if result["apply_s"] else None
    for key, value in result.items():
        print(f"  {key}: {value}")
    if not ok:
        print("  MISMATCH: " + ", ".join(k for k, v in exact.items() if not v) + (f" extra={extra}" if extra else ""))
    return result


if __name__ == "__main__":
    outcome = main()
    sys.exit(0 if outcome["exact"] else 1)
