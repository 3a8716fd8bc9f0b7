"""Read paths of the status page, with a fixed number of queries."""

from dataclasses import dataclass

from refunds.lifecycle import State
from refunds.models import RefundTicket, TransitionLog
from refunds.status_tokens import token_hash

from .progress import TIMELINE_WORDS

CUSTOMER_SOURCES = {"customer", "api"}


def ticket_for_token(token: str) -> RefundTicket | None:
    """The ticket behind a status token (one query), or None. Looked up by the token's SHA-256, so the
    database compares hashes and a near-miss token takes the same path as a wrong one."""
    if not token or len(token) > 100:
        return None
    return (RefundTicket.objects.select_related("channel__fallback_channel", "policy__sla", "feedback")
            .filter(status_token_hash=token_hash(token)).first())


@dataclass
class TimelineEntry:
    at: object
    label: str
    detail: str = ""
    to_state: str = ""


def timeline(ticket: RefundTicket) -> list[TimelineEntry]:
    """Customer-visible log entries, oldest first, in plain words (one query)."""
    from django.utils.translation import gettext_lazy as _

    notes = {"fallback_consent": _("You agreed to receive the refund another way")}
    entries = []
    rows = TransitionLog.objects.filter(ticket=ticket, customer_visible=True).order_by("seq").only(
        "at", "kind", "transition", "to_state", "comment", "data", "actor_kind")
    for row in rows:
        if row.kind == "transition":
            if row.transition == "create":
                label = TIMELINE_WORDS[State.SUBMITTED]
            elif row.transition == "provide_info":
                label = _("Information received, thank you")
            elif row.to_state in State.values:
                label = TIMELINE_WORDS[State(row.to_state)]
            else:
                continue
            # Only the customer's own words are shown (requests from the customer or their shop);
            # staff comments and staff-typed request notes may be internal.
            detail = row.comment if row.transition == "create" and ticket.source in CUSTOMER_SOURCES else ""
        else:
            label = notes.get((row.data or {}).get("customer_event"), "")
            detail = ""
            if not label:
                continue
        entries.append(TimelineEntry(at=row.at, label=label, detail=detail, to_state=row.to_state))
    return entries


def in_app_messages(ticket: RefundTicket, limit: int = 10):
    """The ticket's in-app notifications, newest first (one query)."""
    from notifications.models import ChannelKind, Delivery, DeliveryStatus

    return list(Delivery.objects.filter(ticket=ticket, channel=ChannelKind.IN_APP, status=DeliveryStatus.SENT,
                                        language__in=["en", "zh-hans"])
                .only("body", "created_at", "event").order_by("-created_at")[:limit])


def repeat_inquiry_kpi(since=None, repeat_threshold: int = 3) -> dict:
    """The repeat-inquiry signal for the KPI dashboard: how often customers come back to ask.

    views / lookups per ticket (set-based, two aggregate queries); a ticket counts as a repeat
    inquiry when it was viewed or looked up at least `repeat_threshold` times in the period.
    """
    from django.db.models import Count, Q

    from refunds.models import StatusVisit

    visits = StatusVisit.objects.all()
    if since is not None:
        visits = visits.filter(at__gte=since)
    totals = visits.aggregate(views=Count("pk", filter=Q(kind="view")), lookups=Count("pk", filter=Q(kind="lookup")),
                              tickets=Count("ticket", distinct=True),
                              visitors=Count("visitor", distinct=True))
    repeat = (visits.values("ticket").annotate(n=Count("pk")).filter(n__gte=repeat_threshold).count())
    tickets = totals["tickets"] or 0
    return {**totals, "repeat_tickets": repeat, "repeat_share": (repeat / tickets) if tickets else 0.0}
