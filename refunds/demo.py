"""Demo data for `manage.py seed_demo`: users per role, demo policies, payments and a few hundred
tickets in every state with a realistic, back-dated history. Idempotent: it creates only what is
missing and never touches rows it did not create (demo rows are recognisable by their `demo_` refs).
"""

import random
import secrets
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from refunds import jobqueue
from refunds.actors import Actor
from refunds.errors import DomainError
from refunds.lifecycle import Role, State
from refunds.models import Channel, Partner, Payment, Policy
from refunds.services import create_ticket, perform_transition
from refunds.status_tokens import status_url

DEMO_PARTNER = "demo-shop"
DEMO_TICKETS = 300
CORE_PREFIX = "demo_core_"  # payment refs of the core demo tickets (other demo seeders use their own)
# Share of demo tickets per final state (they add up to 1).
STATE_MIX = [
    (State.SUBMITTED, 0.03), (State.AWAITING_CUSTOMER, 0.07), (State.IN_REVIEW, 0.17),
    (State.PENDING_APPROVAL, 0.06), (State.ON_HOLD, 0.05), (State.APPROVED, 0.03), (State.PROCESSING, 0.07),
    (State.FAILED, 0.05), (State.REFUNDED, 0.15), (State.RECONCILED, 0.18), (State.REJECTED, 0.07),
    (State.CANCELLED, 0.07),
]
# (channel, currency, region, amounts)
PAYMENT_KINDS = [
    ("card", "USD", "US", (Decimal("19.99"), Decimal("2400.00"))),
    ("card", "EUR", "DE", (Decimal("15.00"), Decimal("1800.00"))),
    ("alipay", "CNY", "CN", (Decimal("39.00"), Decimal("12000.00"))),
    ("wechat_pay", "CNY", "CN", (Decimal("25.00"), Decimal("8000.00"))),
    ("paypal", "USD", "US", (Decimal("12.00"), Decimal("1500.00"))),
    ("bank_transfer", "EUR", "FR", (Decimal("80.00"), Decimal("3000.00"))),
]
CUSTOMER_NAMES = ["Li Wei", "Wang Fang", "Zhang Min", "Emma Schmidt", "Lucas Martin", "Olivia Brown", "Chen Jing",
                  "Noah Miller", "Sophie Dubois", "Liu Yang"]


def demo_password(role: str) -> str | None:
    """Embedded/demo mode uses a known password per role; production gets a random one, shown once."""
    if settings.DEBUG:
        return f"refundloop-{role}"
    return None


def seed_users(stdout) -> None:
    User = get_user_model()
    stdout.write("Demo users (log in at /accounts/login/ or /admin/):")
    for role in Role.values:
        group, _ = Group.objects.get_or_create(name=role)
        user = User.objects.filter(username=role).first()
        known = demo_password(role)
        if user is None:
            password = known or secrets.token_urlsafe(12)
            user = User.objects.create_user(username=role, email=f"{role}@refundloop.local", password=password,
                                            is_staff=True, is_superuser=(role == Role.ADMIN))
            user.groups.add(group)
            stdout.write(f"  {role:<13} password: {password}")
        elif known and user.check_password(known):
            stdout.write(f"  {role:<13} password: {known}")
        else:
            stdout.write(f"  {role:<13} (exists; password unchanged)")


def seed_policies() -> None:
    card = Channel.objects.get(code="card")
    Policy.objects.get_or_create(
        code="card-standard",
        defaults=dict(
            name="Card refunds", scenario="full", channel=card, auto_approve_max_amount=Decimal("50"),
            approval_rules=[{"above": "1000", "roles": [Role.OPS_LEAD, Role.FINANCE]}],
            risk_threshold_amount=Decimal("5000"),
        ),
    )
    Policy.objects.get_or_create(
        code="bank-transfer-eu",
        defaults=dict(
            name="SEPA bank transfer refunds", scenario="cross_region",
            channel=Channel.objects.get(code="bank_transfer"),
            approval_rules=[{"above": "1000", "roles": [Role.OPS_LEAD, Role.FINANCE]}],
            required_fields=["refund_to.iban", "refund_to.account_name"], risk_threshold_amount=Decimal("5000"),
        ),
    )


