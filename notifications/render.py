"""Rendering a template for one ticket, in one language.

Templates are Django template strings edited by admins. Text bodies render without escaping (they
are not HTML); HTML bodies render with autoescape on, so customer-supplied text can never inject
markup. Dates and numbers are formatted in the message's language.
"""

from dataclasses import dataclass

from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.formats import date_format

from refunds.money import currency_exponent

_engine = Engine(debug=False, libraries={})


@dataclass
class Rendered:
    subject: str
    body: str
    body_html: str


def check_syntax(text: str) -> None:
    """Raise TemplateSyntaxError for a template that would not render (used by the admin form)."""
    _engine.from_string(text or "")


def format_amount(amount, currency: str) -> str:
    exponent = currency_exponent(currency)
    return f"{amount:,.{exponent}f}"


def ticket_context(ticket, language: str) -> dict:
    """Variables every template may use. Only the ticket's reference and its link, no other PII."""
    from refunds.customer.progress import channel_label, field_label
    from refunds.eta import expected_arrival
    from refunds.status_tokens import status_url

    with translation.override(language):
        eta = expected_arrival(ticket)
        needed = ", ".join(str(field_label(name)) for name in ticket.info_requested or [])
        next_steps = str(_next_steps(ticket))
        return {
            "reference": ticket.reference,
            "amount": format_amount(ticket.refund_amount or ticket.amount, ticket.refund_currency or ticket.currency),
            "currency": ticket.refund_currency or ticket.currency,
            "channel": channel_label(ticket.channel),
            "status_url": status_url(ticket),
            "eta_from": date_format(eta[0], "DATE_FORMAT") if eta else "",
            "eta_to": date_format(eta[1], "DATE_FORMAT") if eta else "",
            "needed": needed,
            "next_steps": next_steps,
        }


def _next_steps(ticket):
    from django.utils.translation import gettext_lazy as _

    if ticket.channel.fallback_channel_id and ticket.fallback_consent_at is None:
        return _("We will try again. If it fails again, we may ask you on your status page to agree to "
                 "another refund method.")
    return _("We will try again and tell you as soon as the refund is on its way. You do not need to do anything.")


def render(template, context: dict, language: str) -> Rendered:
    with translation.override(language):
        subject = _engine.from_string(template.subject or "").render(Context(context, autoescape=False))
        body = _engine.from_string(template.body or "").render(Context(context, autoescape=False))
        if template.channel != "email":
            return Rendered(subject=" ".join(subject.split()), body=body.strip(), body_html="")
        if template.body_html:
            html = _engine.from_string(template.body_html).render(Context(context, autoescape=True))
        else:
            html = render_to_string("notifications/email.html", {"subject": subject, "body": body,
                                                                 "status_url": context.get("status_url", ""),
                                                                 "LANGUAGE_CODE": language})
    return Rendered(subject=" ".join(subject.split()), body=body.strip(), body_html=html)


__all__ = ["Rendered", "TemplateSyntaxError", "check_syntax", "render", "ticket_context"]
