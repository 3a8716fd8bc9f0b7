"""Intake rules (SPEC §5, §7): validate a refund request field by field, then decide where it goes.

`validate_request` returns *all* errors at once, keyed by field. `decide_intake` is the automatic
routing: missing customer data → awaiting_customer; risk/dispute/compliance → on_hold; small,
clean refunds under an auto-approval rule → approved; everything else → in_review.
`risk_hits` (the configurable rules of refunds.risk) runs at intake and again before payout
(`pre_payout_hold`).
"""

import re
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds.balances import payment_balance
from refunds.errors import InvalidInput
from refunds.lifecycle import State
from refunds.models import Channel, Payment, RefundTicket
from refunds.models.tickets import Language, ReasonCode
from refunds.money import collect_money_errors, currency_exponent
from refunds.risk import normalise_iban
from refunds.sop import policy_for_ticket

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
    refund_currency: str = ""
    fx_rate: Decimal | None = None
    refund_amount: Decimal | None = None


def _add(errors: dict, key: str, message) -> None:
    errors.setdefault(key, []).append(str(message))


def validate_request(*, payment: Payment | None, amount, currency: str, reason: str, reason_detail: str = "",
                     customer_language: str = "", refund_to: dict | None = None, customer_email: str = "",
                     customer_phone: str = "", cross_currency_allowed: bool = False,
                     channel: Channel | str | None = None, fx_rate=None) -> RefundRequest:
    """Check every field, raise InvalidInput with all errors, or return the normalised request.

    `amount` is in the payment's currency (what leaves the payment's balance); `currency` is the
    currency the customer is refunded in. They differ only under a cross-currency policy, and then
    `fx_rate` (refund currency per payment currency unit) is required and recorded.
    """
    errors: dict[str, list[str]] = {}
    if payment is None:
        _add(errors, "payment_ref", _("No payment with this reference is registered."))
    elif channel:
        code = channel.code if isinstance(channel, Channel) else str(channel)
        if code != payment.channel.code:
            _add(errors, "channel", _("This payment was made with %(ch)s, not %(given)s.")
                 % {"ch": payment.channel.code, "given": code})
    parsed = collect_money_errors(errors, amount=amount, currency=currency,
                                  amount_currency=payment.currency if payment is not None else None)
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
        destination = dict(destination)
        if destination.get("iban"):
            destination["iban"] = normalise_iban(destination["iban"])
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
    rate = refund_amount = None
    converting = payment is not None and currency != payment.currency and not errors.get("currency")
    if converting and parsed is not None:
        rate = _parse_rate(errors, fx_rate)
        if rate is not None:
            refund_amount = (parsed * rate).quantize(Decimal(1).scaleb(-currency_exponent(currency)),
                                                     rounding=ROUND_HALF_EVEN)
    if errors:
        raise InvalidInput(errors)
    return RefundRequest(payment=payment, amount=parsed, currency=currency, reason=reason,
                         reason_detail=reason_detail or "", customer_language=language, refund_to=destination,
                         customer_email=customer_email or payment.customer_email,
                         customer_phone=customer_phone,
                         refund_currency=currency if rate is not None else "", fx_rate=rate,
                         refund_amount=refund_amount)


def _parse_rate(errors: dict, fx_rate) -> Decimal | None:
    """A cross-currency refund records the FX rate it was converted at: required, positive, exact."""
    if fx_rate in (None, ""):
        _add(errors, "fx_rate", _("A cross-currency refund needs the FX rate it is converted at."))
        return None
    if isinstance(fx_rate, float):
        _add(errors, "fx_rate", _("Send the FX rate as a decimal string."))
        return None
    try:
        rate = Decimal(str(fx_rate))
    except (InvalidOperation, ValueError):
        rate = Decimal(0)
    if not rate.is_finite() or rate <= 0 or rate.as_tuple().exponent < -8 or rate.adjusted() >= 10:
        _add(errors, "fx_rate", _("Enter a positive FX rate with at most 8 decimals."))
        return None
    return rate


def _check_against_payment(errors, payment: Payment, amount: Decimal, currency: str, cross_currency: bool):
    channel = payment.channel
    if currency != payment.currency and not (cross_currency and not channel.same_currency_only):
        _add(errors, "currency", _("The payment was made in %(c)s; refund in the same currency.")
             % {"c": payment.currency})
        return
    if currency != payment.currency and channel.currencies and currency not in channel.currencies:
        _add(errors, "currency", _("%(ch)s refunds only in %(list)s.")
             % {"ch": channel.code, "list": ", ".join(channel.currencies)})
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
    """Fields the customer still has to supply before review can start (the policy's required fields)."""
    needed = []
    destination = ticket.refund_to or {}
    if destination.get("method") == "bank_transfer":
        needed += [key for key in ("iban", "account_name") if not destination.get(key)]
    for name in policy_for_ticket(ticket).required_fields or []:
        if name.startswith("refund_to."):
            key = name.split(".", 1)[1]
            if not destination.get(key) and key not in needed:
                needed.append(key)
        elif not getattr(ticket, name, None) and name not in needed:
            needed.append(name)
    return needed


