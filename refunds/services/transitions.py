"""Every ticket transition goes through `perform_transition`.

It locks the ticket row, checks RACI, checks the state, runs the transition's own rules (one
handler per transition below), saves with the actor recorded in history, appends the hash-chained
log entry and schedules side effects for after the commit.
"""

from datetime import timedelta
from functools import partial

import django_fsm
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds import jobqueue, raci, sla
from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.errors import InvalidInput, NotFound, TransitionForbidden, TransitionNotAllowed
from refunds.lifecycle import TRANSITIONS, Role, Stage, State
from refunds.models import Approval, Channel, Dispute, Hold, PayoutAttempt, RefundTicket
from refunds.models.audit import ActorKind, LogKind
from refunds.models.payments import DisputeStatus
from refunds.models.tickets import (
    HOLD_OWNER_ROLE,
    ApprovalDecision,
    FailureReason,
    HoldType,
    PayoutStatus,
)
from refunds.signals import ticket_transitioned
from refunds.sop import ensure_checklist_complete, policy_for_ticket

# States whose transition is visible to the customer on the status page.
CUSTOMER_VISIBLE_TARGETS = {
    State.IN_REVIEW, State.AWAITING_CUSTOMER, State.APPROVED, State.PROCESSING, State.REFUNDED,
    State.REJECTED, State.CANCELLED, State.FAILED,
}


class RejectReason:
    CHOICES = ("outside_window", "not_eligible", "fraud_suspected", "duplicate", "insufficient_evidence",
               "policy_violation", "customer_unresponsive", "other")


def lock_ticket(ticket: RefundTicket | str | int) -> RefundTicket:
    """The ticket, re-read under a row lock (PostgreSQL `SELECT … FOR UPDATE`)."""
    # Lock the ticket row only (of=self): joined payment/channel/policy rows stay unlocked, so payouts
    # on one channel never queue behind each other.
    query = RefundTicket.objects.select_for_update(of=("self",)).select_related("policy", "payment", "channel")
    try:
        if isinstance(ticket, RefundTicket):
            return query.get(pk=ticket.pk)
        if isinstance(ticket, int):
            return query.get(pk=ticket)
        return query.get(reference=ticket)
    except RefundTicket.DoesNotExist:
        raise NotFound(_("No such refund."))


@transaction.atomic
def perform_transition(*, ticket: RefundTicket | str | int, name: str, actor: Actor, comment: str = "",
                       **payload) -> RefundTicket:
    """Run transition `name` on `ticket` as `actor`; payload carries the transition's own inputs."""
    if name not in TRANSITIONS:
        raise InvalidInput({"name": [_("Unknown transition “%(name)s”.") % {"name": name}]})
    locked = lock_ticket(ticket)
    raci.ensure_can_transition(actor, name, locked)
    spec = TRANSITIONS[name]
    if locked.state not in spec.sources:
        raise TransitionNotAllowed(
            _("“%(name)s” is not possible while the refund is %(state)s.")
            % {"name": name, "state": State(locked.state).label},
            state=locked.state,
        )
    ensure_checklist_complete(locked, name, payload)
    return HANDLERS[name](locked, actor, (comment or "").strip(), payload)


def apply(ticket: RefundTicket, name: str, actor: Actor, *, comment: str = "", data: dict | None = None,
          customer_visible: bool | None = None, **method_kwargs) -> RefundTicket:
    """Run the FSM method, save with history actor, log, and schedule after-commit effects."""
    from_state = ticket.state
    try:
        getattr(ticket, name)(**method_kwargs)
    except django_fsm.TransitionNotAllowed:
        raise TransitionNotAllowed(_("“%(name)s” is not possible now.") % {"name": name})
    ticket._history_user = actor.history_user
    ticket._change_reason = (f"{name}" + (f": {comment}" if comment else ""))[:100]  # history column
    try:
        ticket.save()
    except django_fsm.ConcurrentTransition:
        raise TransitionNotAllowed(_("The refund changed meanwhile; reload and try again."))
    sla.on_transition(ticket, from_state, ticket.state)
    if customer_visible is None:
        customer_visible = ticket.state in CUSTOMER_VISIBLE_TARGETS and ticket.state != from_state
    append_entry(ticket, actor=actor, transition=name, from_state=from_state, to_state=ticket.state,
                 comment=comment, customer_visible=customer_visible, data=data)
    transaction.on_commit(partial(after_commit, ticket.pk, name, from_state, ticket.state, actor.kind))
    return ticket


