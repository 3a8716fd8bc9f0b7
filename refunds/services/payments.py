"""Registering payments from partner systems (SPEC §12 `POST /payments/`): validate, then upsert."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds.balances import payment_balance
from refunds.errors import InvalidInput
from refunds.intake import PHONE_RE
from refunds.models import Channel, Partner, Payment
from refunds.money import collect_money_errors

# Clocks drift: a capture a few minutes "in the future" is a skew, further is a data error.
CAPTURE_CLOCK_SKEW = timedelta(minutes=10)


def _add(errors: dict, key: str, message) -> None:
    errors.setdefault(key, []).append(str(message))


def _validate(*, channel: str, amount, currency: str, captured_at, customer_email: str, customer_phone: str):
    errors: dict[str, list[str]] = {}
    channel_obj = Channel.objects.filter(code=channel, active=True).first()
    if channel_obj is None:
        _add(errors, "channel", _("Unknown or inactive channel “%(c)s”.") % {"c": channel})
    parsed = collect_money_errors(errors, amount=amount, currency=currency)
    if channel_obj is not None and channel_obj.currencies and "currency" not in errors \
            and currency not in channel_obj.currencies:
        _add(errors, "currency", _("%(ch)s does not support %(c)s.") % {"ch": channel_obj.code, "c": currency})
    if captured_at and captured_at > timezone.now() + CAPTURE_CLOCK_SKEW:
        _add(errors, "captured_at", _("The capture time is in the future."))
    try:
        validate_email(customer_email or "")
    except ValidationError:
        _add(errors, "customer_email", _("Enter a valid e-mail address."))
    if customer_phone and not PHONE_RE.match(customer_phone):
        _add(errors, "customer_phone", _("Enter the phone number in international form, e.g. +8613800138000."))
    return errors, channel_obj, parsed


def _check_update(errors: dict, payment: Payment, channel: Channel, amount, currency: str) -> None:
    """A payment with refunds keeps its channel and currency, and cannot shrink below what is claimed."""
    if not payment.tickets.exists():
        return
    if channel is not None and channel.pk != payment.channel_id:
        _add(errors, "channel", _("The payment has refunds; its channel cannot change."))
    if currency != payment.currency:
        _add(errors, "currency", _("The payment has refunds; its currency cannot change."))
    if amount is not None:
        balance = payment_balance(payment)
        claimed = balance.refunded + balance.in_flight + balance.disputed
        if amount < claimed:
            _add(errors, "amount", _("Refunds and disputes already claim %(c)s on this payment.") % {"c": claimed})


@transaction.atomic
def upsert_payment(*, actor, payment_ref: str, order_ref: str, channel: str, amount,
                   currency: str, captured_at, customer_email: str, customer_name: str = "",
                   customer_phone: str = "", region: str = "", fee_amount=None,
                   instrument_fingerprint: str = "") -> tuple[Payment, bool]:
    """Create or update the actor's (partner's) payment `payment_ref`; returns (payment, created)."""
    partner: Partner | None = actor.partner
    errors, channel_obj, parsed = _validate(channel=channel, amount=amount, currency=currency,
                                            captured_at=captured_at, customer_email=customer_email,
                                            customer_phone=customer_phone)
    existing = Payment.objects.select_for_update().filter(partner=partner, payment_ref=payment_ref).first()
    if existing is not None:
        _check_update(errors, existing, channel_obj, parsed, currency)
    fee = None
    if fee_amount is not None:
        fee = collect_money_errors(fee_errors := {}, amount=fee_amount, currency=currency, allow_zero=True)
        if fee_errors.get("amount"):
            errors.setdefault("fee_amount", []).extend(fee_errors["amount"])
        elif parsed is not None and fee is not None and fee > parsed:
            errors.setdefault("fee_amount", []).append(_("The fee cannot exceed the captured amount."))
    if errors:
        raise InvalidInput(errors)
    values = dict(order_ref=order_ref, channel=channel_obj, amount=parsed, currency=currency, captured_at=captured_at,
                  customer_email=customer_email, customer_name=customer_name or "",
                  customer_phone=customer_phone or "", region=(region or "").upper())
    if fee is not None:
        values["fee_amount"] = fee
    if instrument_fingerprint:
        values["instrument_fingerprint"] = instrument_fingerprint
    if existing is not None:
        return _save(existing, values, actor), False
    try:
        with transaction.atomic():
            return _save(Payment(partner=partner, payment_ref=payment_ref), values, actor), True
    except IntegrityError:
        # A concurrent request created it first: update that row instead (same upsert semantics).
        payment = Payment.objects.select_for_update().get(partner=partner, payment_ref=payment_ref)
        return _save(payment, values, actor), False


def _save(payment: Payment, values: dict, actor) -> Payment:
    for name, value in values.items():
        setattr(payment, name, value)
    payment._history_user = actor.history_user  # the request's principal may be a partner, not a User
    payment._change_reason = f"api upsert by {actor.label}"
    payment.save()
    return payment


def find_payment(*, actor, payment_ref: str) -> Payment | None:
    """The payment `payment_ref` as the actor may refund it: a partner's own, or (staff) the unique match."""
    payments = Payment.objects.filter(payment_ref=payment_ref).select_related("channel", "partner")
    if actor.partner is not None:
        return payments.filter(partner=actor.partner).first()
    found = list(payments[:2])
    if len(found) > 1:
        raise InvalidInput({"payment_ref": [_("Several partners use this payment reference; ask the partner.")]})
    return found[0] if found else None
