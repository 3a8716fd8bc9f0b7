"""Payout hand-off: approved → processing with a payout attempt, then the channel's gateway adapter."""

import logging
from functools import partial

from django.db import transaction

from refunds import jobqueue
from refunds.actors import Actor
from refunds.lifecycle import State
from refunds.models import RefundTicket

from .transitions import lock_ticket, perform_transition

logger = logging.getLogger(__name__)


def submit_payout(ticket_id: int) -> None:
    """Move an approved ticket to processing (creating its attempt) and send it after commit."""
    with transaction.atomic():
        ticket = lock_ticket(ticket_id)
        if ticket.state != State.APPROVED:
            return
        perform_transition(ticket=ticket, name="submit_payout", actor=Actor.system())
        transaction.on_commit(partial(jobqueue.enqueue, "payouts", "refunds.jobs.send_payout", ticket_id))


def send_payout(ticket_id: int) -> None:
    """Call the channel's gateway for the ticket's latest pending attempt (adapters: payout issue)."""
    ticket = RefundTicket.objects.filter(pk=ticket_id).only("state", "reference").first()
    if ticket is None or ticket.state != State.PROCESSING:
        return
    logger.info("payout for %s is waiting for a gateway adapter", ticket.reference)