def after_commit(ticket_id: int, name: str, from_state: str, to_state: str, actor_kind: str) -> None:
    """Side effects, only once the transition is durable."""
    if to_state == State.APPROVED and from_state != State.APPROVED:
        jobqueue.enqueue("payouts", "refunds.jobs.submit_payout", ticket_id)
    ticket_transitioned.send(sender=RefundTicket, ticket_id=ticket_id, transition=name,
                             from_state=from_state, to_state=to_state, actor_kind=actor_kind)


# --- Handlers, one per transition -----------------------------------------------------------------

def _intake(ticket, actor, comment, payload):
    from refunds.info_requests import info_request_message
    from refunds.intake import decide_intake
    from refunds.risk import INTAKE, record_hits

    decision = decide_intake(ticket)
    data = None
    if decision.target == State.ON_HOLD:
        # Released intake holds go back to review: intake itself never runs twice.
        ticket.held_from = State.IN_REVIEW
        hold = Hold.objects.create(ticket=ticket, hold_type=decision.hold_type,
                                   owner_role=HOLD_OWNER_ROLE[decision.hold_type], reason=decision.summary,
                                   return_state=State.IN_REVIEW, opened_by=None)
        record_hits(ticket, decision.rule_hits, actor=actor, checkpoint=INTAKE, hold=hold)
        data = {"hold_type": decision.hold_type, "rules": [hit["rule"] for hit in decision.rule_hits]}
    else:
        for hit in decision.rule_hits:  # auto-approval: on the timeline, but no hold
            append_entry(ticket, actor=actor, kind=LogKind.RULE_HIT, comment=hit["message"],
                         data={"rule": hit["rule"], "name": hit.get("name", hit["rule"])})
    if decision.needed:
        ticket.info_requested = decision.needed
        comment = comment or info_request_message(decision.needed, ticket.customer_language)
        data = {"needed": decision.needed}
    return apply(ticket, "intake", actor, comment=comment, target=decision.target, data=data)


def _request_info(ticket, actor, comment, payload):
    from refunds.info_requests import info_request_message

    needed = [str(item).strip() for item in payload.get("needed") or [] if str(item).strip()]
    if not needed:
        raise InvalidInput({"needed": [_("Say which information the customer must supply.")]})
    message = info_request_message(needed, ticket.customer_language)
    return apply(ticket, "request_info", actor, comment=comment or message, needed=needed,
                 data={"needed": needed, "message": message}, customer_visible=True)


def _provide_info(ticket, actor, comment, payload):
    from refunds.intake import apply_customer_info, risk_hits
    from refunds.risk import PROVIDE_INFO

    provided = apply_customer_info(ticket, payload.get("data") or {})
    ticket = apply(ticket, "provide_info", actor, comment=comment,
                   data={"provided": provided} if provided else None)
    # New data (e.g. another account holder's name) can trip a rule that intake could not check.
    hits = risk_hits(ticket)
    if hits:
        reason = "; ".join(h["message"] for h in hits)
        ticket = open_hold(ticket, Actor.system(), hits[0]["hold_type"], reason, rule_hits=hits,
                           checkpoint=PROVIDE_INFO)
    return ticket


def _approve(ticket, actor, comment, payload):
    roles = policy_for_ticket(ticket).required_approval_roles(ticket.amount)
    if roles:
        raise TransitionNotAllowed(
            _("This refund needs approval by %(roles)s: use “request_approval”.") % {"roles": ", ".join(roles)})
    return apply(ticket, "approve", actor, comment=comment)


