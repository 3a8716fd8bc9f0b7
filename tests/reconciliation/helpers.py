"""Refunded tickets with a succeeded payout attempt, as the payout work leaves them."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from refunds.models import PayoutAttempt
from tests.factories import PaymentFactory, TicketFactory, channel


def refunded(amount="20.00", currency="USD", code="card", *, gref=None, paid_days_ago=1, payment=None, **kw):
    ch = channel(code)
    payment = payment or PaymentFactory(channel=ch, currency=currency, amount=Decimal("500.00"))
    ticket = TicketFactory(state="refunded", payment=payment, amount=Decimal(amount), currency=currency, **kw)
    attempt = PayoutAttempt.objects.create(
        ticket=ticket, number=1, channel=ch, idempotency_key=f"{ticket.reference}-1", amount=Decimal(amount),
        currency=currency, status="succeeded", gateway_refund_id=gref or f"re_{ticket.pk:08d}")
    when = timezone.now() - timedelta(days=paid_days_ago)
    PayoutAttempt.objects.filter(pk=attempt.pk).update(updated_at=when)
    attempt.refresh_from_db()
    return ticket
