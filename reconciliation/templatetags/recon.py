from decimal import Decimal

from django import template

from refunds.money import currency_exponent

register = template.Library()


@register.filter
def minor(value, currency):
    """Integer minor units → the currency's decimal form (2000, "USD" → 20.00)."""
    if value is None or value == "":
        return "—"
    return str(Decimal(int(value)).scaleb(-currency_exponent(currency or "USD")))
