"""Write paths of the notifications app: plan deliveries for an event, send one, notify staff.

`notify(ticket_id, event, occurrence)` creates one Delivery row per channel the customer can be
reached on (get_or_create on the unique key, so a repeated call creates nothing new) and enqueues a
send job for each new row after commit. `send_delivery(id)` is the job body: it locks the row,
returns if it is already sent, and otherwise sends once, recording the attempt.
"""

import hashlib
import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from refunds import jobqueue
from refunds.models import RefundTicket

from .channels import sender_for
from .defaults import SMS_EVENTS
from .models import ChannelKind, Delivery, DeliveryStatus, Event, NotificationTemplate, OptOut
from .render import render, ticket_context

logger = logging.getLogger(__name__)

QUEUE = "notifications"
SEND_JOB = "notifications.jobs.send_delivery"


def max_attempts() -> int:
    return int(getattr(settings, "NOTIFICATIONS_MAX_ATTEMPTS", 5))


def backoff(attempts: int) -> timedelta:
    """Exponential backoff after the n-th failed attempt: 30 s, 2 min, 8 min, 32 min … capped at 6 h."""
    base = int(getattr(settings, "NOTIFICATIONS_RETRY_BASE_SECONDS", 30))
    return timedelta(seconds=min(base * 4 ** (attempts - 1), 6 * 3600))


def normalise_address(channel: str, address: str) -> str:
    return (address or "").strip().lower() if channel == ChannelKind.EMAIL else (address or "").strip()


def is_opted_out(channel: str, address: str) -> bool:
    return OptOut.objects.filter(channel=channel, address=normalise_address(channel, address)).exists()


def opt_out(*, channel: str, address: str) -> None:
    """Record that `address` wants no more messages over `channel` (idempotent)."""
    if channel not in (ChannelKind.EMAIL, ChannelKind.SMS) or not address:
        return
    OptOut.objects.get_or_create(channel=channel, address=normalise_address(channel, address))


def opt_in(*, channel: str, address: str) -> None:
    OptOut.objects.filter(channel=channel, address=normalise_address(channel, address)).delete()


def customer_channels(ticket: RefundTicket, event: str) -> list[tuple[str, str]]:
    """(channel, address) pairs for a customer event: e-mail, SMS for the events that warrant one, in-app."""
    pairs = []
    if ticket.customer_email:
        pairs.append((ChannelKind.EMAIL, ticket.customer_email))
    if ticket.customer_phone and event in SMS_EVENTS:
        pairs.append((ChannelKind.SMS, ticket.customer_phone))
    if event != Event.STATUS_LINK:
        pairs.append((ChannelKind.IN_APP, ""))
    return pairs


def _template(event: str, channel: str, language: str) -> NotificationTemplate | None:
    """The active template in the customer's language, falling back to English."""
    rows = {t.language: t for t in NotificationTemplate.objects.filter(event=event, channel=channel, active=True,
                                                                       language__in=[language, "en"])}
    return rows.get(language) or rows.get("en")


def _enqueue_after_commit(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        transaction.on_commit(partial(jobqueue.enqueue, QUEUE, SEND_JOB, delivery_id))


@transaction.atomic
def notify(ticket_id: int, event: str, occurrence: str = "", *, only_channels: list[str] | None = None,
           recipient: str = "") -> list[Delivery]:
    """Plan the customer deliveries of `event` for a ticket (at most once per occurrence and channel).

    Returns the rows created now; rows that already existed are not sent again.
    """
    ticket = RefundTicket.objects.select_related("channel").filter(pk=ticket_id).first()
    if ticket is None:
        return []
    language = ticket.customer_language if ticket.customer_language in ("en", "zh-hans") else "en"
    context = None
    created: list[Delivery] = []
    pairs = customer_channels(ticket, event)
    if recipient:  # the lost-link lookup: the address the customer typed, already matched to this ticket
        pairs = [(ChannelKind.EMAIL, recipient)] + [p for p in pairs if p[0] != ChannelKind.EMAIL]
    for channel, address in pairs:
        if only_channels is not None and channel not in only_channels:
            continue
        key = dict(ticket=ticket, event=event, channel=channel, occurrence=occurrence[:64], recipient_key="customer")
        if Delivery.objects.filter(**key).exists():
            continue
        template = _template(event, channel, language)
        status, error, rendered = DeliveryStatus.PENDING, "", None
        if channel != ChannelKind.IN_APP and is_opted_out(channel, address):
            status, error = DeliveryStatus.SKIPPED, "opted out"
        elif template is None:
            status, error = DeliveryStatus.SKIPPED, "no active template"
        else:
            context = context or ticket_context(ticket, language)
            rendered = render(template, context, language)
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    **key, recipient=address, language=template.language if template else language,
                    subject=rendered.subject if rendered else "", body=rendered.body if rendered else "",
                    body_html=rendered.body_html if rendered else "", status=status, last_error=error,
                )
        except IntegrityError:
            continue  # a concurrent call planned it first
        created.append(delivery)
    _enqueue_after_commit([d.pk for d in created if d.status == DeliveryStatus.PENDING])
    return created


