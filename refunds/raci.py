"""The RACI matrix (data in RaciEntry) and the one permission check every entry point uses.

A staff user may run a transition only if one of their roles is R or A for its stage. Automatic
transitions belong to the system actor. Partners and customers take only their own paths
(cancel, provide_info) on their own tickets. Nobody bypasses this, superusers included.
"""

from collections import defaultdict

from django.utils.translation import gettext as _

from refunds.actors import Actor
from refunds.errors import TransitionForbidden
from refunds.lifecycle import TRANSITIONS, Role, Stage, TransitionSpec
from refunds.models import RaciEntry
from refunds.models.audit import ActorKind
from refunds.models.config import Responsibility

DEFAULT_MATRIX: dict[str, dict[str, list[str]]] = {
    Stage.INTAKE: {"R": [Role.AGENT], "A": [Role.OPS_LEAD], "C": [Role.RISK], "I": [Role.REVIEWER]},
    Stage.REVIEW: {"R": [Role.REVIEWER], "A": [Role.OPS_LEAD], "C": [Role.RISK, Role.FINANCE], "I": [Role.AGENT]},
    Stage.APPROVAL: {"R": [Role.OPS_LEAD, Role.FINANCE], "A": [Role.FINANCE_LEAD], "C": [Role.REVIEWER],
                     "I": [Role.AGENT]},
    Stage.RISK: {"R": [Role.RISK], "A": [Role.OPS_LEAD], "C": [Role.FINANCE], "I": [Role.REVIEWER]},
    Stage.PAYOUT: {"R": [Role.FINANCE], "A": [Role.FINANCE_LEAD], "C": [], "I": [Role.REVIEWER, Role.AGENT]},
    Stage.RECONCILIATION: {"R": [Role.FINANCE], "A": [Role.FINANCE_LEAD], "C": [Role.OPS_LEAD], "I": []},
    Stage.COMMUNICATION: {"R": [Role.AGENT], "A": [Role.OPS_LEAD], "C": [], "I": []},
}


class Matrix:
    """A snapshot of the matrix: one query, then lookups by stage and letter."""

    def __init__(self, entries=None):
        self._cells: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        rows = entries if entries is not None else RaciEntry.objects.values_list("stage", "role", "responsibility")
        for stage, role, letter in rows:
            self._cells[stage][letter].add(role)

    def roles(self, stage: str, *letters: str) -> set[str]:
        found: set[str] = set()
        for letter in letters:
            found |= self._cells[stage][letter]
        return found

    def acting_roles(self, stage: str) -> set[str]:
        return self.roles(stage, Responsibility.RESPONSIBLE, Responsibility.ACCOUNTABLE)

    def accountable(self, stage: str) -> set[str]:
        return self.roles(stage, Responsibility.ACCOUNTABLE)

    def responsible(self, stage: str) -> set[str]:
        return self.roles(stage, Responsibility.RESPONSIBLE)


def _owns(actor: Actor, ticket) -> bool:
    if actor.kind == ActorKind.PARTNER:
        return actor.partner is not None and ticket.partner_id == actor.partner.pk
    if actor.kind == ActorKind.CUSTOMER:
        return actor.ticket_id == ticket.pk
    return False


OPEN_HOLDS = "open_holds"  # Prefetch(..., to_attr=OPEN_HOLDS) name lists use to avoid a query per row


def _open_hold_owner(ticket) -> set[str]:
    if getattr(ticket, "pk", None) is None:
        return set()
    if hasattr(ticket, OPEN_HOLDS):
        return {hold.owner_role for hold in getattr(ticket, OPEN_HOLDS)}
    return set(ticket.holds.filter(released_at__isnull=True).values_list("owner_role", flat=True))


def open_holds_prefetch():
    """Prefetch for lists that compute allowed transitions per row (one query for the whole page)."""
    from django.db.models import Prefetch

    from refunds.models import Hold

    return Prefetch("holds", queryset=Hold.objects.filter(released_at__isnull=True), to_attr=OPEN_HOLDS)


def transition_refusal(actor: Actor, spec: TransitionSpec, ticket, matrix: Matrix | None = None) -> str | None:
    """Why `actor` may not run `spec` on `ticket` (None when allowed). State is checked elsewhere."""
    if actor.kind == ActorKind.SYSTEM:
        return None
    if actor.kind in (ActorKind.PARTNER, ActorKind.CUSTOMER):
        if spec.customer_path and _owns(actor, ticket):
            return None
        return _("Only staff may run “%(name)s”.") % {"name": spec.name}
    if spec.automatic:
        return _("“%(name)s” is run automatically by the system, not by a person.") % {"name": spec.name}
    matrix = matrix or Matrix()
    needed = matrix.acting_roles(spec.stage)
    if actor.roles & needed:
        return None
    if spec.name == "release" and actor.roles & _open_hold_owner(ticket):
        return None  # the hold's owner role (e.g. finance for disputes) releases its own holds
    return _("“%(name)s” needs one of the roles %(roles)s (R or A for the %(stage)s stage).") % {
        "name": spec.name, "roles": ", ".join(sorted(needed)) or "—", "stage": spec.stage,
    }


def ensure_can_transition(actor: Actor, name: str, ticket, matrix: Matrix | None = None) -> None:
    refusal = transition_refusal(actor, TRANSITIONS[name], ticket, matrix)
    if refusal:
        raise TransitionForbidden(refusal, transition=name)


def allowed_transitions(actor: Actor, ticket, matrix: Matrix | None = None) -> list[str]:
    """Transitions this actor may start now (state and RACI), for buttons and `allowed_transitions`."""
    matrix = matrix or Matrix()
    return [
        name for name, spec in TRANSITIONS.items()
        if ticket.state in spec.sources and transition_refusal(actor, spec, ticket, matrix) is None
    ]


def can_act_in_stage(actor: Actor, stage: str, matrix: Matrix | None = None) -> bool:
    return actor.kind == ActorKind.SYSTEM or bool(actor.roles & (matrix or Matrix()).acting_roles(stage))
