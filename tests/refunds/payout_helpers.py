"""Shared set-up for the payout tests."""

from decimal import Decimal

from refunds.models import Channel, RefundTicket
from tests.factories import PaymentFactory, TicketFactory


def configure(code: str = "card", **config) -> Channel:
    channel = Channel.objects.get(code=code)
    channel.adapter = "simulated"
    channel.adapter_config = config
    channel.save()
    return channel


def approved_ticket(payment_ref: str | None = None, *, amount="20.00", channel="card",
                    **payment_kwargs) -> RefundTicket:
    kwargs = {"channel": Channel.objects.get(code=channel), **payment_kwargs}
    if payment_ref:
        kwargs["payment_ref"] = payment_ref
    payment = PaymentFactory(**kwargs)
    return TicketFactory(payment=payment, amount=Decimal(amount), state="approved")


def refreshed(ticket: RefundTicket) -> RefundTicket:
    return RefundTicket.objects.get(pk=ticket.pk)
