"""The customer status page and the lost-link lookup. Thin: forms shape input, services decide."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from notifications.render import format_amount
from refunds.client_ip import client_ip
from refunds.errors import DomainError, InvalidInput
from refunds.eta import expected_arrival
from refunds.lifecycle import State

from . import services
from .forms import ConsentForm, FeedbackForm, InfoForm, LookupForm
from .progress import FEEDBACK_STATES, channel_label, progress_for
from .security import customer_page
from .selectors import in_app_messages, ticket_for_token, timeline

LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]


def page_language(request, ticket=None) -> str:
    """?lang= when given (the switch on the page), else the ticket's language, else the browser's."""
    asked = request.GET.get("lang", "")
    if asked in LANGUAGE_CODES:
        return asked
    if ticket is not None and ticket.customer_language in LANGUAGE_CODES:
        return ticket.customer_language
    return translation.get_language() if translation.get_language() in LANGUAGE_CODES else "en"


def _get_ticket(token: str):
    ticket = ticket_for_token(token)
    if ticket is None:
        raise Http404("No such status page.")
    return ticket


def _page_url(token: str, language: str) -> str:
    return f"{reverse('status:page', args=[token])}?lang={language}"


def _render_page(request, ticket, token: str, language: str, *, info_form=None, feedback_form=None, status=200):
    entries = timeline(ticket)
    sent_on = next((e.at.date() for e in reversed(entries) if e.to_state == State.PROCESSING), None)
    eta = expected_arrival(ticket, sent_on=sent_on) if ticket.state not in FEEDBACK_STATES else None
    needed = list(ticket.info_requested or [])
    if ticket.state == State.AWAITING_CUSTOMER and info_form is None and needed:
        info_form = InfoForm(needed=needed, channel_name=channel_label(ticket.channel))
    feedback = getattr(ticket, "feedback", None) if ticket.state in FEEDBACK_STATES else None
    if ticket.state in FEEDBACK_STATES and feedback is None and feedback_form is None:
        feedback_form = FeedbackForm()
    context = {
        "ticket": ticket,
        "token": token,
        "language": language,
        "progress": progress_for(ticket.state, ticket.info_requested),
        "eta": eta,
        "timeline": entries,
        "inbox": in_app_messages(ticket),
        "info_form": info_form if ticket.state == State.AWAITING_CUSTOMER else None,
        "consent_form": ConsentForm() if services.consent_needed(ticket) else None,
        "feedback_form": feedback_form if feedback is None else None,
        "feedback": feedback,
        "amount": format_amount(ticket.refund_amount or ticket.amount, ticket.refund_currency or ticket.currency),
        "currency": ticket.refund_currency or ticket.currency,
        "languages": settings.LANGUAGES,
        "page_url": reverse("status:page", args=[token]),
        "channel_name": channel_label(ticket.channel),
        "fallback_name": channel_label(ticket.channel.fallback_channel),
    }
    response = render(request, "status/page.html", context, status=status)
    response["Content-Language"] = language
    return response


@customer_page
@require_http_methods(["GET", "HEAD"])
def status_page(request, token: str):
    ticket = _get_ticket(token)
    language = page_language(request, ticket)
    with translation.override(language):
        if request.method == "GET":
            services.record_visit(ticket.pk, client_ip(request))
        return _render_page(request, ticket, token, language)


@customer_page
@require_POST
def provide_info(request, token: str):
    ticket = _get_ticket(token)
    language = page_language(request, ticket)
    with translation.override(language):
        if ticket.state != State.AWAITING_CUSTOMER:
            messages.info(request, _("We already have what we need; nothing to add now."))
            return redirect(_page_url(token, language))
        form = InfoForm(request.POST, needed=list(ticket.info_requested or []),
                        channel_name=channel_label(ticket.channel))
        if form.is_valid():
            try:
                services.provide_info(ticket, form.data_for_service())
            except InvalidInput as exc:
                for field, errors in exc.errors.items():
                    for error in errors:
                        form.add_error(field if field in form.fields else None, error)
            except DomainError as exc:
                messages.error(request, exc.detail)
                return redirect(_page_url(token, language))
            else:
                messages.success(request, _("Thank you — we received your information and continue with your refund."))
                return redirect(_page_url(token, language))
        messages.error(request, _("Please correct the highlighted fields."))
        return _render_page(request, ticket, token, language, info_form=form, status=422)


@customer_page
@require_POST
def consent(request, token: str):
    ticket = _get_ticket(token)
    language = page_language(request, ticket)
    with translation.override(language):
        form = ConsentForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Tick the box to agree, or leave the page if you do not agree."))
        else:
            try:
                services.give_fallback_consent(ticket)
            except DomainError as exc:
                messages.error(request, exc.detail)
            else:
                messages.success(request, _("Thank you — we recorded your consent."))
        return redirect(_page_url(token, language))


@customer_page
@require_POST
def feedback(request, token: str):
    ticket = _get_ticket(token)
    language = page_language(request, ticket)
    with translation.override(language):
        form = FeedbackForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Choose a rating from 1 to 5."))
            return _render_page(request, ticket, token, language, feedback_form=form, status=422)
        try:
            services.submit_feedback(ticket, form.cleaned_data["rating"], form.cleaned_data["comment"])
        except DomainError as exc:
            messages.info(request, exc.detail)
        else:
            messages.success(request, _("Thank you for your feedback!"))
        return redirect(_page_url(token, language))


@customer_page
@require_POST
def opt_out(request, token: str):
    """Stop e-mail or SMS updates for the address on this refund (the status page keeps working)."""
    from notifications.services import opt_out as record_opt_out

    ticket = _get_ticket(token)
    language = page_language(request, ticket)
    with translation.override(language):
        channel = request.POST.get("channel")
        address = {"email": ticket.customer_email, "sms": ticket.customer_phone}.get(channel or "")
        if address:
            record_opt_out(channel=channel, address=address)
            messages.success(request, _("Done: we will not send you these updates any more."))
        return redirect(_page_url(token, language))


@customer_page
@require_http_methods(["GET", "HEAD", "POST"])
def lookup(request):
    """Lost link: the answer is the same whether or not a refund matches (no enumeration)."""
    language = page_language(request)
    with translation.override(language):
        if request.method != "POST":
            return render(request, "status/lookup.html", {"form": LookupForm(), "language": language,
                                                          "languages": settings.LANGUAGES})
        form = LookupForm(request.POST)
        if not form.is_valid():
            return render(request, "status/lookup.html", {"form": form, "language": language,
                                                          "languages": settings.LANGUAGES}, status=422)
        email = form.cleaned_data["email"]
        if not services.lookup_allowed(client_ip(request), email):
            return render(request, "status/lookup.html", {"form": form, "language": language, "limited": True,
                                                          "languages": settings.LANGUAGES}, status=429)
        services.request_status_link(order_ref=form.cleaned_data["order_ref"], email=email, ip=client_ip(request))
        return render(request, "status/lookup_sent.html", {"language": language, "languages": settings.LANGUAGES})
