"""Creating a refund ticket: validate, lock the payment, de-duplicate, create, run intake."""

from django.db import transaction
from django.utils.translation import gettext as _

from refunds import sla
from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.errors import Conflict
from refunds.intake import find_exact_duplicate, validate_request
from refunds.lifecycle import State
from refunds.models import Payment, RefundTicket
from refunds.models.tickets import Source
from refunds.policies import select_policy
from refunds.status_tokens import token_for, token_hash

from .transitions import perform_transition


class DuplicateRefund(Conflict):
    """An exact duplicate (same payment, amount, reason within 24 h): link, don't create twice."""

    def __init__(self, existing: RefundTicket):
        super().__init__(_("An identical refund %(ref)s was requested within the last 24 hours.")
                         % {"ref": existing.reference}, existing_reference=existing.reference)
        self.existing = existing


@transaction.atomic
def create_ticket(*, payment: Payment | None, amount, currency: str, reason: str, actor: Actor,
                  source: str = Source.STAFF, reason_detail: str = "", customer_language: str = "",
                  refund_to: dict | None = None, customer_email: str = "", customer_phone: str = "",
                  idempotency_key: str = "", run_intake: bool = True, channel=None,
                  fx_rate=None) -> RefundTicket:
    """Create a ticket and route it through intake. Raises InvalidInput with every field error.

    `channel` (optional code) must match the payment's; `fx_rate` is required when a cross-currency
    policy refunds in another currency than the payment's.
    """
    if payment is not None:
        # Serialise refunds of one payment so two requests cannot both spend the same balance.
        payment = Payment.objects.select_for_update(of=("self",)).select_related("channel").get(pk=payment.pk)
    cross_currency = False
    if payment is not None and currency and currency != payment.currency:
        policy_guess = select_policy(channel=payment.channel, region=payment.region, currency=currency,
                                     amount=payment.amount)
        cross_currency = policy_guess.scenario == "cross_currency"
    request = validate_request(
        payment=payment, amount=amount, currency=currency, reason=reason, reason_detail=reason_detail,
        customer_language=customer_language, refund_to=refund_to, customer_email=customer_email,
        customer_phone=customer_phone, cross_currency_allowed=cross_currency, channel=channel,
        fx_rate=fx_rate,
    )
    existing = find_exact_duplicate(payment=request.payment, amount=request.amount, reason=request.reason)
    if existing is not None:
        raise DuplicateRefund(existing)
    policy = select_policy(channel=payment.channel, region=payment.region, currency=request.currency,
                           amount=request.amount)
    ticket = RefundTicket(
        payment=payment, partner=payment.partner, amount=request.amount, currency=payment.currency,
        reason=request.reason, reason_detail=request.reason_detail, customer_email=request.customer_email,
        customer_phone=request.customer_phone, customer_language=request.customer_language,
        region=payment.region, refund_to=request.refund_to, channel=payment.channel, policy=policy,
        policy_version=policy.version, source=source, idempotency_key=idempotency_key,
        created_by=actor.user if actor.kind == "staff" else None,
    )
    if request.refund_currency:
        ticket.refund_currency = request.refund_currency
        ticket.fx_rate = request.fx_rate
        ticket.refund_amount = request.refund_amount
    ticket.status_token_hash = token_hash(token_for(ticket))
    ticket._history_user = actor.history_user
    ticket._change_reason = "created"
    ticket.save()
    append_entry(ticket, actor=actor, transition="create", to_state=State.SUBMITTED, customer_visible=True,
                 comment=request.reason_detail[:500])
    sla.on_create(ticket)
    if run_intake:
        ticket = perform_transition(ticket=ticket, name="intake", actor=Actor.system())
    return ticket