def _request_approval(ticket, actor, comment, payload):
    roles = policy_for_ticket(ticket).required_approval_roles(ticket.amount)
    if not roles:
        raise TransitionNotAllowed(_("No extra approval is required for this amount: use “approve”."))
    last_round = ticket.approvals.order_by("-round").values_list("round", flat=True).first() or 0
    Approval.objects.bulk_create(
        Approval(ticket=ticket, round=last_round + 1, role=role, requested_by=actor.user) for role in roles
    )
    return apply(ticket, "request_approval", actor, comment=comment, data={"roles": roles})


def _record_approval(ticket, actor, comment, payload):
    decision = payload.get("decision")
    if decision not in ("approve", "reject"):
        raise InvalidInput({"decision": [_("Choose “approve” or “reject”.")]})
    if decision == "reject" and not comment:
        raise InvalidInput({"comment": [_("Give the reason for the rejection.")]})
    current_round = ticket.approvals.order_by("-round").values_list("round", flat=True).first()
    rows = list(ticket.approvals.filter(round=current_round))
    user = actor.user
    if user is not None:
        if user.pk == ticket.created_by_id:
            raise TransitionForbidden(_("Four-eyes rule: you submitted this refund, so you cannot approve it."))
        if any(row.requested_by_id == user.pk for row in rows):
            raise TransitionForbidden(_("Four-eyes rule: you sent this refund for approval."))
        if any(row.approver_id == user.pk for row in rows):
            raise TransitionForbidden(_("Four-eyes rule: you already filled an approval row for this refund."))
    accountable = raci.Matrix().accountable(Stage.APPROVAL)
    pending = [row for row in rows if row.decision == ApprovalDecision.PENDING]
    mine = [row for row in pending if row.role in actor.roles] or (
        pending if (actor.roles & accountable or actor.kind == ActorKind.SYSTEM) else [])
    if not mine:
        needed = sorted({row.role for row in pending})
        raise TransitionForbidden(
            _("No pending approval for your roles; waiting for %(roles)s.") % {"roles": ", ".join(needed) or "—"})
    row = mine[0]
    row.approver = user
    row.decision = ApprovalDecision.APPROVED if decision == "approve" else ApprovalDecision.REJECTED
    row.comment = comment
    row.decided_at = timezone.now()
    row.save()
    decisions = [r.decision for r in rows]
    if ApprovalDecision.REJECTED in decisions:
        outcome = State.REJECTED
    elif all(d == ApprovalDecision.APPROVED for d in decisions):
        outcome = State.APPROVED
    else:
        outcome = State.PENDING_APPROVAL
    return apply(ticket, "record_approval", actor, comment=comment, outcome=outcome,
                 data={"role": row.role, "decision": row.decision},
                 customer_visible=outcome != State.PENDING_APPROVAL)


def open_hold(ticket, actor, hold_type: str, reason: str, *, rule_hits: list[dict] | None = None,
              checkpoint: str = "") -> RefundTicket:
    """Put a locked ticket on hold (also used by risk rules after intake and before payout).

    `rule_hits` (from refunds.intake.risk_hits) are written to the timeline and tied to the hold, so
    releasing it clears those rules for this ticket.
    """
    from refunds.risk import record_hits

    if hold_type not in HoldType.values:
        raise InvalidInput({"hold_type": [_("Choose one of: %(types)s.") % {"types": ", ".join(HoldType.values)}]})
    if not reason:
        raise InvalidInput({"comment": [_("Say why the refund is held.")]})
    if ticket.state not in TRANSITIONS["hold"].sources:
        raise TransitionNotAllowed(_("“%(name)s” is not possible while the refund is %(state)s.")
                                   % {"name": "hold", "state": State(ticket.state).label}, state=ticket.state)
    hold = Hold.objects.create(ticket=ticket, hold_type=hold_type, owner_role=HOLD_OWNER_ROLE[hold_type],
                               reason=reason, return_state=ticket.state, opened_by=actor.user)
    data = {"hold_type": hold_type}
    if rule_hits:
        record_hits(ticket, rule_hits, actor=actor, checkpoint=checkpoint, hold=hold)
        data["rules"] = [hit["rule"] for hit in rule_hits]
    return apply(ticket, "hold", actor, comment=reason, data=data, customer_visible=False)


