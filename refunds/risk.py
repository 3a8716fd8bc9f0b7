"""Evaluating the configurable risk rules (refunds.models.risk.RiskRule) against a ticket.

`evaluate(ticket, checkpoint)` is pure: it returns the hits and writes nothing. The public entry
point is `refunds.intake.risk_hits(ticket)`; `record_hits` writes each hit to the timeline (a
`rule_hit` log entry naming the rule) and to `RiskRuleHit`, linked to the hold it opened.

Releasing a hold is a human decision about the rules that opened it: those rules are not applied
again to the same ticket (otherwise a released compliance hold would come straight back before
payout). The open-dispute rule is the exception: it always applies, and a dispute hold cannot be
released while a dispute is open, because paying out then would pay the customer twice.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.models import Dispute, RefundTicket, RiskRule, RiskRuleHit
from refunds.models.audit import LogKind
from refunds.models.payments import DisputeStatus
from refunds.models.risk import RuleKind, VelocityKey
from refunds.models.tickets import HoldType
from refunds.sop import policy_for_ticket

INTAKE, PROVIDE_INFO, PAYOUT = "intake", "provide_info", "payout"
NEVER_OVERRIDDEN = {RuleKind.OPEN_DISPUTE}

# Installed by a data migration (and by refunds.defaults.install_all); editable in admin.
DEFAULT_RULES = [
    dict(
        code="open_dispute",
        name="Open dispute on the payment",
        kind=RuleKind.OPEN_DISPUTE,
        hold_type=HoldType.DISPUTE,
        priority=10,
        params={},
    ),
    dict(
        code="destination_differs_from_payer",
        name="Bank account holder differs from the payer",
        kind=RuleKind.DESTINATION_DIFFERS_FROM_PAYER,
        hold_type=HoldType.COMPLIANCE,
        priority=20,
        params={},
    ),
    dict(
        code="gateway_anomaly",
        name="Payment anomaly reported by the gateway",
        kind=RuleKind.GATEWAY_ANOMALY,
        hold_type=HoldType.PAYMENT_ANOMALY,
        priority=30,
        params={"flags": ["gateway_anomaly"]},
    ),
    dict(
        code="amount_over_risk_threshold",
        name="Amount above the policy's risk threshold",
        kind=RuleKind.AMOUNT_OVER_THRESHOLD,
        hold_type=HoldType.RISK,
        priority=40,
        params={},
    ),
    dict(
        code="velocity_customer",
        name="More than 5 refunds per customer in 24 hours",
        kind=RuleKind.VELOCITY,
        hold_type=HoldType.FRAUD,
        priority=50,
        params={"key": VelocityKey.CUSTOMER_EMAIL, "max_count": 5, "window_hours": 24},
    ),
    dict(
        code="velocity_instrument",
        name="More than 3 refunds per card/device in 24 hours",
        kind=RuleKind.VELOCITY,
        hold_type=HoldType.FRAUD,
        priority=51,
        params={"key": VelocityKey.PAYMENT_INSTRUMENT, "max_count": 3, "window_hours": 24},
    ),
]

# Never pay out while a dispute is open: if nobody configured an active open-dispute rule, this
# built-in one still applies.
BUILTIN_DISPUTE_RULE = dict(DEFAULT_RULES[0], name="Open dispute on the payment (built-in)")


def install_default_rules(get_model) -> None:
    """Idempotent; a no-op before the RiskRule table exists (e.g. in the 0002 data migration)."""
    try:
        Rule = get_model("refunds", "RiskRule")
    except LookupError:
        return
    for spec in DEFAULT_RULES:
        Rule.objects.get_or_create(code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"})


def normalise_iban(value: str) -> str:
    return "".join(str(value or "").split()).upper()


# --- One check per kind: (rule, ticket) -> message or None ----------------------------------------


def _open_dispute(rule, ticket):
    if Dispute.objects.filter(payment_id=ticket.payment_id, status=DisputeStatus.OPEN).exists():
        return _("An open dispute exists on this payment: paying out would pay twice.")
    return None


def _destination_differs(rule, ticket):
    destination = ticket.refund_to or {}
    payer = " ".join((ticket.payment.customer_name or "").split()).casefold()
    holder = " ".join(str(destination.get("account_name") or "").split()).casefold()
    if destination.get("method", "original") != "original" and holder and payer and holder != payer:
        return _("The refund goes to an account held by “%(holder)s”, not the payer “%(payer)s”.") % {
            "holder": destination["account_name"],
            "payer": ticket.payment.customer_name,
        }
    return None


def _amount_over_threshold(rule, ticket):
    raw = (rule.params or {}).get("amount")
    threshold = (
        Decimal(str(raw)) if raw not in (None, "") else policy_for_ticket(ticket).risk_threshold_amount
    )
    if threshold is not None and ticket.amount > threshold:
        return _("The amount %(a)s is above the risk threshold of %(t)s.") % {
            "a": ticket.amount,
            "t": threshold,
        }
    return None


def _velocity(rule, ticket):
    params = rule.params or {}
    key = params.get("key", VelocityKey.CUSTOMER_EMAIL)
    limit, hours = int(params.get("max_count", 5)), int(params.get("window_hours", 24))
    end = ticket.created_at
    others = RefundTicket.objects.filter(created_at__gt=end - timedelta(hours=hours), created_at__lte=end)
    if key == VelocityKey.CUSTOMER_EMAIL:
        email = ticket.customer_email or ticket.payment.customer_email
        if not email:
            return None
        others = others.filter(customer_email__iexact=email)
        label = email
    elif key == VelocityKey.PAYMENT_INSTRUMENT:
        fingerprint = ticket.payment.instrument_fingerprint
        if not fingerprint:
            return None
        others = others.filter(payment__instrument_fingerprint=fingerprint)
        label = _("this card/device")
    else:
        iban = normalise_iban((ticket.refund_to or {}).get("iban", ""))
        if not iban:
            return None
        others = others.filter(refund_to__iban=iban)
        label = _("this bank account")
    count = others.count()
    if count > limit:
        return _("%(n)s refunds for %(who)s within %(h)s hours (the limit is %(max)s).") % {
            "n": count,
            "who": label,
            "h": hours,
            "max": limit,
        }
    return None


def _gateway_anomaly(rule, ticket):
    flags = set((rule.params or {}).get("flags") or ["gateway_anomaly"])
    raised = [f for f in ticket.risk_flags or [] if isinstance(f, str) and f in flags]
    if raised:
        return _("The gateway reported an anomaly on this payment (%(f)s).") % {"f": ", ".join(raised)}
    attempt = ticket.payout_attempts.order_by("-number").first()
    if attempt is not None and isinstance(attempt.raw_response, dict) and attempt.raw_response.get("anomaly"):
        return _("The gateway reported an anomaly: %(d)s.") % {"d": attempt.raw_response["anomaly"]}
    return None


CHECKS = {
    RuleKind.OPEN_DISPUTE: _open_dispute,
    RuleKind.DESTINATION_DIFFERS_FROM_PAYER: _destination_differs,
    RuleKind.AMOUNT_OVER_THRESHOLD: _amount_over_threshold,
    RuleKind.VELOCITY: _velocity,
    RuleKind.GATEWAY_ANOMALY: _gateway_anomaly,
}


def applicable_rules(ticket: RefundTicket, checkpoint: str) -> list[RiskRule]:
    rules = RiskRule.objects.filter(active=True).filter(policy__isnull=True) | RiskRule.objects.filter(
        active=True, policy_id=ticket.policy_id
    )
    rules = rules.filter(before_payout=True) if checkpoint == PAYOUT else rules.filter(at_intake=True)
    rules = list(rules.order_by("priority", "code"))
    if not any(rule.kind == RuleKind.OPEN_DISPUTE for rule in rules):
        rules.insert(0, RiskRule(**BUILTIN_DISPUTE_RULE))
    return rules


def overridden_rule_codes(ticket: RefundTicket) -> set[str]:
    """Rules whose hold on this ticket a person already released (never the open-dispute rule)."""
    return set(
        RiskRuleHit.objects.filter(ticket=ticket, hold__released_at__isnull=False)
        .exclude(rule_code=BUILTIN_DISPUTE_RULE["code"])
        .values_list("rule_code", flat=True)
    )


def evaluate(ticket: RefundTicket, checkpoint: str = INTAKE) -> list[dict]:
    """Hits of the active rules, by priority: {rule, name, kind, hold_type, message, rule_id}."""
    if ticket.pk is None:
        return []
    skip = overridden_rule_codes(ticket)
    hits = []
    for rule in applicable_rules(ticket, checkpoint):
        if rule.code in skip and rule.kind not in NEVER_OVERRIDDEN:
            continue
        message = CHECKS[rule.kind](rule, ticket)
        if message:
            hits.append(
                {
                    "rule": rule.code,
                    "name": rule.name,
                    "kind": rule.kind,
                    "hold_type": rule.hold_type,
                    "message": f"{rule.name}: {message}",
                    "rule_id": rule.pk,
                }
            )
    return hits


def record_hits(ticket: RefundTicket, hits: list[dict], *, actor: Actor, checkpoint: str, hold=None) -> None:
    """Write each hit to the timeline (kind rule_hit, with the rule's name) and keep it for overrides."""
    for hit in hits:
        append_entry(
            ticket,
            actor=actor,
            kind=LogKind.RULE_HIT,
            comment=hit["message"],
            data={
                "rule": hit["rule"],
                "name": hit["name"],
                "kind": hit.get("kind", ""),
                "hold_type": hit.get("hold_type", ""),
                "checkpoint": checkpoint,
            },
        )
        RiskRuleHit.objects.create(
            ticket=ticket,
            rule_id=hit.get("rule_id"),
            rule_code=hit["rule"],
            rule_name=hit["name"][:120],
            hold_type=hit.get("hold_type", ""),
            message=hit["message"],
            checkpoint=checkpoint,
            hold=hold,
        )
    codes = [hit["rule"] for hit in hits if hit["rule"] not in (ticket.risk_flags or [])]
    if codes:
        ticket.risk_flags = list(ticket.risk_flags or []) + codes
        RefundTicket.objects.filter(pk=ticket.pk).update(risk_flags=ticket.risk_flags)


def report_gateway_anomaly(*, ticket, detail: str, actor: Actor, flag: str = "gateway_anomaly") -> bool:
    """A gateway (webhook / adapter) reports an anomaly: flag the ticket, note it, and hold it now if
    it is approved and waiting for payout. Returns True when the ticket was put on hold."""
    from django.db import transaction

    from refunds.intake import pre_payout_hold
    from refunds.services.transitions import lock_ticket

    with transaction.atomic():
        locked = lock_ticket(ticket)
        if flag not in (locked.risk_flags or []):
            locked.risk_flags = list(locked.risk_flags or []) + [flag]
            RefundTicket.objects.filter(pk=locked.pk).update(risk_flags=locked.risk_flags)
        append_entry(locked, actor=actor, kind=LogKind.NOTE, comment=str(detail)[:1000],
                     data={"gateway_anomaly": flag})
        return pre_payout_hold(locked, actor)
