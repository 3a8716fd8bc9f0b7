"""Read paths for the finance screens: a fixed number of aggregate queries, whatever the data size."""

from datetime import timedelta

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from refunds.lifecycle import State
from refunds.models import PayoutAttempt

from .models import ExceptionStatus, Kind, LineType, Match, MatchLink, ReconException, StatementLine

AGING_BUCKETS = [(0, 1, "< 1 d"), (1, 3, "1–3 d"), (3, 7, "3–7 d"), (7, None, "> 7 d")]


def match_rate(days: int = 14):
    """Refunds paid per channel and day, and how many of them are reconciled."""
    since = timezone.now() - timedelta(days=days)
    rows = (PayoutAttempt.objects.filter(status="succeeded", updated_at__gte=since,
                                         ticket__state__in=[State.REFUNDED, State.RECONCILED])
            .annotate(day=TruncDate("updated_at")).values("channel__code", "day")
            .annotate(total=Count("id"), reconciled=Count("id", filter=Q(ticket__state=State.RECONCILED)))
            .order_by("-day", "channel__code"))
    return [{**r, "rate": round(100 * r["reconciled"] / r["total"], 1) if r["total"] else None} for r in rows]


def _minor_sql_sum(qs, field: str):
    return {r["currency"]: r["total"] for r in qs.values("currency").annotate(total=Sum(field))}


def totals_and_bridge():
    """Per currency: tickets paid, statement refunds, ledger refunds, and the bridge from the first to
    the second (not yet on the statement, lines with no ticket, differences inside matched groups)."""
    from refunds.money import to_minor_units

    tickets: dict[str, int] = {}
    for row in (PayoutAttempt.objects.filter(status="succeeded", ticket__state__in=[State.REFUNDED, State.RECONCILED])
                .values("currency").annotate(total=Sum("amount"))):
        tickets[row["currency"]] = to_minor_units(row["total"], row["currency"])
    refunds = StatementLine.objects.filter(line_type=LineType.REFUND)
    statement = {c: -v for c, v in _minor_sql_sum(refunds.filter(kind=Kind.STATEMENT), "gross").items()}
    ledger = {c: -v for c, v in _minor_sql_sum(refunds.filter(kind=Kind.LEDGER), "gross").items()}
    linked_tickets = MatchLink.objects.filter(side=Kind.STATEMENT, ticket__isnull=False).values("ticket_id")
    not_on_statement: dict[str, int] = {}
    for row in (PayoutAttempt.objects.filter(status="succeeded", ticket__state__in=[State.REFUNDED, State.RECONCILED])
                .exclude(ticket_id__in=linked_tickets).values("currency").annotate(total=Sum("amount"))):
        not_on_statement[row["currency"]] = -to_minor_units(row["total"], row["currency"])
    unlinked = {c: -v for c, v in _minor_sql_sum(
        refunds.filter(kind=Kind.STATEMENT).exclude(
            pk__in=MatchLink.objects.filter(line__isnull=False).values("line_id")), "gross").items()}
    group_diff = {r["currency"]: r["d"] for r in Match.objects.filter(side=Kind.STATEMENT).values("currency")
                  .annotate(d=Sum(F("line_total") - F("ticket_total")))}
    currencies = sorted(set(tickets) | set(statement) | set(ledger))
    rows = []
    for cur in currencies:
        t, s = tickets.get(cur, 0), statement.get(cur, 0)
        bridge = [("not_on_statement", not_on_statement.get(cur, 0)), ("lines_without_ticket", unlinked.get(cur, 0)),
                  ("differences_in_matches", group_diff.get(cur, 0) or 0)]
        explained = t + sum(v for _, v in bridge)
        rows.append({"currency": cur, "tickets": t, "statement": s, "ledger": ledger.get(cur, 0), "bridge": bridge,
                     "unexplained": s - explained})
    return rows


def exception_aging():
    now = timezone.now()
    open_ = ReconException.objects.exclude(status=ExceptionStatus.RESOLVED)
    aggregates = {}
    for index, (low, high, _label) in enumerate(AGING_BUCKETS):
        cond = Q(created_at__lte=now - timedelta(days=low))
        if high is not None:
            cond &= Q(created_at__gt=now - timedelta(days=high))
        aggregates[f"b{index}"] = Count("id", filter=cond)
    rows = open_.values("type").annotate(**aggregates, total=Count("id")).order_by("type")
    return [{"type": r["type"], "buckets": [r[f"b{i}"] for i in range(len(AGING_BUCKETS))], "total": r["total"]}
            for r in rows], [label for _, _, label in AGING_BUCKETS]


def exception_list(*, filters: dict, user):
    qs = ReconException.objects.select_related("ticket", "line", "channel", "assignee").order_by("due_at", "pk")
    status = filters.get("status") or "open"
    if status == "open":
        qs = qs.exclude(status=ExceptionStatus.RESOLVED)
    elif status in ExceptionStatus.values:
        qs = qs.filter(status=status)
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    if filters.get("channel"):
        qs = qs.filter(channel__code=filters["channel"])
    if filters.get("assignee") == "me":
        qs = qs.filter(assignee=user)
    elif filters.get("assignee") == "none":
        qs = qs.filter(assignee__isnull=True)
    if filters.get("overdue"):
        qs = qs.filter(due_at__lt=timezone.now())
    return qs
