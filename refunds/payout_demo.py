"""Demo data for the payout path (`seed_demo` calls `seed`): a few refunds that show the simulated
gateway at work — asynchronous confirmation, a failure, a dispute, a slow and a reversed refund.

Failures come from the gateway's deterministic triggers on the payment reference, not from random
failure rates (those stay 0). Idempotent: it creates its payments once and never edits other rows.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from refunds.actors import Actor
from refunds.errors import DomainError
from refunds.lifecycle import Role, State
from refunds.models import Channel, Payment
from refunds.services import create_ticket, perform_transition

# (payment reference, channel, currency, amount, what the demo shows)
DEMO_PAYOUTS = [
    ("sim_demo_ok_0001", "card", "USD", Decimal("24.00"), "confirmed by signed webhook after ~15 s"),
    ("sim_slow_demo_0002", "card", "USD", Decimal("32.50"), "slow gateway: confirmed after ~20 s"),
    ("sim_fail_insufficient_funds_demo_0003", "card", "USD", Decimal("45.00"), "fails: insufficient_funds"),
    ("sim_fail_disputed_demo_0004", "card", "EUR", Decimal("18.00"), "fails: disputed → dispute hold"),
    ("sim_reverse_demo_0005", "alipay", "CNY", Decimal("99.00"), "refunded, then reversed → failed"),
]
# Applied only when a channel has no adapter configuration yet (never overwrites an admin's edit).
DEMO_ADAPTER_CONFIG = {"card": {"confirm_after_seconds": 15}, "alipay": {"reverse_after_seconds": 45}}


def _actor(username: str) -> Actor:
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    return Actor.staff(user) if user else Actor.system()


def seed(stdout) -> None:
    for code, config in DEMO_ADAPTER_CONFIG.items():
        Channel.objects.filter(code=code, adapter="simulated", adapter_config={}).update(adapter_config=config)
    if Payment.objects.filter(payment_ref=DEMO_PAYOUTS[0][0]).exists():
        stdout.write("Payout demo refunds exist already; leaving them as they are.")
        return
    agent, reviewer = _actor(Role.AGENT), _actor(Role.REVIEWER)
    stdout.write("Payout demo (simulated gateway; `run_periodic` delivers its webhooks):")
    for reference, code, currency, amount, shows in DEMO_PAYOUTS:
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    payment_ref=reference, order_ref=f"SO-PAYOUT-{reference[-4:]}",
                    channel=Channel.objects.get(code=code), amount=amount + Decimal("20.00"), currency=currency,
                    fee_amount=Decimal("1.20"), captured_at=timezone.now() - timedelta(days=2),
                    customer_email=f"payout.demo.{reference[-4:]}@example.com", customer_name="Li Wei",
                    region="CN" if currency == "CNY" else "US")
                ticket = create_ticket(payment=payment, amount=amount, currency=currency, reason="damaged",
                                       actor=agent, reason_detail="Payout demo")
            if ticket.state == State.IN_REVIEW:
                perform_transition(ticket=ticket.pk, name="approve", actor=reviewer, comment="Payout demo")
            ticket.refresh_from_db()
            stdout.write(f"  {ticket.reference} {code} {amount} {currency}: {shows} (now {ticket.state})")
        except DomainError as exc:
            stdout.write(f"  skipped payout demo {reference}: {exc.detail or exc}")