@contextmanager
def at_time(moment):
    """Back-date what is written inside (auto timestamps, log entries, history rows)."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _users():
    User = get_user_model()
    return {role: Actor.staff(User.objects.get(username=role)) for role in Role.values}


def _walk(ticket, target: State, actors: dict, rng: random.Random):
    """Drive a freshly taken-in ticket to `target` through the real services."""
    system = Actor.system()

    def run(name, actor, **kw):
        return perform_transition(ticket=ticket.pk, name=name, actor=actor, **kw)

    state = ticket.state
    if target in (State.SUBMITTED, State.AWAITING_CUSTOMER) or state == target:
        return
    if state == State.AWAITING_CUSTOMER:
        return
    if target == State.CANCELLED:
        run("cancel", actors[Role.AGENT], comment="Customer withdrew the request")
        return
    if state == State.APPROVED:
        pass
    elif target == State.ON_HOLD:
        if state != State.ON_HOLD:
            run("hold", actors[Role.RISK], hold_type=rng.choice(["risk", "fraud", "compliance"]),
                comment="Velocity check: several refunds on this card this week")
        return
    elif state == State.ON_HOLD:
        if target == State.REJECTED:
            run("reject", actors[Role.REVIEWER], reason="fraud_suspected", comment="Confirmed by risk review")
            return
        run("release", actors[Role.RISK], comment="Checked with the customer; genuine")
        state = State.IN_REVIEW
    if state == State.IN_REVIEW:
        if target == State.IN_REVIEW:
            return
        if target == State.REJECTED:
            run("reject", actors[Role.REVIEWER], reason="outside_window", comment="Order delivered 200 days ago")
            return
        needs = ticket.policy.required_approval_roles(ticket.amount)
        if needs:
            run("request_approval", actors[Role.REVIEWER], comment="Large refund, please approve")
            if target == State.PENDING_APPROVAL:
                return
            for role in needs:
                run("record_approval", actors[role], decision="approve", comment="Looks right")
        else:
            run("approve", actors[Role.REVIEWER], comment="Photos confirm the damage")
    if target == State.APPROVED:
        return
    run("submit_payout", system)
    if target == State.PROCESSING:
        return
    if target == State.FAILED:
        run("fail", system, failure_reason=rng.choice(["expired_or_canceled_card", "declined", "insufficient_funds"]))
        return
    run("confirm", system, gateway_refund_id=f"re_demo_{ticket.reference[3:]}")
    # RECONCILED targets stop here: the reconciliation demo matches them against the simulated
    # gateway statements and ledger, so `reconciled` comes from the real matching engine.


def seed_tickets(stdout, count: int = DEMO_TICKETS) -> int:
    if Payment.objects.filter(payment_ref__startswith=CORE_PREFIX).exists():
        stdout.write("Demo tickets exist already; leaving them as they are.")
        return 0
    rng = random.Random(20261125)
    partner, _ = Partner.objects.get_or_create(name=DEMO_PARTNER)
    channels = {c.code: c for c in Channel.objects.all()}
    actors = _users()
    now = timezone.now()
    targets = []
    for state, share in STATE_MIX:
        targets += [state] * max(2, round(share * count))
    rng.shuffle(targets)
    created = 0
    with jobqueue.jobs_paused():
        for index, target in enumerate(targets):
            code, currency, region, (low, high) = rng.choice(PAYMENT_KINDS)
            if target in (State.AWAITING_CUSTOMER,):
                code, currency, region, (low, high) = PAYMENT_KINDS[5]
            opened = now - timedelta(days=rng.uniform(0.1, 20), minutes=rng.randint(0, 600))
            amount = Decimal(rng.uniform(float(low), float(high))).quantize(Decimal("1.00"))
            if target == State.PENDING_APPROVAL:
                amount = max(amount, Decimal("1200.00"))
            elif target in (State.IN_REVIEW, State.REJECTED, State.CANCELLED, State.ON_HOLD) and code == "card":
                # Above the card policy's auto-approval limit, so intake leaves them for a person.
                amount = max(amount, Decimal("60.00"))
            name = rng.choice(CUSTOMER_NAMES)
            with at_time(opened - timedelta(days=rng.randint(1, 10))):
                payment = Payment.objects.create(
                    partner=partner if index % 3 else None, payment_ref=f"{CORE_PREFIX}{index:05d}",
                    order_ref=f"SO-{20260000 + index}", channel=channels[code], amount=amount + Decimal("10.00"),
                    currency=currency, captured_at=timezone.now(), region=region, customer_name=name,
                    customer_email=f"{name.lower().replace(' ', '.')}.{index}@example.com",
                )
            refund_to = {"method": "original"}
            if code == "bank_transfer":
                refund_to = {"method": "bank_transfer", "account_name": name}
                if target != State.AWAITING_CUSTOMER:
                    refund_to["iban"] = "DE89370400440532013000"
            try:
                with transaction.atomic(), at_time(opened):
                    ticket = create_ticket(
                        payment=payment, amount=amount, currency=currency, actor=actors[Role.AGENT],
                        reason=rng.choice(["damaged", "not_received", "not_as_described", "requested_by_customer",
                                           "cancelled_order"]),
                        reason_detail="Customer wrote in through the help centre.",
                        customer_language="zh-hans" if region == "CN" else "en", refund_to=refund_to,
                        source="api" if payment.partner_id else "staff",
                        run_intake=target != State.SUBMITTED,
                    )
                worked = min(opened + timedelta(hours=rng.uniform(1, 30)), now - timedelta(minutes=5))
                if target == State.REFUNDED:
                    # Paid out today: not on any gateway statement yet, so it stays `refunded`.
                    worked = now - timedelta(minutes=rng.randint(5, 60))
                with transaction.atomic(), at_time(max(worked, opened)):
                    ticket.refresh_from_db()
                    _walk(ticket, target, actors, rng)
                created += 1
            except DomainError as exc:
                stdout.write(f"  skipped a demo ticket: {exc.detail or exc}")
    stdout.write(f"Created {created} demo tickets.")
    return created


def print_status_links(stdout, how_many: int = 3) -> None:
    from refunds.models import RefundTicket

    stdout.write("Customer status pages of a few demo tickets:")
    for ticket in RefundTicket.objects.filter(payment__payment_ref__startswith=CORE_PREFIX).order_by("pk")[:how_many]:
        stdout.write(f"  {ticket.reference} ({ticket.state}): {status_url(ticket)}")
