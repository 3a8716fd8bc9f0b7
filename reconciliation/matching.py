# ruff: noqa: S608 -- SQL is assembled only from constants in this module; values go as parameters.
"""The set-based matching engine (SPEC §9): SQL joins over whole sets, never one query per line.

A run works in session-local TEMP tables (they survive between the run's transactions and vanish
with the connection):

- `rt`: what we paid — one row per refunded ticket's succeeded payout attempt, amounts converted
  to integer minor units in SQL;
- `rl`: the side being matched (statement, then ledger) — unmatched refund/reversal/chargeback lines,
  refund amounts as positive outflows;
- `grp`: one row per group of tickets and lines that share a key, with sums and a verdict.

Passes, in priority order, each only on what earlier passes left: gateway refund id, our reference,
gateway payment id + amount + currency; then a tolerance pass on the residue (same currency, amount
within the channel's absolute tolerance in minor units, booked inside the settlement window) that
auto-matches only a pair unique on both sides and proposes the rest. A group may hold several lines
for one ticket (split refund) or several tickets for one line (batched payout): sums are compared.

Every write (matches, links, line status, exceptions and their history rows) happens in one
transaction at the end; progress is committed between passes so the screen can show it.
"""

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from refunds.actors import system_user
from refunds.money import _EXPONENT_EXCEPTIONS

from . import pgtuning
from .models import Kind, MatchRun, RunStatus

logger = logging.getLogger(__name__)

# Business days are turned into calendar days with a weekend cushion; plus a fixed grace.
STATEMENT_GRACE_DAYS = 2
LEDGER_GRACE_DAYS = 2
EXCEPTION_SLA_DAYS = 3
WINDOW_BEFORE_DAYS = 1
RUN_LOCK_KEY = 720_108  # pg_advisory_lock key that serialises matching runs


def _mult_sql(col: str) -> str:
    groups: dict[int, list[str]] = {}
    for code, exp in _EXPONENT_EXCEPTIONS.items():
        groups.setdefault(10**exp, []).append(code)
    whens = " ".join(
        f"WHEN {col} IN ({', '.join(repr(c) for c in sorted(codes))}) THEN {mult}" for mult, codes in groups.items())
    return f"(CASE {whens} ELSE 100 END)"


def _epoch(col: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {col}) AS BIGINT)"
    return f"CAST(strftime('%%s', {col}) AS INTEGER)"