def _hold(ticket, actor, comment, payload):
    return open_hold(ticket, actor, payload.get("hold_type") or "", comment)


def _release(ticket, actor, comment, payload):
    hold = ticket.holds.filter(released_at__isnull=True).first()
    if hold is not None and actor.kind == ActorKind.STAFF:
        allowed = {hold.owner_role} | raci.Matrix().accountable(Stage.RISK)
        if not actor.roles & allowed:
            raise TransitionForbidden(
                _("This %(type)s hold is released by %(roles)s.")
                % {"type": hold.hold_type, "roles": ", ".join(sorted(allowed))})
    if hold is not None and hold.hold_type == HoldType.DISPUTE and Dispute.objects.filter(
            payment_id=ticket.payment_id, status=DisputeStatus.OPEN).exists():
        raise TransitionNotAllowed(
            _("A dispute on this payment is still open: paying out now would pay twice. "
              "Release the hold once the dispute is closed."))
    if hold is not None:
        hold.released_by = actor.user
        hold.released_at = timezone.now()
        hold.save()
    return apply(ticket, "release", actor, comment=comment, customer_visible=False)


def _close_open_hold(ticket, actor):
    ticket.holds.filter(released_at__isnull=True).update(released_at=timezone.now(), released_by=actor.user)


def _reject(ticket, actor, comment, payload):
    reason = payload.get("reason") or ""
    if reason not in RejectReason.CHOICES:
        raise InvalidInput({"reason": [_("Choose a rejection reason: %(codes)s.")
                                       % {"codes": ", ".join(RejectReason.CHOICES)}]})
    _close_open_hold(ticket, actor)
    return apply(ticket, "reject", actor, comment=comment, data={"reason": reason})


