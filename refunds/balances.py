"""The refundable balance of a payment: one function, used by intake, payouts and screens."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum

from refunds.lifecycle import IN_FLIGHT_STATES, REFUNDED_STATES
from refunds.models import Dispute, Payment, RefundTicket
from refunds.models.payments import DisputeStatus

ZERO = Decimal(0)


@dataclass(frozen=True)
class Balance:
    captured: Decimal
    refunded: Decimal
    in_flight: Decimal
    disputed: Decimal

    @property
    def refundable(self) -> Decimal:
        """captured − refunded − in flight − disputed (open or charged back)."""
        return self.captured - self.refunded - self.in_flight - self.disputed

    @property
    def returned_to_customer(self) -> Decimal:
        """Money that actually went back: refunds plus lost chargebacks."""
        return self.refunded + self.charged_back

    charged_back: Decimal = ZERO


def payment_balance(payment: Payment, *, exclude_ticket_id: int | None = None) -> Balance:
    tickets = RefundTicket.objects.filter(payment=payment)
    if exclude_ticket_id:
        tickets = tickets.exclude(pk=exclude_ticket_id)
    sums = tickets.aggregate(
        refunded=Sum("amount", filter=Q(state__in=REFUNDED_STATES)),
        in_flight=Sum("amount", filter=Q(state__in=IN_FLIGHT_STATES)),
    )
    disputes = Dispute.objects.filter(payment=payment).aggregate(
        open=Sum("amount", filter=Q(status=DisputeStatus.OPEN)),
        lost=Sum("amount", filter=Q(status=DisputeStatus.LOST)),
    )
    return Balance(
        captured=payment.amount,
        refunded=sums["refunded"] or ZERO,
        in_flight=sums["in_flight"] or ZERO,
        disputed=(disputes["open"] or ZERO) + (disputes["lost"] or ZERO),
        charged_back=disputes["lost"] or ZERO,
    )
