from django.db import transaction

from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.errors import InvalidInput
from refunds.models import RefundTicket
from refunds.models.audit import LogKind


@transaction.atomic
def add_comment(*, ticket: RefundTicket, actor: Actor, text: str, customer_visible: bool = False):
    """An internal (or customer-visible) comment on the ticket's timeline."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput({"comment": ["Write a comment."]})
    locked = RefundTicket.objects.select_for_update().get(pk=ticket.pk)
    return append_entry(locked, actor=actor, kind=LogKind.COMMENT, comment=text, customer_visible=customer_visible)