def start_attempt(ticket: RefundTicket) -> PayoutAttempt:
    """A new payout attempt with an idempotency key that is stable for this attempt."""
    number = (ticket.payout_attempts.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return PayoutAttempt.objects.create(
        ticket=ticket, number=number, channel=ticket.channel, idempotency_key=f"{ticket.reference}-{number}",
        amount=ticket.refund_amount or ticket.amount, currency=ticket.refund_currency or ticket.currency,
    )


def _latest_attempt(ticket) -> PayoutAttempt | None:
    return ticket.payout_attempts.order_by("-number").first()


def _submit_payout(ticket, actor, comment, payload):
    attempt = start_attempt(ticket)
    return apply(ticket, "submit_payout", actor, comment=comment, data={"attempt": attempt.number},
                 customer_visible=True)


def _confirm(ticket, actor, comment, payload):
    attempt = _latest_attempt(ticket)
    if attempt is not None:
        attempt.status = PayoutStatus.SUCCEEDED
        attempt.gateway_refund_id = payload.get("gateway_refund_id") or attempt.gateway_refund_id
        attempt.save()
    return apply(ticket, "confirm", actor, comment=comment)


def _fail(ticket, actor, comment, payload):
    reason = payload.get("failure_reason") or ""
    if reason not in FailureReason.values:
        raise InvalidInput({"failure_reason": [_("Choose one of: %(codes)s.")
                                               % {"codes": ", ".join(FailureReason.values)}]})
    attempt = _latest_attempt(ticket)
    if (attempt is not None and actor.kind == ActorKind.STAFF and attempt.sent_at is not None
            and attempt.status in (PayoutStatus.PENDING, PayoutStatus.REQUIRES_ACTION)):
        # The gateway holds this attempt and has not answered: failing it by hand and retrying under a
        # new key could pay twice. Its answer arrives by webhook or polling (the sweeper).
        raise TransitionNotAllowed(
            _("The gateway has this payout and has not answered yet; wait for its answer instead of failing it."))
    if attempt is not None:
        attempt.status = PayoutStatus.FAILED
        attempt.failure_reason = reason
        attempt.save()
    return apply(ticket, "fail", actor, comment=comment, data={"failure_reason": reason})


def _retry(ticket, actor, comment, payload):
    attempt = start_attempt(ticket)
    ticket = apply(ticket, "retry", actor, comment=comment, data={"attempt": attempt.number})
    transaction.on_commit(partial(_enqueue_send_payout, ticket.pk))
    return ticket


def _switch_channel(ticket, actor, comment, payload):
    code = payload.get("channel") or (ticket.channel.fallback_channel.code if ticket.channel.fallback_channel else "")
    channel = Channel.objects.filter(code=code, active=True).first()
    if channel is None or channel.pk == ticket.channel_id:
        raise InvalidInput({"channel": [_("Choose another active channel.")]})
    if ticket.fallback_consent_at is None:
        ticket.info_requested = ["fallback_consent"]
        return apply(ticket, "switch_channel", actor, comment=comment, channel=channel,
                     target=State.AWAITING_CUSTOMER, data={"channel": code, "consent": False})
    ticket = apply(ticket, "switch_channel", actor, comment=comment, channel=channel, target=State.PROCESSING,
                   data={"channel": code, "consent": True})
    start_attempt(ticket)
    transaction.on_commit(partial(_enqueue_send_payout, ticket.pk))
    return ticket


def _enqueue_send_payout(ticket_id: int) -> None:
    """The gateway call job, with its retry policy (refunds.services.payouts owns it)."""
    from refunds.services.payouts import enqueue_send_payout

    enqueue_send_payout(ticket_id)


def _reverse(ticket, actor, comment, payload):
    attempt = ticket.payout_attempts.filter(status=PayoutStatus.SUCCEEDED).order_by("-number").first()
    if attempt is not None:
        attempt.status = PayoutStatus.REVERSED
        attempt.failure_reason = payload.get("failure_reason") or FailureReason.UNKNOWN
        attempt.save()
    return apply(ticket, "reverse", actor, comment=comment,
                 data={"failure_reason": payload.get("failure_reason") or FailureReason.UNKNOWN})


def _reconcile(ticket, actor, comment, payload):
    return apply(ticket, "reconcile", actor, comment=comment, data=payload.get("data") or {},
                 customer_visible=False)


def _cancel(ticket, actor, comment, payload):
    _close_open_hold(ticket, actor)
    ticket.approvals.filter(decision=ApprovalDecision.PENDING).delete()
    return apply(ticket, "cancel", actor, comment=comment)


def _reopen(ticket, actor, comment, payload):
    rejected_at = ticket.log.filter(to_state=State.REJECTED).order_by("-seq").values_list("at", flat=True).first()
    days = policy_for_ticket(ticket).appeal_window_days
    if rejected_at and timezone.now() - rejected_at > timedelta(days=days):
        raise TransitionNotAllowed(_("The appeal window of %(days)s days has passed.") % {"days": days})
    return apply(ticket, "reopen", actor, comment=comment)


HANDLERS = {
    "intake": _intake, "request_info": _request_info, "provide_info": _provide_info, "approve": _approve,
    "request_approval": _request_approval, "record_approval": _record_approval, "hold": _hold,
    "release": _release, "reject": _reject, "submit_payout": _submit_payout, "confirm": _confirm,
    "fail": _fail, "retry": _retry, "switch_channel": _switch_channel, "reverse": _reverse,
    "reconcile": _reconcile, "cancel": _cancel, "reopen": _reopen,
}
assert set(HANDLERS) == set(TRANSITIONS), "every transition needs a handler"

__all__ = ["HANDLERS", "RejectReason", "Role", "lock_ticket", "open_hold", "perform_transition"]
