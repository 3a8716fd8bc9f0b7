"""Assigning tickets to staff (single or bulk from the queues)."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.errors import InvalidInput
from refunds.models.audit import LogKind
from refunds.screens import OPS

MAX_BULK = 200


def assignable_users():
    """Active staff holding an ops role, the people tickets may be given to."""
    return (get_user_model().objects.filter(is_active=True, groups__name__in=OPS).distinct()
            .order_by("username"))


@transaction.atomic
def assign_tickets(*, actor: Actor, references: list[str], assignee: str | None) -> int:
    """Give the visible tickets `references` to `assignee` (username; empty = unassign). Returns the count.

    Every change is in the ticket's history and log with the actor who made it.
    """
    from refunds.selectors import visible_tickets

    references = [r for r in dict.fromkeys(references or []) if r]
    if not references:
        raise InvalidInput({"tickets": [_("Select at least one refund.")]})
    if len(references) > MAX_BULK:
        raise InvalidInput({"tickets": [_("Assign at most %(n)s refunds at once.") % {"n": MAX_BULK}]})
    user = None
    if assignee:
        user = assignable_users().filter(username=assignee).first()
        if user is None:
            raise InvalidInput({"assignee": [_("No active ops user called “%(name)s”.") % {"name": assignee}]})
    tickets = list(visible_tickets(actor).select_for_update().filter(reference__in=references).order_by("pk"))
    changed = 0
    for ticket in tickets:
        if ticket.assignee_id == (user.pk if user else None):
            continue
        ticket.assignee = user
        ticket._history_user = actor.history_user
        ticket._change_reason = "assign"
        ticket.save(update_fields=["assignee", "updated_at"])
        append_entry(ticket, actor=actor, kind=LogKind.NOTE,
                     comment=_("Assigned to %(name)s") % {"name": user.username} if user else _("Unassigned"),
                     data={"assignee": user.username if user else None})
        changed += 1
    return changed
