"""Intake rules (SPEC §5, §7): validate a refund request field by field, then decide where it goes.

`validate_request` returns *all* errors at once, keyed by field. `decide_intake` is the automatic
routing: missing customer data → awaiting_customer; risk/dispute/compliance → on_hold; small,
clean refunds under an auto-approval rule → approved; everything else → in_review.
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds.balances import payment_balance
from refunds.errors import InvalidInput
from refunds.lifecycle import State
from refunds.models import Dispute, Payment, RefundTicket
from refunds.models.payments import DisputeStatus
from refunds.models.tickets import HoldType, Language, ReasonCode
from refunds.money import currency_exponent, parse_amount, validate_amount, validate_currency

PHONE_RE = re.compile(r"^\+[1-9]\d{6,14}$")
DESTINATION_METHODS = ("original", "bank_transfer", "store_credit", "alipay", "wechat_pay", "paypal")


def iban_is_valid(iban: str) -> bool:
    """ISO 13616 mod-97 checksum."""
    iban = re.sub(r"\s+", "", iban or "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


@dataclass
class RefundRequest:
    """A validated request, ready to become a ticket."""

    payment: Payment
    amount: Decimal
    currency: str
    reason: str
    reason_detail: str = ""
    customer_language: str = Language.EN
    refund_to: dict = field(default_factory=lambda: {"method": "original"})
    customer_email: str = ""
    customer_phone: str = ""


def _add(errors: dict, key: str, message) -> None:
    errors.setdefault(key, []).append(str(message))


def validate_request(*, payment: Payment | None, amount, currency: str, reason: str, reason_detail: str = "",
                     customer_language: str = "", refund_to: dict | None = None, customer_email: str = "",
                     customer_phone: str = "", cross_currency_allowed: bool = False) -> RefundRequest:
    """Check every field, raise InvalidInput with all errors, or return the normalised request."""
    errors: dict[str, list[str]] = {}
    if payment is None:
        _add(errors, "payment_ref", _("No payment with this reference is registered."))
    try:
        validate_currency(currency or "")
    except ValidationError as exc:
        _add(errors, "currency", exc.messages[0])
    parsed = None
    try:
        parsed = parse_amount(amount)
        validate_amount(parsed, currency if not errors.get("currency") else "XXX")
    except ValidationError as exc:
        _add(errors, "amount", exc.messages[0])
        parsed = None
    if reason not in ReasonCode.values:
        _add(errors, "reason", _("Choose one of: %(codes)s.") % {"codes": ", ".join(ReasonCode.values)})
    language = customer_language or Language.EN
    if language not in Language.values:
        _add(errors, "customer_language", _("Choose “en” or “zh-hans”."))
    destination = refund_to or {"method": "original"}
    if not isinstance(destination, dict) or destination.get("method") not in DESTINATION_METHODS:
        _add(errors, "refund_to.method", _("Choose one of: %(m)s.") % {"m": ", ".join(DESTINATION_METHODS)})
        destination = {"method": "original"}
    elif destination["method"] == "bank_transfer":
        if destination.get("iban") and not iban_is_valid(destination["iban"]):
            _add(errors, "refund_to.iban", _("This IBAN is not valid (checksum or format)."))
        if "account_name" in destination and not str(destination.get("account_name", "")).strip():
            _add(errors, "refund_to.account_name", _("Enter the account holder's name."))
    if customer_email:
        try:
            validate_email(customer_email)
        except ValidationError:
            _add(errors, "customer_email", _("Enter a valid e-mail address."))
    if customer_phone and not PHONE_RE.match(customer_phone):
        _add(errors, "customer_phone", _("Enter the phone number in international form, e.g. +8613800138000."))

    if payment is not None and parsed is not None and not errors.get("currency"):
        _check_against_payment(errors, payment, parsed, currency, cross_currency_allowed)
    if errors:
        raise InvalidInput(errors)
    return RefundRequest(payment=payment, amount=parsed, currency=currency, reason=reason,
                         reason_detail=reason_detail or "", customer_language=language, refund_to=destination,
                         customer_email=customer_email or payment.customer_email, customer_phone=customer_phone)


def _check_against_payment(errors, payment: Payment, amount: Decimal, currency: str, cross_currency: bool):
    channel = payment.channel
    if currency != payment.currency and not (cross_currency and not channel.same_currency_only):
        _add(errors, "currency", _("The payment was made in %(c)s; refund in the same currency.")
             % {"c": payment.currency})
        return
    balance = payment_balance(payment)
    if amount > balance.refundable:
        _add(errors, "amount", _("Only %(left)s %(c)s can still be refunded on this payment.")
             % {"left": max(balance.refundable, Decimal(0)).quantize(Decimal(1).scaleb(
                 -currency_exponent(payment.currency))), "c": payment.currency})
    window_end = payment.captured_at + timedelta(days=channel.refund_window_days)
    if timezone.now() > window_end:
        _add(errors, "payment_ref", _("The %(ch)s refund window of %(d)s days after capture has passed.")
             % {"ch": channel.code, "d": channel.refund_window_days})
    is_partial = amount < payment.amount
    if is_partial:
        previous = payment.tickets.exclude(state__in=[State.REJECTED, State.CANCELLED])
        if not channel.partial_refunds_allowed:
            _add(errors, "amount", _("%(ch)s does not allow partial refunds.") % {"ch": channel.code})
        elif channel.max_partial_refunds is not None and previous.count() >= channel.max_partial_refunds:
            _add(errors, "amount", _("%(ch)s allows at most %(n)s partial refunds per payment.")
                 % {"ch": channel.code, "n": channel.max_partial_refunds})
        elif channel.min_partial_interval_seconds:
            last = previous.order_by("-created_at").values_list("created_at", flat=True).first()
            if last and (timezone.now() - last).total_seconds() < channel.min_partial_interval_seconds:
                _add(errors, "amount", _("%(ch)s needs %(s)s seconds between partial refunds.")
                     % {"ch": channel.code, "s": channel.min_partial_interval_seconds})


def find_exact_duplicate(*, payment: Payment, amount: Decimal, reason: str) -> RefundTicket | None:
    """An open or completed ticket for the same payment, amount and reason within 24 hours."""
    return (
        RefundTicket.objects.filter(payment=payment, amount=amount, reason=reason,
                                    created_at__gte=timezone.now() - timedelta(hours=24))
        .exclude(state__in=[State.REJECTED, State.CANCELLED])
        .order_by("created_at")
        .first()
    )


# --- Routing --------------------------------------------------------------------------------------

@dataclass
class IntakeDecision:
    target: State
    needed: list[str] = field(default_factory=list)
    hold_type: str = ""
    rule_hits: list[dict] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.rule_hits:
            return "; ".join(hit["message"] for hit in self.rule_hits)
        return ""


def missing_customer_data(ticket: RefundTicket) -> list[str]:
    """Fields the customer still has to supply before review can start."""
    needed = []
    destination = ticket.refund_to or {}
    if destination.get("method") == "bank_transfer":
        needed += [key for key in ("iban", "account_name") if not destination.get(key)]
    for name in ticket.policy.required_fields or []:
        if name.startswith("refund_to."):
            if not destination.get(name.split(".", 1)[1]) and name.split(".", 1)[1] not in needed:
                needed.append(name.split(".", 1)[1])
        elif not getattr(ticket, name, None) and name not in needed:
            needed.append(name)
    return needed


def risk_hits(ticket: RefundTicket) -> list[dict]:
    """Risk rules that hold a ticket (at intake and before payout). Each hit names its rule."""
    hits = []
    if Dispute.objects.filter(payment_id=ticket.payment_id, status=DisputeStatus.OPEN).exists():
        hits.append({"rule": "open_dispute", "hold_type": HoldType.DISPUTE,
                     "message": _("An open dispute exists on this payment: paying out would pay twice.")})
    destination = ticket.refund_to or {}
    payer = (ticket.payment.customer_name or "").strip().casefold()
    if destination.get("method") == "bank_transfer" and destination.get("account_name") and payer:
        if destination["account_name"].strip().casefold() != payer:
            hits.append({"rule": "destination_differs_from_payer", "hold_type": HoldType.COMPLIANCE,
                         "message": _("The bank account holder differs from the payer.")})
    threshold = ticket.policy.risk_threshold_amount
    if threshold is not None and ticket.amount > threshold:
        hits.append({"rule": "amount_over_risk_threshold", "hold_type": HoldType.RISK,
                     "message": _("The amount is above the policy's risk threshold of %(t)s.") % {"t": threshold}})
    return hits


def decide_intake(ticket: RefundTicket) -> IntakeDecision:
    needed = missing_customer_data(ticket)
    if needed:
        return IntakeDecision(State.AWAITING_CUSTOMER, needed=needed)
    hits = risk_hits(ticket)
    if hits:
        return IntakeDecision(State.ON_HOLD, hold_type=hits[0]["hold_type"], rule_hits=hits)
    policy = ticket.policy
    if (policy.auto_approve_max_amount is not None and ticket.amount <= policy.auto_approve_max_amount
            and not ticket.risk_flags and not policy.required_approval_roles(ticket.amount)):
        return IntakeDecision(State.APPROVED, rule_hits=[{"rule": "auto_approval",
                                                          "message": _("Auto-approved by the policy.")}])
    return IntakeDecision(State.IN_REVIEW)


def apply_customer_info(ticket: RefundTicket, data: dict) -> None:
    """Merge what the customer supplied into the ticket, validated with the intake rules."""
    errors: dict[str, list[str]] = {}
    destination = dict(ticket.refund_to or {"method": "original"})
    for key in ("iban", "account_name"):
        if key in data:
            destination[key] = str(data[key]).strip()
    if destination.get("iban") and not iban_is_valid(destination["iban"]):
        _add(errors, "iban", _("This IBAN is not valid (checksum or format)."))
    if "account_name" in data and not destination.get("account_name"):
        _add(errors, "account_name", _("Enter the account holder's name."))
    if data.get("customer_phone"):
        if not PHONE_RE.match(str(data["customer_phone"])):
            _add(errors, "customer_phone", _("Enter the phone number in international form, e.g. +8613800138000."))
        else:
            ticket.customer_phone = str(data["customer_phone"])
    if data.get("fallback_consent"):
        ticket.fallback_consent_at = timezone.now()
    still_missing = [n for n in (ticket.info_requested or []) if n in ("iban", "account_name")
                     and not destination.get(n)]
    for name in still_missing:
        _add(errors, name, _("This information is required."))
    if errors:
        raise InvalidInput(errors)
    ticket.refund_to = destination