def calendar_days(business_days: int) -> int:
    return business_days + 2 * ((business_days + 4) // 5)


@dataclass
class Outcome:
    counts: dict = field(default_factory=dict)
    reconcile_ids: list[int] = field(default_factory=list)


class Engine:
    def __init__(self, run: MatchRun):
        self.run = run
        self.as_of = run.as_of
        self.cursor = None
        self.counts: dict[str, int] = {}

    # --- helpers -----------------------------------------------------------------------------------
    def sql(self, statement: str, params=()) -> int:
        started = time.perf_counter()
        self.cursor.execute(statement, params)
        logger.debug("%.3fs %s", time.perf_counter() - started, statement[:120])
        return self.cursor.rowcount

    def scalar(self, statement: str, params=()):
        self.cursor.execute(statement, params)
        row = self.cursor.fetchone()
        return row[0] if row else None

    def progress(self, phase: str, done: int) -> None:
        self.run.phase = phase
        self.run.rows_done = min(done, self.run.rows_total)
        MatchRun.objects.filter(pk=self.run.pk).update(phase=phase, rows_done=self.run.rows_done)

    def drop(self) -> None:
        for name in ("rt", "rl", "grp", "cfg", "cand", "offs", "exc", "lk", "lst", "gid", "lopen"):
            self.sql(f"DROP TABLE IF EXISTS {name}")

    # --- run ---------------------------------------------------------------------------------------
    def execute(self) -> Outcome:
        with connection.cursor() as cursor:
            self.cursor = cursor
            pgtuning.tune(cursor)
            if connection.vendor == "postgresql":
                # One run at a time across all workers: a second run waits, then sees the first one's links
                # (two runs reading the same open lines concurrently would both match them).
                self.sql("SELECT pg_advisory_lock(%s)", [RUN_LOCK_KEY])
            try:
                self.drop()
                if connection.vendor == "postgresql" and os.environ.get("RECON_EXPLAIN"):
                    self.sql("LOAD 'auto_explain'")
                    self.sql("SET auto_explain.log_min_duration = 300")
                    self.sql("SET auto_explain.log_analyze = on")
                self.load_config()
                self.load_tickets()
                sides = [Kind.STATEMENT] + ([Kind.LEDGER] if self.run.three_way else [])
                lines_total = self.scalar(
                    "SELECT COUNT(*) FROM reconciliation_statementline WHERE status = 'unmatched' AND NOT EXISTS"
                    " (SELECT 1 FROM reconciliation_matchlink ml WHERE ml.line_id = reconciliation_statementline.id)"
                    " AND kind IN ("
                    + ", ".join(f"'{s}'" for s in sides) + ")")
                tickets = self.scalar("SELECT COUNT(*) FROM rt")
                self.run.rows_total = lines_total + tickets * len(sides)
                MatchRun.objects.filter(pk=self.run.pk).update(rows_total=self.run.rows_total)
                self.sql("CREATE TEMP TABLE grp (side VARCHAR(10), pass_name VARCHAR(20), k VARCHAR(250),"
                         " status VARCHAR(10), exc VARCHAR(30), nt INTEGER, nx INTEGER, st BIGINT, sx BIGINT,"
                         " cur VARCHAR(3), chan BIGINT, tid BIGINT, lid BIGINT)")
                self.sql("CREATE TEMP TABLE exc (type VARCHAR(30), dkey VARCHAR(120), tid BIGINT, lid BIGINT,"
                         " chan BIGINT, cur VARCHAR(3), expected BIGINT, actual BIGINT, detail TEXT)")
                self.sql("CREATE TEMP TABLE lk (side VARCHAR(10), lid BIGINT, k VARCHAR(250))")
                self.sql("CREATE TEMP TABLE lopen (imp BIGINT, n BIGINT)")
                done = 0
                for side in sides:
                    done = self.match_side(side, done)
                self.special_lines()
                with transaction.atomic():
                    self.write(sides)
                reconcile_ids = self.ready_tickets(sides)
            finally:
                self.drop()
                pgtuning.reset(cursor)
                if connection.vendor == "postgresql":
                    self.sql("SELECT pg_advisory_unlock(%s)", [RUN_LOCK_KEY])
        return Outcome(counts=self.counts, reconcile_ids=reconcile_ids)

    def load_config(self) -> None:
        """Per-channel tolerance and the cut-off before which a payout is overdue on each side."""
        from refunds.models import Channel

        self.sql("CREATE TEMP TABLE cfg (chan BIGINT, tol BIGINT, cut_s BIGINT, cut_l BIGINT, win BIGINT)")
        now = int(self.as_of.timestamp())
        rows = []
        for channel in Channel.objects.all():
            days = calendar_days(channel.settlement_days_max)
            rows.append((channel.pk, channel.reconciliation_tolerance_minor,
                         now - (days + STATEMENT_GRACE_DAYS) * 86400, now - LEDGER_GRACE_DAYS * 86400,
                         (days + STATEMENT_GRACE_DAYS) * 86400))
        if rows:
            self.cursor.executemany("INSERT INTO cfg VALUES (%s, %s, %s, %s, %s)", rows)
        self.analyze("cfg")
        max_tol = max([r[1] for r in rows] or [0])
        self.sql("CREATE TEMP TABLE offs (d BIGINT)")
        self.cursor.executemany("INSERT INTO offs VALUES (%s)", [(d,) for d in range(-max_tol, max_tol + 1)])

    def load_tickets(self) -> None:
        scope, params = "", []
        if self.run.channel_id:
            scope, params = " AND pa.channel_id = %s", [self.run.channel_id]
        self.sql(
            "CREATE TEMP TABLE rt AS SELECT t.id AS tid, t.reference AS ref, pa.gateway_refund_id AS gref,"
            " p.payment_ref AS pref, t.payment_id AS pay,"
            f" CAST(ROUND(pa.amount * {_mult_sql('pa.currency')}) AS BIGINT) AS amt, pa.currency AS cur,"
            " pa.channel_id AS chan, " + _epoch("pa.updated_at") + " AS ts,"
            " CASE WHEN t.currency <> pa.currency THEN 1 ELSE 0 END AS fx,"
            " CASE WHEN EXISTS (SELECT 1 FROM reconciliation_matchlink ml WHERE ml.ticket_id = t.id"
            "   AND ml.side = 'statement') THEN 1 ELSE 0 END AS s_done,"
            " CASE WHEN EXISTS (SELECT 1 FROM reconciliation_matchlink ml WHERE ml.ticket_id = t.id"
            "   AND ml.side = 'ledger') THEN 1 ELSE 0 END AS l_done,"
            " CAST(NULL AS VARCHAR(250)) AS k_statement, CAST(NULL AS VARCHAR(250)) AS k_ledger"
            " FROM refunds_refundticket t"
            " JOIN refunds_payoutattempt pa ON pa.ticket_id = t.id AND pa.status = 'succeeded'"
            " JOIN refunds_payment p ON p.id = t.payment_id"
            " WHERE t.state = 'refunded'" + scope, params)
        if connection.vendor == "postgresql":
            self.sql("ANALYZE rt")

    def load_lines(self, side: str, types: tuple[str, ...] | None = None) -> None:
        scope, params = "", [side]
        if types:
            scope += " AND l.line_type IN (" + ", ".join(f"'{t}'" for t in types) + ")"
        if self.run.channel_id and side == Kind.STATEMENT:
            scope += (" AND l.statement_import_id IN (SELECT id FROM reconciliation_statementimport"
                     " WHERE channel_id = %s)")
            params.append(self.run.channel_id)
        self.sql("DROP TABLE IF EXISTS rl")
        # Only imports that still have open lines: a fully worked file is never read again.
        self.sql(
            "CREATE TEMP TABLE rl AS SELECT l.id AS lid, l.statement_import_id AS imp,"
            " l.gateway_refund_id AS gref, l.reference AS ref,"
            " l.payment_ref AS pref, CASE WHEN l.line_type = 'refund' THEN -l.gross ELSE l.gross END AS amt,"
            " l.fee AS fee, l.currency AS cur, " + _epoch("l.booked_at") + " AS ts, l.line_type AS ltype,"
            " CAST(NULL AS VARCHAR(250)) AS k"
            " FROM reconciliation_statementline l WHERE l.kind = %s AND l.status = 'unmatched'"
            " AND l.statement_import_id IN (SELECT id FROM reconciliation_statementimport WHERE open_lines > 0)"
            " AND NOT EXISTS (SELECT 1 FROM reconciliation_matchlink ml WHERE ml.line_id = l.id)" + scope, params)
        if connection.vendor == "postgresql":
            self.sql("ANALYZE rl")

    # --- passes ------------------------------------------------------------------------------------
    def match_side(self, side: str, done: int) -> int:
        self.load_lines(side)
        n_lines = self.scalar("SELECT COUNT(*) FROM rl")
        tk = f"k_{side}"
        flag = "s_done" if side == Kind.STATEMENT else "l_done"
        passes = [
            ("refund_id", "g:", "rt.gref", "rl.gref", "rt.gref <> ''", "rl.gref <> ''"),
            ("reference", "r:", "rt.ref", "rl.ref", "rt.ref <> ''", "rl.ref <> ''"),
            ("payment_amount", "p:", "rt.pref || '|' || CAST(rt.amt AS VARCHAR(30)) || '|' || rt.cur",
             "rl.pref || '|' || CAST(rl.amt AS VARCHAR(30)) || '|' || rl.cur", "rt.pref <> ''", "rl.pref <> ''"),
        ]
        for index, (name, prefix, tkey, lkey, tcond, lcond) in enumerate(passes):
            self.key_pass(side, name, prefix, tkey, lkey, tcond, lcond, tk, flag)
            self.progress(f"{side}: {name}", done + (n_lines * (index + 1)) // 4)
        self.tolerance_pass(side, tk, flag)
        done += n_lines + self.scalar("SELECT COUNT(*) FROM rt")
        self.progress(f"{side}: tolerance", done)
        self.residue(side, tk, flag)
        self.sql("INSERT INTO lk (side, lid, k) SELECT %s, lid, k FROM rl WHERE k IS NOT NULL", [side])
        # Refund lines still open after this side (waiting on a proposal, or lines a channel-scoped run may
        # not judge), per import; reversal and chargeback lines are always settled by special_lines().
        self.sql("INSERT INTO lopen (imp, n) SELECT imp, SUM(CASE WHEN ltype = 'refund' AND k IS NULL AND lid NOT IN"
                 " (SELECT lid FROM exc WHERE lid IS NOT NULL) THEN 1 ELSE 0 END) FROM rl GROUP BY imp")
        return done

    def key_pass(self, side, name, prefix, tkey, lkey, tcond, lcond, tk, flag) -> None:
        """Group unmatched tickets and refund lines by one key; every key present on both sides is a group."""
        self.sql(
            f"UPDATE rt SET {tk} = %s || {tkey.replace('rt.', '')} WHERE {flag} = 0 AND {tk} IS NULL"
            f" AND {tcond.replace('rt.', '')}"
            f" AND {tkey.replace('rt.', '')} IN (SELECT {lkey.replace('rl.', '')} FROM rl"
            f"   WHERE k IS NULL AND ltype = 'refund' AND {lcond.replace('rl.', '')})", [prefix])
        self.analyze("rt")
        self.sql(
            f"UPDATE rl SET k = %s || {lkey.replace('rl.', '')} WHERE k IS NULL AND ltype = 'refund'"
            f" AND {lcond.replace('rl.', '')} AND %s || {lkey.replace('rl.', '')} IN"
            f"   (SELECT {tk} FROM rt WHERE {tk} IS NOT NULL AND {tk} LIKE %s)", [prefix, prefix, prefix + "%"])
        self.classify(side, name, f"{tk} LIKE %s", [prefix + "%"], "k LIKE %s", [prefix + "%"], tk)

    def analyze(self, *tables) -> None:
        """Fresh planner statistics after a bulk UPDATE (a stale estimate turns hash joins into nested loops)."""
        if connection.vendor == "postgresql":
            for table in tables:
                self.sql(f"ANALYZE {table}")

    def classify(self, side, name, tfilter, tparams, lfilter, lparams, tk) -> None:
        """One grp row per key with the verdict: matched within tolerance, or a typed exception."""
        self.analyze("rt", "rl")
        self.sql(
            "INSERT INTO grp (side, pass_name, k, status, exc, nt, nx, st, sx, cur, chan, tid, lid)"
            " SELECT %s, %s, t.k, CASE WHEN t.verdict = '' THEN 'matched' ELSE 'exception' END, t.verdict,"
            " t.nt, t.nx, t.st, t.sx, t.cur, t.chan, t.tid, t.lid FROM ("
            "  SELECT a.k, a.nt, b.nx, a.st, b.sx, a.cur, a.chan, a.tid, b.lid,"
            "  CASE"
            "   WHEN a.cmin <> a.cmax OR b.cmin <> b.cmax OR a.cur <> b.cmin THEN 'currency_mismatch'"
            "   WHEN ABS(a.st - b.sx) <= c.tol THEN ''"
            "   WHEN a.nt = 1 AND b.nx > 1 AND ABS(b.amin - a.st) <= c.tol AND ABS(b.amax - a.st) <= c.tol"
            "     THEN 'duplicate'"
            "   WHEN a.fx = 1 THEN 'fx_difference'"
            "   WHEN b.sfee <> 0 AND ABS(ABS(b.sx - a.st) - ABS(b.sfee)) <= c.tol THEN 'fee_difference'"
            "   ELSE 'amount_mismatch' END AS verdict"
            f"  FROM (SELECT {tk} AS k, COUNT(*) AS nt, SUM(amt) AS st, MIN(cur) AS cur, MIN(cur) AS cmin,"
            "         MAX(cur) AS cmax, MAX(fx) AS fx, MIN(chan) AS chan, MIN(tid) AS tid"
            f"        FROM rt WHERE {tfilter} GROUP BY {tk}) a"
            "  JOIN (SELECT k, COUNT(*) AS nx, SUM(amt) AS sx, MIN(cur) AS cmin, MAX(cur) AS cmax,"
            "        MIN(amt) AS amin, MAX(amt) AS amax, SUM(fee) AS sfee, MIN(lid) AS lid"
            f"        FROM rl WHERE {lfilter} GROUP BY k) b ON b.k = a.k"
            "  JOIN cfg c ON c.chan = a.chan) t",
            [side, name, *tparams, *lparams])

    def tolerance_pass(self, side, tk, flag) -> None:
        """Residue only: same currency, |difference| ≤ channel tolerance, booked inside the window."""
        self.sql("DROP TABLE IF EXISTS cand")
        self.sql(
            "CREATE TEMP TABLE cand AS SELECT rt.tid, rl.lid, o.d AS diff, rt.chan, rt.cur, rt.amt AS tamt,"
            " rl.amt AS lamt FROM rt JOIN cfg c ON c.chan = rt.chan"
            " JOIN offs o ON ABS(o.d) <= c.tol"
            " JOIN rl ON rl.cur = rt.cur AND rl.amt = rt.amt + o.d"
            f" WHERE rt.{flag} = 0 AND rt.{tk} IS NULL AND rl.k IS NULL AND rl.ltype = 'refund'"
            f" AND rl.ts >= rt.ts - {WINDOW_BEFORE_DAYS * 86400} AND rl.ts <= rt.ts + c.win"
            " AND NOT EXISTS (SELECT 1 FROM reconciliation_proposal p WHERE p.ticket_id = rt.tid"
            "   AND p.line_id = rl.lid AND p.status = 'rejected')")
        unique = (" FROM cand WHERE tid IN (SELECT tid FROM cand GROUP BY tid HAVING COUNT(*) = 1)"
                  " AND lid IN (SELECT lid FROM cand GROUP BY lid HAVING COUNT(*) = 1)")
        self.sql(f"UPDATE rt SET {tk} = 't:' || CAST(tid AS VARCHAR(30)) WHERE tid IN (SELECT tid {unique})")
        self.sql("UPDATE rl SET k = (SELECT 't:' || CAST(c.tid AS VARCHAR(30)) FROM cand c WHERE c.lid = rl.lid)"
                 f" WHERE lid IN (SELECT lid {unique})")
        self.classify(side, "tolerance", f"{tk} LIKE %s", ["t:%"], "k LIKE %s", ["t:%"], tk)
        # Ambiguous pairs become proposals (a rejected pair was excluded above and never comes back).
        self.sql(
            "INSERT INTO reconciliation_proposal (run_id, ticket_id, line_id, difference_minor, status)"
            " SELECT %s, c.tid, c.lid, c.diff, 'proposed' FROM cand c"
            f" WHERE c.tid NOT IN (SELECT tid {unique})"
            " AND NOT EXISTS (SELECT 1 FROM reconciliation_proposal p WHERE p.ticket_id = c.tid AND p.line_id = c.lid)",
            [self.run.pk])
        self.counts["proposals"] = self.counts.get("proposals", 0) + self.cursor.rowcount

    def residue(self, side, tk, flag) -> None:
        """Tickets not found: overdue → missing, else pending. Lines not explained: duplicate or unexpected."""
        missing = "missing_on_statement" if side == Kind.STATEMENT else "missing_in_ledger"
        cut = "cut_s" if side == Kind.STATEMENT else "cut_l"
        self.sql(
            "INSERT INTO exc (type, dkey, tid, lid, chan, cur, expected, actual, detail)"
            f" SELECT %s, %s || CAST(rt.tid AS VARCHAR(30)), rt.tid, NULL, rt.chan, rt.cur, rt.amt, NULL, ''"
            f" FROM rt JOIN cfg c ON c.chan = rt.chan WHERE rt.{flag} = 0 AND rt.{tk} IS NULL AND rt.ts < c.{cut}"
            " AND rt.tid NOT IN (SELECT tid FROM cand)",  # a proposed pair waits for finance's decision
            [missing, f"{missing}:t"])
        self.counts[missing] = self.counts.get(missing, 0) + self.cursor.rowcount
        self.counts[f"pending_{side}"] = self.scalar(
            f"SELECT COUNT(*) FROM rt JOIN cfg c ON c.chan = rt.chan WHERE rt.{flag} = 0 AND rt.{tk} IS NULL"
            f" AND rt.ts >= c.{cut}")
        if self.run.channel_id and side == Kind.LEDGER:
            return  # ledger lines have no channel: only an all-channel run may call them unexpected
        unexpected = "unexpected_statement_line" if side == Kind.STATEMENT else "unexpected_ledger_line"
        known = (" (rl.gref <> '' AND EXISTS (SELECT 1 FROM refunds_payoutattempt pa"
                 "   WHERE pa.gateway_refund_id = rl.gref AND pa.status = 'succeeded'))"
                 " OR (rl.ref <> '' AND EXISTS (SELECT 1 FROM refunds_refundticket t WHERE t.reference = rl.ref"
                 "   AND t.state IN ('refunded', 'reconciled')))")
        self.sql(
            "INSERT INTO exc (type, dkey, tid, lid, chan, cur, expected, actual, detail)"
            " SELECT CASE WHEN" + known + " THEN 'duplicate' ELSE %s END,"
            " CASE WHEN" + known + " THEN 'duplicate:l' ELSE %s END || CAST(rl.lid AS VARCHAR(30)),"
            " NULL, rl.lid, NULL, rl.cur, NULL, rl.amt, %s FROM rl WHERE rl.k IS NULL AND rl.ltype = 'refund'"
            " AND rl.lid NOT IN (SELECT lid FROM cand)",
            [unexpected, f"{unexpected}:l", side])

    def special_lines(self) -> None:
        """Reversals of refunds we count as succeeded, and chargebacks on payments we also refunded."""
        self.load_lines(Kind.STATEMENT, types=("reversal", "chargeback"))
        self.sql(
            "INSERT INTO exc (type, dkey, tid, lid, chan, cur, expected, actual, detail)"
            " SELECT 'reversed_after_success', 'reversed_after_success:l' || CAST(rl.lid AS VARCHAR(30)),"
            " rt.tid, rl.lid, rt.chan, rl.cur, rt.amt, rl.amt, '' FROM rl JOIN rt ON rt.gref = rl.gref"
            " WHERE rl.ltype = 'reversal' AND rl.gref <> ''")
        self.sql(
            "INSERT INTO exc (type, dkey, tid, lid, chan, cur, expected, actual, detail)"
            " SELECT 'refund_plus_chargeback', 'refund_plus_chargeback:l' || CAST(rl.lid AS VARCHAR(30)),"
            " MIN(rt.tid), rl.lid, MIN(rt.chan), rl.cur, SUM(rt.amt), MIN(rl.amt), 'statement' FROM rl"
            " JOIN rt ON rt.pref = rl.pref WHERE rl.ltype = 'chargeback' AND rl.pref <> ''"
            " GROUP BY rl.lid, rl.cur")
        # Disputes registered on our side (webhooks/API) against payments we refunded as well.
        self.sql(
            "INSERT INTO exc (type, dkey, tid, lid, chan, cur, expected, actual, detail)"
            " SELECT 'refund_plus_chargeback', 'refund_plus_chargeback:d' || CAST(d.id AS VARCHAR(30)),"
            " MIN(rt.tid), NULL, MIN(rt.chan), d.currency, SUM(rt.amt), NULL, 'dispute' FROM refunds_dispute d"
            " JOIN rt ON rt.pay = d.payment_id WHERE d.status IN ('open', 'lost') GROUP BY d.id, d.currency")
        self.sql("UPDATE rl SET k = 'x' WHERE lid IN (SELECT lid FROM exc WHERE lid IS NOT NULL)")
        self.sql("UPDATE rl SET k = 'i' WHERE k IS NULL AND ltype IN ('reversal', 'chargeback')")
        self.sql("INSERT INTO lk (side, lid, k) SELECT 'statement', lid, k FROM rl WHERE k = 'i'")

    # --- writing -----------------------------------------------------------------------------------
    def write(self, sides) -> None:
        run_id = self.run.pk
        now = timezone.now()
        self.analyze("rt", "lk", "grp", "exc")
        # Group-level exceptions (amount/currency/fee/fx/duplicate) name the group's first ticket and line.
        self.sql(
            "INSERT INTO exc (type, dkey, tid, lid, chan, cur, expected, actual, detail)"
            " SELECT exc, exc || ':' || side || ':t' || CAST(tid AS VARCHAR(30)), tid, lid, chan, cur, st, sx, side"
            " FROM grp WHERE status = 'exception'")
        # Match ids are handed out here (table locked, ids after the current maximum), so links are
        # written by joining temp tables only — no lookup index on the big match table.
        if connection.vendor == "postgresql":
            self.sql("LOCK TABLE reconciliation_match IN EXCLUSIVE MODE")
        base = self.scalar("SELECT COALESCE(MAX(id), 0) FROM reconciliation_match")
        self.sql("CREATE TEMP TABLE gid AS SELECT side, k, status, pass_name, st, sx, cur, nt, nx,"
                 " %s + ROW_NUMBER() OVER () AS mid FROM grp", [base])
        self.analyze("gid")
        self.sql(
            "INSERT INTO reconciliation_match (id, run_id, side, pass_name, key, status, ticket_total, line_total,"
            " currency, created_at) SELECT mid, %s, side, pass_name, k, status, st, sx, cur, %s FROM gid",
            [run_id, now])
        if connection.vendor == "postgresql":
            self.sql("SELECT setval(pg_get_serial_sequence('reconciliation_match', 'id'),"
                     " (SELECT MAX(id) FROM reconciliation_match))")
        self.counts["matched_groups"] = self.scalar("SELECT COUNT(*) FROM grp WHERE status = 'matched'")
        self.counts["exception_groups"] = self.scalar("SELECT COUNT(*) FROM grp WHERE status = 'exception'")
        # A one-to-one match (the usual case) is one link row carrying the ticket and the line; the members of
        # one-to-many and many-to-one groups get a row each.
        for side in sides:
            tk = f"k_{side}"
            self.sql(
                "INSERT INTO reconciliation_matchlink (match_id, ticket_id, line_id, side)"
                f" SELECT g.mid, rt.tid, lk.lid, %s FROM gid g JOIN rt ON rt.{tk} = g.k"
                "  JOIN lk ON lk.side = g.side AND lk.k = g.k WHERE g.side = %s AND g.nt = 1 AND g.nx = 1",
                [side, side])
            self.sql(
                "INSERT INTO reconciliation_matchlink (match_id, ticket_id, line_id, side)"
                f" SELECT g.mid, rt.tid, NULL, %s FROM rt JOIN gid g ON g.side = %s AND g.k = rt.{tk}"
                f" WHERE rt.{tk} IS NOT NULL AND NOT (g.nt = 1 AND g.nx = 1)", [side, side])
        self.sql(
            "INSERT INTO reconciliation_matchlink (match_id, ticket_id, line_id, side)"
            " SELECT g.mid, NULL, lk.lid, lk.side FROM lk JOIN gid g ON g.side = lk.side AND g.k = lk.k"
            " WHERE NOT (g.nt = 1 AND g.nx = 1)")
        # Flags for lines that are not simply matched: members of exception groups, lines named by an
        # exception, reversal/chargeback lines settled without one.
        self.sql("CREATE TEMP TABLE lst AS SELECT lk.lid, CAST('exception' AS VARCHAR(10)) AS status FROM lk"
                 " JOIN grp g ON g.side = lk.side AND g.k = lk.k AND g.status = 'exception'")
        self.sql("INSERT INTO lst (lid, status) SELECT DISTINCT lid, 'exception' FROM exc WHERE lid IS NOT NULL")
        self.sql("INSERT INTO lst (lid, status) SELECT lid, 'ignored' FROM lk WHERE k = 'i'")
        self.analyze("lst")
        # Matched lines are not rewritten (their MatchLink says so): rewriting a million wide rows costs
        # more than the whole match. Only exceptions and ignored lines get a status.
        self.sql("UPDATE reconciliation_statementline SET status = lst.status FROM lst"
                 " WHERE reconciliation_statementline.id = lst.lid AND lst.status IN ('exception', 'ignored')")
        self.sql("UPDATE reconciliation_statementimport SET open_lines = (SELECT SUM(n) FROM lopen"
                 " WHERE lopen.imp = reconciliation_statementimport.id)"
                 " WHERE id IN (SELECT imp FROM lopen)")
        self.write_exceptions(now)

    def write_exceptions(self, now) -> None:
        due = now + timedelta(days=EXCEPTION_SLA_DAYS)
        user_id = system_user().pk
        params = [self.run.pk, due, now]
        self.sql(
            "INSERT INTO reconciliation_reconexception (type, status, dedupe_key, run_id, channel_id, ticket_id,"
            " line_id, currency, expected_minor, actual_minor, difference_minor, detail, owner_role, due_at,"
            " resolution, note, correction_ref, created_at)"
            " SELECT e.type, 'open', e.dkey, %s, e.chan, e.tid, e.lid, COALESCE(e.cur, ''), e.expected, e.actual,"
            " COALESCE(e.actual, 0) - COALESCE(e.expected, 0), '{}', 'finance', %s, '', '', '', %s"
            " FROM (SELECT type, dkey, MIN(tid) AS tid, MIN(lid) AS lid, MIN(chan) AS chan, MIN(cur) AS cur,"
            "   MIN(expected) AS expected, MIN(actual) AS actual FROM exc GROUP BY type, dkey) e"
            " WHERE NOT EXISTS (SELECT 1 FROM reconciliation_reconexception r WHERE r.dedupe_key = e.dkey"
            "   AND r.status <> 'resolved')", params)
        created = self.cursor.rowcount
        self.counts["exceptions_created"] = created
        for row in self._exception_counts():
            self.counts[f"exc_{row[0]}"] = row[1]
        # History rows for the created exceptions (simple-history's table, written set-based).
        self.sql(
            "INSERT INTO reconciliation_historicalreconexception (id, type, status, dedupe_key, run_id, channel_id,"
            " ticket_id, line_id, match_id, currency, expected_minor, actual_minor, difference_minor, detail,"
            " owner_role, assignee_id, due_at, resolution, note, correction_ref, resolved_by_id, approved_by_id,"
            " resolved_at, created_at, history_date, history_change_reason, history_type, history_user_id)"
            " SELECT id, type, status, dedupe_key, run_id, channel_id, ticket_id, line_id, match_id, currency,"
            " expected_minor, actual_minor, difference_minor, detail, owner_role, assignee_id, due_at, resolution,"
            " note, correction_ref, resolved_by_id, approved_by_id, resolved_at, created_at, %s, %s, '+', %s"
            " FROM reconciliation_reconexception WHERE run_id = %s AND created_at = %s",
            [now, f"found by run #{self.run.pk}", user_id, self.run.pk, now])
        # A ticket now found on a side clears its older "missing" exception for that side.
        self.sql(
            "UPDATE reconciliation_reconexception SET status = 'resolved', resolution = 'auto_cleared',"
            " resolved_at = %s WHERE status = 'open' AND ("
            " (type = 'missing_on_statement' AND ticket_id IN (SELECT tid FROM rt WHERE k_statement IS NOT NULL))"
            " OR (type = 'missing_in_ledger' AND ticket_id IN (SELECT tid FROM rt WHERE k_ledger IS NOT NULL)))",
            [now])
        self.counts["auto_cleared"] = self.cursor.rowcount

    def _exception_counts(self):
        self.cursor.execute("SELECT type, COUNT(DISTINCT dkey) FROM exc GROUP BY type")
        return self.cursor.fetchall()

    def ready_tickets(self, sides) -> list[int]:
        """Tickets cleanly matched on every required side (now or in an earlier run), with no open exception."""
        conditions = " AND ".join(
            "EXISTS (SELECT 1 FROM reconciliation_matchlink ml JOIN reconciliation_match m ON m.id = ml.match_id"
            f" WHERE ml.ticket_id = rt.tid AND ml.side = '{side}' AND m.status IN ('matched', 'manual'))"
            for side in sides)
        self.analyze("rt")
        self.cursor.execute(
            f"SELECT rt.tid FROM rt WHERE {conditions} AND NOT EXISTS (SELECT 1 FROM reconciliation_reconexception r"
            " WHERE r.ticket_id = rt.tid AND r.status <> 'resolved') ORDER BY rt.tid")
        return [row[0] for row in self.cursor.fetchall()]


def run_matching(run: MatchRun) -> Outcome:
    """Match, write the outcome, mark the run; ticket transitions are applied by the caller."""
    MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, started_at=timezone.now(), error="")
    outcome = Engine(run).execute()
    return outcome
