"""Demo data for issue 3 (wired into `manage.py seed_demo` by the lead): an SOP policy with stage
checklists and auto-approval velocity, the default risk rules, and two UK tickets that show them —
one in review with half its checklist ticked, one on a compliance hold from a rule hit.
Idempotent: creates only what is missing (payments `demo_sop_*`, policy `sop-uk-card`)."""

from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from refunds.actors import Actor
from refunds.lifecycle import Role
from refunds.models import Channel, Payment, Policy
from refunds.risk import install_default_rules
from refunds.services import create_ticket
from refunds.sop import set_checklist_item

CHECKLISTS = {
    "review": [
        {"code": "photos", "label": "Photos of the damage checked", "label_zh_hans": "已核对损坏照片"},
        {"code": "order_status", "label": "Order status confirmed in the order system",
         "label_zh_hans": "已在订单系统确认订单状态"},
    ],
    "approval": [{"code": "budget", "label": "Refund budget line confirmed", "label_zh_hans": "已确认退款预算科目"}],
    "risk": [{"code": "kyc", "label": "Customer identity verified", "label_zh_hans": "已核验客户身份"}],
}


@transaction.atomic
def seed(stdout) -> None:
    install_default_rules(apps.get_model)
    policy, created = Policy.objects.get_or_create(
        code="sop-uk-card",
        defaults=dict(
            name="UK card refunds (SOP with checklists)", scenario="full", region="GB",
            channel=Channel.objects.get(code="card"), auto_approve_max_amount=Decimal("50"),
            auto_approve_velocity_limit=3, auto_approve_velocity_hours=720,
            approval_rules=[{"above": "1000", "roles": [Role.OPS_LEAD, Role.FINANCE]}],
            risk_threshold_amount=Decimal("5000"), checklists=CHECKLISTS,
        ),
    )
    stdout.write(f"SOP policy {policy.code} v{policy.version} ({'created' if created else 'exists'})")
    card = Channel.objects.get(code="card")
    for ref, amount, refund_to, tick in [
        ("demo_sop_1", "120.00", {"method": "original"}, True),
        ("demo_sop_2", "80.00", {"method": "bank_transfer", "iban": "GB82WEST12345698765432",
                                 "account_name": "Someone Else"}, False),
    ]:
        payment, made = Payment.objects.get_or_create(
            payment_ref=ref, partner=None,
            defaults=dict(order_ref=f"SO-{ref}", channel=card, amount=Decimal("300.00"), currency="GBP",
                          captured_at=timezone.now() - timedelta(days=4), customer_email=f"{ref}@example.com",
                          customer_name="Amelia Jones", region="GB"),
        )
        if not made or payment.tickets.exists():
            continue
        ticket = create_ticket(payment=payment, amount=amount, currency="GBP", reason="damaged",
                               refund_to=refund_to, actor=Actor.system())
        reviewer = get_user_model().objects.filter(username=Role.REVIEWER, groups__name=Role.REVIEWER).first()
        if tick and reviewer is not None:
            set_checklist_item(ticket=ticket, stage="review", item="photos", actor=Actor.staff(reviewer))
        ticket.refresh_from_db()
        stdout.write(f"  {ticket.reference}: {ticket.state}")
