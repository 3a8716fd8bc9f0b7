"""Read paths: which tickets an actor may see, filtered the same way everywhere."""

from django.db.models import QuerySet

from refunds.actors import Actor
from refunds.errors import NotFound
from refunds.filters import TicketFilter
from refunds.models import RefundTicket
from refunds.models.audit import ActorKind
from refunds.screens import OPS


def visible_tickets(actor: Actor) -> QuerySet[RefundTicket]:
    """Staff with an ops role see every ticket; a partner only its own; anyone else nothing."""
    tickets = RefundTicket.objects.all()
    if actor.kind == ActorKind.SYSTEM:
        return tickets
    if actor.kind == ActorKind.PARTNER:
        return tickets.filter(partner=actor.partner)
    if actor.kind == ActorKind.STAFF and actor.roles & OPS:
        return tickets
    if actor.kind == ActorKind.CUSTOMER:
        return tickets.filter(pk=actor.ticket_id)
    return tickets.none()


def ticket_list(*, actor: Actor, filters: dict | None = None) -> QuerySet[RefundTicket]:
    """Visible tickets, filtered by TicketFilter, with what list rows show joined in (fixed query count)."""
    queryset = visible_tickets(actor).select_related("payment", "channel", "policy", "assignee")
    if filters:
        filterset = TicketFilter(filters, queryset=queryset)
        if not filterset.is_valid():
            from refunds.errors import InvalidInput

            raise InvalidInput({k: list(v) for k, v in filterset.errors.items()})
        queryset = filterset.qs
    return queryset


def ticket_get_for_actor(*, actor: Actor, reference: str) -> RefundTicket:
    """The same 404 for "does not exist" and "not yours"."""
    ticket = (
        visible_tickets(actor).select_related("payment", "channel", "policy", "assignee", "partner")
        .filter(reference=reference).first()
    )
    if ticket is None:
        raise NotFound("No such refund.")
    return ticket
