"""The ops work queues as named filters over visible tickets (SPEC §11). SQL only, no per-row Python.

Each queue is a Q object built from the actor's roles and the RACI matrix; the queue page counts
them all in one aggregate query and lists one of them, sorted on stored, indexed due times.
"""

from dataclasses import dataclass

from django.db.models import Count, F, Q
from django.utils.translation import gettext_lazy as _

from refunds.actors import Actor
from refunds.lifecycle import ACTIVE_STATES, STATE_STAGE, State
from refunds.models.tickets import SlaStatus
from refunds.raci import Matrix

ACTIVE = Q(state__in=list(ACTIVE_STATES))


@dataclass(frozen=True)
class Queue:
    code: str
    label: str


QUEUES = [
    Queue("mine", _("My work")),
    Queue("team", _("Team queue")),
    Queue("at_risk", _("At risk")),
    Queue("breached", _("Breached")),
    Queue("awaiting", _("Awaiting customer")),
    Queue("on_hold", _("On hold")),
    Queue("failed", _("Failed payouts")),
    Queue("all", _("All refunds")),
]
QUEUE_CODES = {q.code for q in QUEUES}
DEFAULT_QUEUE = "team"


def team_states(actor: Actor, matrix: Matrix) -> list[str]:
    """States whose stage the actor's roles are R or A for (the work their team owns)."""
    return [state for state, stage in STATE_STAGE.items() if actor.roles & matrix.acting_roles(stage)
            and state in ACTIVE_STATES and state != State.AWAITING_CUSTOMER]


def queue_q(code: str, actor: Actor, matrix: Matrix) -> Q:
    if code == "mine":
        return ACTIVE & Q(assignee=actor.user)
    if code == "team":
        return Q(state__in=team_states(actor, matrix))
    if code == "at_risk":
        return ACTIVE & Q(sla_status=SlaStatus.AT_RISK)
    if code == "breached":
        return ACTIVE & Q(sla_status=SlaStatus.BREACHED)
    if code == "awaiting":
        return Q(state=State.AWAITING_CUSTOMER)
    if code == "on_hold":
        return Q(state=State.ON_HOLD)
    if code == "failed":
        return Q(state=State.FAILED)
    return Q()


def queue_counts(queryset, actor: Actor, matrix: Matrix) -> dict[str, int | None]:
    """The sizes of the work queues in one query over open tickets (index on state).

    "all" is not counted: closed tickets are the bulk of the table and nobody works that number.
    """
    counted = [q.code for q in QUEUES if q.code != "all"]
    counts = queryset.filter(ACTIVE).aggregate(
        **{code: Count("pk", filter=queue_q(code, actor, matrix)) for code in counted})
    counts["all"] = None
    return counts


# Each order matches an index (migration 0005), so a page is an index walk, not a sort of the queue.
SORTS = {
    "due": (F("stage_due_at").asc(nulls_last=True), "pk"),
    "priority": ("-priority", F("stage_due_at").asc(nulls_last=True), "pk"),
    "created": ("-created_at", "-pk"),
    "statutory": (F("statutory_due_at").asc(nulls_last=True), "pk"),
}
DEFAULT_SORT = "due"
