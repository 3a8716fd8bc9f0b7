"""Money rules: Decimal amounts at the currency's ISO 4217 exponent, never rounded silently."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Active ISO 4217 codes (2024 list).
ISO_CURRENCIES = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
    CAD CDF CHF CLF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP
    GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD
    KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK
    NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD
    SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYI UYU UYW UZS VES VND VUV WST
    XAF XCD XOF XPF YER ZAR ZMW ZWG
    """.split()
)
# Minor-unit exponents that differ from the usual 2.
_EXPONENT_EXCEPTIONS = {
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
MAX_DIGITS = 18
DECIMAL_PLACES = 4


def currency_exponent(currency: str) -> int:
    """Number of decimals the currency allows (JPY 0, USD 2, KWD 3)."""
    return _EXPONENT_EXCEPTIONS.get(currency, 2)


def validate_currency(currency: str) -> None:
    if currency not in ISO_CURRENCIES:
        raise ValidationError(_("%(code)s is not an ISO 4217 currency code."), params={"code": currency},
                              code="invalid_currency")


def parse_amount(value) -> Decimal:
    """A Decimal from a string/int/Decimal; floats are refused because they cannot hold money exactly."""
    if isinstance(value, float):
        raise ValidationError(_("Send amounts as decimal strings, not floating-point numbers."), code="float")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(_("Enter a decimal amount such as 12.50."), code="invalid_amount")
    if not amount.is_finite():
        raise ValidationError(_("Enter a decimal amount such as 12.50."), code="invalid_amount")
    return amount


def validate_amount(amount: Decimal, currency: str, *, allow_zero: bool = False) -> None:
    """Positive and with no more decimals than the currency allows (JPY 10.5 and USD 1.005 are refused)."""
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError(_("The amount must be greater than zero."), code="not_positive")
    if amount.adjusted() >= MAX_DIGITS - DECIMAL_PLACES:
        raise ValidationError(_("The amount is too large."), code="too_large")
    exponent = currency_exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-exponent)):
        raise ValidationError(
            _("%(currency)s allows %(places)s decimal places; %(amount)s has more."),
            params={"currency": currency, "places": exponent, "amount": amount},
            code="too_many_decimals",
        )


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Integer minor units (used for comparisons with tolerances, never floats)."""
    return int(amount.scaleb(currency_exponent(currency)))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Display form at the currency's exponent (only for amounts already validated)."""
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)))


def collect_money_errors(errors: dict[str, list[str]], *, amount, currency: str,
                         amount_currency: str | None = None, allow_zero: bool = False) -> Decimal | None:
    """Validate a currency code and an amount into `errors` (field → messages), all at once.

    The amount is checked against `amount_currency` (default: `currency`); when that currency is not
    a valid code the exponent check falls back to 2 decimals. Returns the parsed amount or None.
    """
    try:
        validate_currency(currency or "")
    except ValidationError as exc:
        errors.setdefault("currency", []).append(str(exc.messages[0]))
    exponent_currency = amount_currency or currency
    if exponent_currency not in ISO_CURRENCIES:
        exponent_currency = "XXX"
    try:
        parsed = parse_amount(amount)
        validate_amount(parsed, exponent_currency, allow_zero=allow_zero)
    except ValidationError as exc:
        errors.setdefault("amount", []).append(str(exc.messages[0]))
        return None
    return parsed