def risk_hits(ticket: RefundTicket) -> list[dict]:
    """Risk rules that hold this ticket now: [{rule, hold_type, message, name, kind, rule_id}].

    Pure (writes nothing). Runs the intake rules, or the before-payout rules once the ticket is
    approved or later. Called by intake, by `pre_payout_hold` and by the payout service.
    """
    from refunds import risk

    checkpoint = risk.PAYOUT if ticket.state in (State.APPROVED, State.PROCESSING) else risk.INTAKE
    return risk.evaluate(ticket, checkpoint)


def over_velocity_limit(ticket: RefundTicket, policy) -> bool:
    """The auto-approval velocity limit: this customer already had `limit` refunds in the window."""
    limit = policy.auto_approve_velocity_limit
    if limit is None:
        return False
    since = ticket.created_at - timedelta(hours=policy.auto_approve_velocity_hours)
    email = ticket.customer_email or ticket.payment.customer_email
    earlier = (RefundTicket.objects.filter(created_at__gte=since, created_at__lte=ticket.created_at)
               .filter(Q(customer_email__iexact=email) | Q(payment_id=ticket.payment_id))
               .exclude(pk=ticket.pk))
    return earlier.count() >= limit


def auto_approval_refusal(ticket: RefundTicket) -> str | None:
    """Why the policy's auto-approval does not apply (None when it does)."""
    policy = policy_for_ticket(ticket)
    if policy.auto_approve_max_amount is None:
        return "no_auto_approval"
    if ticket.amount > policy.auto_approve_max_amount:
        return "amount_over_auto_approval_limit"
    if ticket.risk_flags:
        return "risk_flag"
    if policy.required_approval_roles(ticket.amount):
        return "approvals_required"
    if over_velocity_limit(ticket, policy):
        return "velocity_limit"
    return None


def decide_intake(ticket: RefundTicket) -> IntakeDecision:
    needed = missing_customer_data(ticket)
    if needed:
        return IntakeDecision(State.AWAITING_CUSTOMER, needed=needed)
    hits = risk_hits(ticket)
    if hits:
        return IntakeDecision(State.ON_HOLD, hold_type=hits[0]["hold_type"], rule_hits=hits)
    if auto_approval_refusal(ticket) is None:
        return IntakeDecision(State.APPROVED, rule_hits=[{"rule": "auto_approval", "name": "Auto-approval",
                                                          "message": _("Auto-approved by the policy.")}])
    return IntakeDecision(State.IN_REVIEW)


def pre_payout_hold(ticket: RefundTicket, actor) -> bool:
    """Run the before-payout rules on a locked, approved ticket; hold it on the first hit's type.

    Returns True when the ticket was put on hold (the payout must not go ahead). The caller holds
    the row lock (refunds.services.transitions.lock_ticket) inside a transaction.
    """
    from refunds.risk import PAYOUT
    from refunds.services.transitions import open_hold

    if ticket.state != State.APPROVED:
        return False
    hits = risk_hits(ticket)
    if not hits:
        return False
    open_hold(ticket, actor, hits[0]["hold_type"], "; ".join(hit["message"] for hit in hits),
              rule_hits=hits, checkpoint=PAYOUT)
    return True


DESTINATION_KEYS = ("iban", "account_name")
TICKET_KEYS = ("customer_phone", "customer_email")


def apply_customer_info(ticket: RefundTicket, data: dict) -> dict:
    """Merge what the customer supplied into the ticket, validated with the intake rules.

    Every item in `ticket.info_requested` must be satisfied afterwards; all errors come at once.
    Returns the free-form items supplied (those without a ticket field) for the timeline.
    """
    data = data if isinstance(data, dict) else {}
    errors: dict[str, list[str]] = {}
    destination = dict(ticket.refund_to or {"method": "original"})
    for key in DESTINATION_KEYS:
        if key in data:
            destination[key] = " ".join(str(data[key] or "").split())
    if "iban" in data and destination.get("iban"):
        destination["iban"] = normalise_iban(destination["iban"])
        if not iban_is_valid(destination["iban"]):
            _add(errors, "iban", _("This IBAN is not valid (checksum or format)."))
    if "account_name" in data and not destination.get("account_name"):
        _add(errors, "account_name", _("Enter the account holder's name."))
    phone = str(data.get("customer_phone") or "").strip()
    if phone:
        if not PHONE_RE.match(phone):
            _add(errors, "customer_phone", _("Enter the phone number in international form, e.g. +8613800138000."))
        else:
            ticket.customer_phone = phone
    email = str(data.get("customer_email") or "").strip()
    if email:
        try:
            validate_email(email)
            ticket.customer_email = email
        except ValidationError:
            _add(errors, "customer_email", _("Enter a valid e-mail address."))
    if str(data.get("fallback_consent")).lower() in ("true", "1", "yes"):
        ticket.fallback_consent_at = timezone.now()
    free_form = {}
    for name in ticket.info_requested or []:
        if name in DESTINATION_KEYS:
            satisfied = bool(destination.get(name))
        elif name in TICKET_KEYS:
            satisfied = bool(getattr(ticket, name))
        elif name == "fallback_consent":
            satisfied = ticket.fallback_consent_at is not None
        else:
            value = str(data.get(name) or "").strip()
            satisfied = bool(value)
            if satisfied:
                free_form[name] = value[:1000]
        if not satisfied and name not in errors:
            _add(errors, name, _("This information is required."))
    if errors:
        raise InvalidInput(errors)
    ticket.refund_to = destination
    return free_form
