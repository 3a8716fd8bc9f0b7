"""Small display helpers for the ops screens (no rules here: figures come from stored fields)."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


def _span(seconds: int) -> str:
    minutes = seconds // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)sd %(h)sh") % {"d": days, "h": hours}
    if hours:
        return _("%(h)sh %(m)sm") % {"h": hours, "m": mins}
    return _("%(m)sm") % {"m": mins}


@register.filter
def time_left(due: datetime | None) -> str:
    """"2h 15m left" / "overdue 1h 5m" / "—" (wall-clock time to the stored due instant)."""
    if due is None:
        return "—"
    seconds = int((due - timezone.now()).total_seconds())
    if seconds >= 0:
        return _("%(span)s left") % {"span": _span(seconds)}
    return _("overdue %(span)s") % {"span": _span(-seconds)}


@register.filter
def minutes_span(seconds: int | None) -> str:
    return "—" if seconds is None else _span(int(seconds))


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (pagination, sorting, queue tabs)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def money(amount, currency: str = "") -> str:
    """An amount with its currency's ISO 4217 exponent (200.00 USD, 1500 JPY), never rounded silently."""
    from decimal import Decimal

    from refunds.money import currency_exponent

    if amount is None or amount == "":
        return "—"
    try:
        places = currency_exponent(currency) if currency else 2
    except Exception:
        places = 2
    value = Decimal(amount)
    shown = value.quantize(Decimal(1).scaleb(-places)) if value == value.quantize(Decimal(1).scaleb(-places)) \
        else value.normalize()
    return f"{shown} {currency}".strip()
