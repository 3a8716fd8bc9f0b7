"""Risk rules as configurable data (SPEC §7) and the record of every time one fired.

A rule is a kind (what it checks) plus parameters and the hold type it opens. Rules run at intake,
after the customer supplies data, and again just before payout (`refunds.intake.risk_hits`).
Each hit is kept as a `RiskRuleHit` tied to the hold it opened, so releasing the hold clears the
rule for that ticket (a human override) instead of holding the ticket again at payout.
"""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .tickets import Hold, HoldType, RefundTicket


class RuleKind(models.TextChoices):
    DESTINATION_DIFFERS_FROM_PAYER = (
        "destination_differs_from_payer",
        _("Refund destination differs from payer"),
    )
    AMOUNT_OVER_THRESHOLD = "amount_over_threshold", _("Amount over threshold")
    VELOCITY = "velocity", _("Velocity (too many refunds in a window)")
    OPEN_DISPUTE = "open_dispute", _("Open dispute on the payment")
    GATEWAY_ANOMALY = "gateway_anomaly", _("Gateway-reported anomaly")


class VelocityKey(models.TextChoices):
    CUSTOMER_EMAIL = "customer_email", _("Customer e-mail")
    PAYMENT_INSTRUMENT = "payment_instrument", _("Payment instrument (card/device fingerprint)")
    DESTINATION = "destination", _("Refund destination (IBAN / account)")


# Parameters each kind understands (documented in docs/policies.md); anything else is refused.
KIND_PARAMS = {
    RuleKind.DESTINATION_DIFFERS_FROM_PAYER: set(),
    RuleKind.AMOUNT_OVER_THRESHOLD: {"amount"},
    RuleKind.VELOCITY: {"key", "max_count", "window_hours"},
    RuleKind.OPEN_DISPUTE: set(),
    RuleKind.GATEWAY_ANOMALY: {"flags"},
}


class RiskRule(models.Model):
    code = models.SlugField(
        max_length=50, unique=True, help_text=_("Stable machine name, e.g. open_dispute.")
    )
    name = models.CharField(max_length=120, help_text=_("Shown on the ticket timeline when the rule fires."))
    kind = models.CharField(max_length=40, choices=RuleKind.choices)
    params = models.JSONField(
        default=dict,
        blank=True,
        help_text=_(
            'Kind-specific: amount_over_threshold {"amount": "5000"} (empty = the policy\'s risk '
            'threshold); velocity {"key": "customer_email", "max_count": 3, "window_hours": 24}; '
            'gateway_anomaly {"flags": ["gateway_anomaly"]}.'
        ),
    )
    hold_type = models.CharField(max_length=20, choices=HoldType.choices)
    policy = models.ForeignKey(
        "refunds.Policy",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="risk_rules",
        help_text=_("Empty = applies to every policy."),
    )
    at_intake = models.BooleanField(default=True, help_text=_("Run when a ticket is taken in."))
    before_payout = models.BooleanField(default=True, help_text=_("Run again just before the payout."))
    priority = models.PositiveSmallIntegerField(
        default=100, help_text=_("Lower runs first; the first hit sets the hold type.")
    )
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        params = self.params if isinstance(self.params, dict) else None
        if params is None:
            raise ValidationError({"params": _("Parameters must be a JSON object.")})
        unknown = set(params) - KIND_PARAMS.get(self.kind, set())
        if unknown:
            raise ValidationError(
                {"params": _("Unknown parameters for this kind: %(p)s.") % {"p": ", ".join(sorted(unknown))}}
            )
        if self.kind == RuleKind.AMOUNT_OVER_THRESHOLD and params.get("amount") not in (None, ""):
            try:
                if Decimal(str(params["amount"])) <= 0:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                raise ValidationError({"params": _("“amount” must be a positive decimal string.")})
        if self.kind == RuleKind.VELOCITY:
            if params.get("key", VelocityKey.CUSTOMER_EMAIL) not in VelocityKey.values:
                raise ValidationError(
                    {"params": _("“key” must be one of %(k)s.") % {"k": ", ".join(VelocityKey.values)}}
                )
            for name in ("max_count", "window_hours"):
                value = params.get(name)
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise ValidationError({"params": _("“%(n)s” must be a whole number ≥ 1.") % {"n": name}})
        if self.kind == RuleKind.GATEWAY_ANOMALY and "flags" in params:
            if not isinstance(params["flags"], list) or not all(isinstance(f, str) for f in params["flags"]):
                raise ValidationError({"params": _("“flags” must be a list of strings.")})


class RiskRuleHit(models.Model):
    """One firing of a rule on a ticket; releasing the hold it opened clears the rule for that ticket."""

    ticket = models.ForeignKey(RefundTicket, on_delete=models.CASCADE, related_name="rule_hits")
    rule = models.ForeignKey(RiskRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="hits")
    rule_code = models.CharField(max_length=50)
    rule_name = models.CharField(max_length=120)
    hold_type = models.CharField(max_length=20, choices=HoldType.choices)
    message = models.TextField()
    checkpoint = models.CharField(max_length=20, help_text=_("intake, provide_info or payout"))
    hold = models.ForeignKey(Hold, null=True, blank=True, on_delete=models.SET_NULL, related_name="rule_hits")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["ticket", "rule_code"], name="rulehit_ticket_rule")]

    def __str__(self) -> str:
        return f"{self.rule_code} on {self.ticket_id}"
