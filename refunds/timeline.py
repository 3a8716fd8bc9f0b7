"""A ticket's full timeline for the ops page: log entries, history diffs and SLA events, merged by time.

A fixed number of queries whatever the length of the history (each source is read once).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from refunds.lifecycle import TRANSITIONS, State
from refunds.models import RefundTicket, SlaEvent
from refunds.models.audit import LogKind

# Fields whose changes the other sources already tell (state → log; SLA figures → SLA events).
HISTORY_SKIP = {"updated_at", "state", "stage_due_at", "due_at", "statutory_due_at", "sla_status",
                "paused_seconds", "held_from", "info_requested", "policy_version"}


@dataclass
class Entry:
    at: datetime
    source: str          # "log", "history" or "sla"
    kind: str
    title: str
    actor: str = ""
    text: str = ""
    changes: list = field(default_factory=list)
    customer_visible: bool = False


def _state_label(value: str) -> str:
    try:
        return str(State(value).label)
    except ValueError:
        return value


def ticket_timeline(ticket: RefundTicket) -> list[Entry]:
    entries: list[Entry] = []
    for row in ticket.log.all().order_by("seq"):
        if row.kind == LogKind.TRANSITION:
            spec = TRANSITIONS.get(row.transition)
            title = str(spec.label) if spec else (_("Created") if row.transition == "create" else row.transition)
            if row.from_state or row.to_state:
                title += f" · {_state_label(row.from_state) if row.from_state else '∅'} → {_state_label(row.to_state)}"
        else:
            title = str(LogKind(row.kind).label)
        entries.append(Entry(at=row.at, source="log", kind=row.kind, title=title, actor=row.actor_label,
                             text=row.comment, customer_visible=row.customer_visible))
    records = list(ticket.history.select_related("history_user").order_by("history_date", "history_id"))
    for older, newer in zip(records, records[1:], strict=False):
        delta = newer.diff_against(older, excluded_fields=HISTORY_SKIP)
        changes = [(c.field, c.old, c.new) for c in delta.changes]
        if changes:
            entries.append(Entry(at=newer.history_date, source="history", kind="change", title=_("Fields changed"),
                                 actor=newer.history_user.get_username() if newer.history_user else "",
                                 changes=changes, text=newer.history_change_reason or ""))
    for event in SlaEvent.objects.filter(ticket=ticket).select_related("clock").order_by("at", "pk"):
        clock = event.clock
        what = clock.get_stage_display() if clock.stage else clock.get_kind_display()
        title = f"SLA · {what} #{clock.visit} · {event.get_kind_display()}"
        entries.append(Entry(at=event.at, source="sla", kind=event.kind, title=title,
                             text=event.get_reason_display() if event.reason else ""))
    entries.sort(key=lambda e: e.at)
    return entries
