"""Configuration that ops and finance edit in admin: partners, channels, policies, the RACI matrix."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from refunds.lifecycle import Role, Stage

from .fields import MoneyField


class Partner(models.Model):
    """An order system or marketplace that talks to us through the API."""

    name = models.CharField(max_length=100, unique=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Channel(models.Model):
    """How money goes back to the customer, with the rules of the real payment method."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    adapter = models.CharField(max_length=100, default="simulated",
                               help_text=_("Gateway adapter name (see refunds.gateways)."))
    adapter_config = models.JSONField(default=dict, blank=True)
    refund_window_days = models.PositiveIntegerField(help_text=_("Days after capture a refund may be sent."))
    partial_refunds_allowed = models.BooleanField(default=True)
    max_partial_refunds = models.PositiveIntegerField(null=True, blank=True,
                                                      help_text=_("Empty means no limit."))
    min_partial_interval_seconds = models.PositiveIntegerField(default=0)
    fee_returned = models.BooleanField(default=False, help_text=_("Is the processing fee given back?"))
    settlement_days_min = models.PositiveSmallIntegerField(default=1,
                                                           help_text=_("Business days to arrive, at best."))
    settlement_days_max = models.PositiveSmallIntegerField(default=3,
                                                           help_text=_("Business days to arrive, at worst."))
    currencies = models.JSONField(default=list, blank=True, help_text=_("Supported currencies; empty = any."))
    same_currency_only = models.BooleanField(default=False)
    reconciliation_tolerance_minor = models.PositiveIntegerField(
        default=0, help_text=_("Absolute tolerance in minor units for fee/FX rounding when matching."))
    reason_code_map = models.JSONField(default=dict, blank=True,
                                       help_text=_("Our reason code → the gateway's own code."))
    fallback_channel = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                         help_text=_("Used only with the customer's recorded consent."))
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def clean(self):
        if self.settlement_days_max < self.settlement_days_min:
            raise ValidationError({"settlement_days_max": _("Must not be below the minimum.")})
        from refunds.gateways import adapter_names

        if self.adapter not in adapter_names():
            raise ValidationError({"adapter": _("Choose one of: %(names)s.") % {"names": ", ".join(adapter_names())}})
        if not isinstance(self.adapter_config, dict):
            raise ValidationError({"adapter_config": _("Enter a JSON object.")})


class Scenario(models.TextChoices):
    FULL = "full", _("Full refund")
    PARTIAL = "partial", _("Partial refund")
    CROSS_PLATFORM = "cross_platform", _("Cross-platform")
    CROSS_CURRENCY = "cross_currency", _("Cross-currency")
    CROSS_REGION = "cross_region", _("Cross-region")


class Policy(models.Model):
    """A refund SOP: which tickets it governs (selector) and the rules they follow.

    Every saved edit bumps `version`; tickets record the version they were opened under and
    django-simple-history keeps each version's content.
    """

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    scenario = models.CharField(max_length=20, choices=Scenario.choices, default=Scenario.FULL)
    is_default = models.BooleanField(default=False, help_text=_("Used when no other policy matches."))
    active = models.BooleanField(default=True)
    # Selector: empty means "any".
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.PROTECT)
    region = models.CharField(max_length=8, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    min_amount = MoneyField(null=True, blank=True)
    max_amount = MoneyField(null=True, blank=True)
    # Rules.
    auto_approve_max_amount = MoneyField(null=True, blank=True,
                                         help_text=_("Auto-approve at or below this amount when no risk flag."))
    approval_rules = models.JSONField(
        default=list, blank=True,
        help_text=_('Amount thresholds → roles that must all approve, e.g. '
                    '[{"above": "1000", "roles": ["ops_lead", "finance"]}]'))
    risk_threshold_amount = MoneyField(null=True, blank=True)
    required_fields = models.JSONField(
        default=list, blank=True,
        help_text=_('Fields the customer must supply before review, e.g. ["refund_to.iban", '
                    '"refund_to.account_name", "customer_phone"].'))
    auto_approve_velocity_limit = models.PositiveIntegerField(
        null=True, blank=True,
        help_text=_("No auto-approval when the customer already has this many refunds in the window."))
    auto_approve_velocity_hours = models.PositiveIntegerField(default=720)
    checklists = models.JSONField(
        default=dict, blank=True,
        help_text=_('Per stage, items to tick before the stage\'s exit transition, e.g. {"review": '
                    '[{"code": "photos_checked", "label": "Photos of the damage checked", '
                    '"label_zh_hans": "已核对损坏照片"}]}'))
    appeal_window_days = models.PositiveIntegerField(default=30)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "policies"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                    name="policy_single_default"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"

    def save(self, *args, **kwargs):
        if self.pk:
            self.version = (Policy.objects.filter(pk=self.pk).values_list("version", flat=True).first() or 0) + 1
        super().save(*args, **kwargs)

    def clean(self):
        from refunds.sop import checklist_errors

        problems = checklist_errors(self.checklists)
        fields = self.required_fields if isinstance(self.required_fields, list) else [None]
        if not all(isinstance(f, str) and f.replace(".", "").replace("_", "").isalnum() for f in fields):
            problems["required_fields"] = [_('A list of field names, e.g. ["refund_to.iban", "customer_phone"].')]
        for rule in self.approval_rules if isinstance(self.approval_rules, list) else [None]:
            try:
                Decimal(str(rule["above"]))
                if not rule["roles"] or not set(rule["roles"]) <= set(Role.values):
                    raise ValueError
            except Exception:  # noqa: BLE001 - any malformed rule gets the same message
                problems.setdefault("approval_rules", []).append(
                    _('Each rule needs "above" (a decimal) and "roles" (known roles).'))
                break
        if problems:
            raise ValidationError(problems)

    def required_approval_roles(self, amount: Decimal) -> list[str]:
        """Roles that must each approve a refund of `amount` ("above" is strictly greater)."""
        roles: list[str] = []
        for rule in self.approval_rules or []:
            if amount > Decimal(str(rule["above"])):
                roles.extend(role for role in rule["roles"] if role not in roles)
        return roles


class Responsibility(models.TextChoices):
    RESPONSIBLE = "R", _("Responsible")
    ACCOUNTABLE = "A", _("Accountable")
    CONSULTED = "C", _("Consulted")
    INFORMED = "I", _("Informed")


class RaciEntry(models.Model):
    """One cell of the RACI matrix: what a role is for a stage."""

    stage = models.CharField(max_length=20, choices=Stage.choices)
    role = models.CharField(max_length=20, choices=Role.choices)
    responsibility = models.CharField(max_length=1, choices=Responsibility.choices)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "RACI entry"
        verbose_name_plural = "RACI matrix"
        ordering = ["stage", "responsibility", "role"]
        constraints = [models.UniqueConstraint(fields=["stage", "role"], name="raci_one_letter_per_cell")]

    def __str__(self) -> str:
        return f"{self.stage}: {self.role} = {self.responsibility}"
