"""Registering and closing disputes (chargebacks) on a payment.

What the customer gets back is refunds plus lost chargebacks and may never exceed the captured
amount (SPEC §3). So a dispute is accepted only up to the payment's refundable balance (captured −
refunded − in flight − disputed); the error names the refunds in flight that use the rest, so the
caller (a gateway webhook or an operator) can hold or cancel them first. While a dispute is open
the risk rules hold the payment's refunds before payout (`refunds.intake.pre_payout_hold`).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds.balances import payment_balance
from refunds.errors import InvalidInput, TransitionNotAllowed
from refunds.lifecycle import IN_FLIGHT_STATES
from refunds.models import Dispute, Payment
from refunds.models.payments import DisputeStatus
from refunds.money import parse_amount, quantize, validate_amount


@transaction.atomic
def register_dispute(
    *, payment: Payment, reference: str, amount, reason: str = "", opened_at=None
) -> Dispute:
    """Record an open dispute (idempotent by reference). Refuses amounts above the refundable balance."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    existing = Dispute.objects.filter(reference=reference).first()
    if existing is not None:
        return existing
    try:
        value = parse_amount(amount)
        validate_amount(value, payment.currency)
    except ValidationError as exc:
        raise InvalidInput({"amount": exc.messages})
    balance = payment_balance(payment)
    if value > balance.refundable:
        in_flight = list(
            payment.tickets.filter(state__in=IN_FLIGHT_STATES).values_list("reference", flat=True)
        )
        raise InvalidInput(
            {
                "amount": [
                    _(
                        "Only %(left)s %(c)s of this payment is neither refunded, in flight nor disputed "
                        "(refunds in flight: %(refs)s)."
                    )
                    % {
                        "left": quantize(max(balance.refundable, Decimal(0)), payment.currency),
                        "c": payment.currency,
                        "refs": ", ".join(in_flight) or "—",
                    }
                ]
            }
        )
    return Dispute.objects.create(
        payment=payment,
        reference=reference,
        amount=value,
        currency=payment.currency,
        reason=reason[:200],
        opened_at=opened_at or timezone.now(),
    )


@transaction.atomic
def close_dispute(*, dispute: Dispute, outcome: str) -> Dispute:
    """won: the money stays with the merchant (frees the balance); lost: it was charged back."""
    if outcome not in (DisputeStatus.WON, DisputeStatus.LOST):
        raise InvalidInput({"outcome": [_("Choose “won” or “lost”.")]})
    dispute = Dispute.objects.select_for_update().get(pk=dispute.pk)
    if dispute.status != DisputeStatus.OPEN:
        raise TransitionNotAllowed(_("This dispute is already closed."))
    dispute.status = outcome
    dispute.closed_at = timezone.now()
    dispute.save()
    return dispute
