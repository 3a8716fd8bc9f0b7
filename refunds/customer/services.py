"""Customer write paths on the status page. Views call these; state changes go through perform_transition."""

import uuid
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds import jobqueue
from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.errors import Conflict, InvalidInput, TransitionNotAllowed
from refunds.lifecycle import State
from refunds.models import CustomerFeedback, RefundTicket, StatusVisit
from refunds.models.audit import LogKind
from refunds.services import perform_transition
from refunds.services.transitions import lock_ticket

from .progress import FEEDBACK_STATES
from .ratelimit import allow, keyed_hash

LOOKUP_LIMITS = {
    # bucket: (hits, window seconds)
    "lookup-ip": (10, 3600),
    "lookup-email": (3, 3600),
}


def record_visit(ticket_id: int, ip: str, kind: str = "view") -> None:
    """Count a status-page view or lookup for the repeat-inquiry KPI; the IP only as a keyed hash."""
    StatusVisit.objects.create(ticket_id=ticket_id, kind=kind, visitor=keyed_hash(ip or "", "visitor"))


def provide_info(ticket: RefundTicket, data: dict) -> RefundTicket:
    """The customer supplies what was asked for; the intake rules validate it (InvalidInput on errors)."""
    return perform_transition(ticket=ticket, name="provide_info", actor=Actor.customer(ticket), data=data)


def consent_needed(ticket: RefundTicket) -> bool:
    """A failed payout whose channel has a fallback, and no consent yet (SPEC §8: original method unless agreed)."""
    return (ticket.state == State.FAILED and ticket.channel.fallback_channel_id is not None
            and ticket.fallback_consent_at is None)


@transaction.atomic
def give_fallback_consent(ticket: RefundTicket) -> RefundTicket:
    """Record the customer's consent to a fallback channel while a payout has failed (audited)."""
    locked = lock_ticket(ticket)
    if not consent_needed(locked):
        raise TransitionNotAllowed(_("Your consent is not needed for this refund now."))
    locked.fallback_consent_at = timezone.now()
    locked._history_user = Actor.customer(locked).history_user
    locked._change_reason = "fallback consent"
    locked.save(update_fields=["fallback_consent_at", "updated_at"])
    append_entry(locked, actor=Actor.customer(locked), kind=LogKind.NOTE, customer_visible=True,
                 data={"customer_event": "fallback_consent", "channel": locked.channel.fallback_channel.code})
    return locked


def submit_feedback(ticket: RefundTicket, rating, comment: str = "") -> CustomerFeedback:
    """A 1–5 rating once the refund has arrived; only once per ticket."""
    current = RefundTicket.objects.only("state").get(pk=ticket.pk)
    if current.state not in FEEDBACK_STATES:
        raise TransitionNotAllowed(_("You can rate us once your refund has arrived."))
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        raise InvalidInput({"rating": [_("Choose a rating from 1 to 5.")]})
    try:
        with transaction.atomic():
            return CustomerFeedback.objects.create(ticket_id=ticket.pk, rating=rating, comment=(comment or "")[:2000])
    except IntegrityError:
        raise Conflict(_("Thank you — we already have your feedback for this refund."))


def lookup_allowed(ip: str, email: str) -> bool:
    """Both limits count every attempt; either one exhausted refuses."""
    ip_ok = allow("lookup-ip", ip or "", limit=LOOKUP_LIMITS["lookup-ip"][0],
                  window_seconds=LOOKUP_LIMITS["lookup-ip"][1])
    email_ok = allow("lookup-email", email.strip().lower(), limit=LOOKUP_LIMITS["lookup-email"][0],
                     window_seconds=LOOKUP_LIMITS["lookup-email"][1])
    return ip_ok and email_ok


def request_status_link(*, order_ref: str, email: str, ip: str = "") -> None:
    """Queue the lost-link e-mail. The request does the same work whether or not a refund matches:
    the lookup itself happens in the job."""
    transaction.on_commit(partial(jobqueue.enqueue, "notifications", "refunds.customer.jobs.send_status_links",
                                  order_ref.strip()[:100], email.strip().lower()[:254],
                                  keyed_hash(ip or "", "visitor")))


MAX_LINKS_PER_LOOKUP = 5


def send_status_links(order_ref: str, email: str, visitor: str = "") -> int:
    """E-mail the status link of every refund matching order reference + e-mail. Returns how many."""
    from notifications.models import Event
    from notifications.services import notify

    tickets = list(
        RefundTicket.objects.filter(payment__order_ref=order_ref)
        .filter(Q(customer_email__iexact=email) | Q(payment__customer_email__iexact=email))
        .order_by("-created_at")[:MAX_LINKS_PER_LOOKUP]
    )
    request_id = uuid.uuid4().hex
    for ticket in tickets:
        StatusVisit.objects.create(ticket=ticket, kind="lookup", visitor=visitor)
        notify(ticket.pk, Event.STATUS_LINK, f"lookup:{request_id}", only_channels=["email"], recipient=email)
    return len(tickets)