def send_delivery(delivery_id: int) -> str:
    """Send one delivery once. Safe to run twice: the row lock and status make the second run a no-op."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.status in (DeliveryStatus.SENT, DeliveryStatus.SKIPPED,
                                                   DeliveryStatus.FAILED):
            return delivery.status if delivery else "missing"
        now = timezone.now()
        if delivery.next_attempt_at and delivery.next_attempt_at > now:
            return "not due"
        delivery.attempts += 1
        try:
            sender_for(delivery.channel)(delivery)
        except Exception as exc:  # any backend error: record it and retry with backoff
            delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            if delivery.attempts >= max_attempts():
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.status = DeliveryStatus.RETRYING
                delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.save()
            logger.warning("notification %s attempt %s failed: %s", delivery.pk, delivery.attempts,
                           exc.__class__.__name__)
            if delivery.status == DeliveryStatus.RETRYING:
                when = delivery.next_attempt_at
                transaction.on_commit(partial(jobqueue.enqueue_at, when, QUEUE, SEND_JOB, delivery.pk))
            return delivery.status
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        delivery.next_attempt_at = None
        delivery.last_error = ""
        delivery.save()
        return delivery.status


def retry_due(limit: int = 500) -> int:
    """Send deliveries whose retry time has come, and pending ones a lost job left behind.

    The periodic pass of embedded mode and a safety net after a Redis outage in production.
    """
    now = timezone.now()
    stale = now - timedelta(minutes=5)
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now)
        .values_list("pk", flat=True)[:limit]
    ) + list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, created_at__lte=stale)
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        jobqueue.enqueue(QUEUE, SEND_JOB, delivery_id)
    return len(due)


@transaction.atomic
def notify_staff(roles, subject: str, body: str, ticket=None, *, key: str = "") -> list[Delivery]:
    """E-mail every active user holding one of `roles` (escalations, approvals requested, holds).

    Same delivery log, retries and once-only rule as customer messages: one row per user and
    (ticket, subject/key). Pass `key` (e.g. "sla-breach:<visit id>") when the same text may recur.
    """
    roles = [roles] if isinstance(roles, str) else list(roles)
    occurrence = key or hashlib.sha256(f"{subject}\n{body}".encode()).hexdigest()[:32]
    users = (get_user_model().objects.filter(groups__name__in=roles, is_active=True).exclude(email="")
             .distinct().order_by("pk"))
    created = []
    for user in users:
        try:
            with transaction.atomic():
                delivery, was_created = Delivery.objects.get_or_create(
                    ticket=ticket, event=Event.STAFF, channel=ChannelKind.EMAIL, occurrence=occurrence[:64],
                    recipient_key=f"user:{user.pk}",
                    defaults=dict(recipient=user.email, staff_user=user, subject=subject[:255], body=body,
                                  language=settings.LANGUAGE_CODE),
                )
        except IntegrityError:
            continue
        if was_created:
            created.append(delivery)
    _enqueue_after_commit([d.pk for d in created])
    return created


def notify_staff_of_ticket(ticket_id: int, notice: str, occurrence: str) -> list[Delivery]:
    """Staff notices raised by transitions (see notifications.events.staff_notice_for)."""
    from django.utils.translation import gettext as _

    from refunds.models import Approval, Hold
    from refunds.models.tickets import ApprovalDecision

    ticket = RefundTicket.objects.filter(pk=ticket_id).only("reference", "amount", "currency").first()
    if ticket is None:
        return []
    if notice == "approval_requested":
        roles = sorted(set(Approval.objects.filter(ticket_id=ticket_id, decision=ApprovalDecision.PENDING)
                           .values_list("role", flat=True)))
        subject = _("%(ref)s: your approval is requested") % {"ref": ticket.reference}
        body = _("Refund %(ref)s of %(amount)s %(currency)s waits for approval by %(roles)s.") % {
            "ref": ticket.reference, "amount": ticket.amount, "currency": ticket.currency, "roles": ", ".join(roles)}
    elif notice == "hold_opened":
        hold = Hold.objects.filter(ticket_id=ticket_id, released_at__isnull=True).order_by("-opened_at").first()
        if hold is None:
            return []
        roles = [hold.owner_role]
        subject = _("%(ref)s: on %(type)s hold") % {"ref": ticket.reference, "type": hold.get_hold_type_display()}
        body = _("Refund %(ref)s is on hold: %(reason)s") % {"ref": ticket.reference, "reason": hold.reason}
    else:
        return []
    if not roles:
        return []
    return notify_staff(roles, subject, body, ticket=ticket, key=f"{notice}:{occurrence}")
