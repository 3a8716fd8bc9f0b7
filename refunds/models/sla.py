"""SLA data: per-policy targets, one clock per stage visit (plus end-to-end and statutory), and
an append-only event log from which every figure can be rebuilt (SPEC §6).

Clocks copy their target when they start, so a policy edit applies from the next stage visit and
never back-dates a breach. The logic is in refunds.sla.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from refunds.lifecycle import Stage

from .calendars import BusinessCalendar
from .config import Policy
from .tickets import RefundTicket


class PolicySla(models.Model):
    """SLA targets of one policy, in business minutes of the ticket's region calendar.

    Empty target = the stage is timed (for reports) but has no due time.
    """

    policy = models.OneToOneField(Policy, on_delete=models.CASCADE, related_name="sla")
    intake_minutes = models.PositiveIntegerField(null=True, blank=True, default=60)
    review_minutes = models.PositiveIntegerField(null=True, blank=True, default=480)
    approval_minutes = models.PositiveIntegerField(null=True, blank=True, default=480)
    risk_minutes = models.PositiveIntegerField(null=True, blank=True, default=960)
    payout_minutes = models.PositiveIntegerField(null=True, blank=True, default=480)
    reconciliation_minutes = models.PositiveIntegerField(null=True, blank=True, default=1620)
    end_to_end_minutes = models.PositiveIntegerField(null=True, blank=True, default=2700)
    at_risk_percent = models.PositiveSmallIntegerField(
        default=75, help_text=_("A clock is at risk once this share of its target is used."))
    pause_hold_types = models.JSONField(
        default=list, blank=True,
        help_text=_("Hold types that also pause the end-to-end clock, e.g. [\"dispute\", \"compliance\"]."))
    pause_waiting_on_gateway = models.BooleanField(
        default=False, help_text=_("Pause the end-to-end clock while the gateway processes the payout."))
    history = HistoricalRecords()

    class Meta:
        verbose_name = "policy SLA"
        verbose_name_plural = "policy SLAs"

    def __str__(self) -> str:
        return f"SLA of {self.policy.code}"

    def target_minutes(self, stage: str) -> int | None:
        return getattr(self, f"{stage}_minutes", None)


class ClockKind(models.TextChoices):
    STAGE = "stage", _("Stage")
    END_TO_END = "end_to_end", _("End to end")
    STATUTORY = "statutory", _("Statutory")


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    FULFILLED = "fulfilled", _("Fulfilled")


class PauseReason(models.TextChoices):
    WAITING_ON_CUSTOMER = "waiting_on_customer", _("Waiting on customer")
    RISK_HOLD = "risk_hold", _("Risk hold")
    WAITING_ON_GATEWAY = "waiting_on_gateway", _("Waiting on gateway")


class SlaClock(models.Model):
    """One SLA instance: a stage visit, the ticket's end-to-end clock, or its statutory deadline."""

    ticket = models.ForeignKey(RefundTicket, on_delete=models.CASCADE, related_name="sla_clocks")
    kind = models.CharField(max_length=12, choices=ClockKind.choices)
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    visit = models.PositiveSmallIntegerField(default=1)
    calendar = models.ForeignKey(BusinessCalendar, null=True, blank=True, on_delete=models.SET_NULL,
                                 help_text=_("Empty = default Mon–Fri 09:00–18:00 UTC."))
    target_seconds = models.PositiveIntegerField(null=True, blank=True,
                                                 help_text=_("Business seconds (copied from the policy)."))
    at_risk_percent = models.PositiveSmallIntegerField(default=75)
    policy_version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=10, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField()
    segment_started_at = models.DateTimeField(null=True, blank=True,
                                              help_text=_("Start of the current running stretch."))
    consumed_seconds = models.PositiveIntegerField(default=0, help_text=_("Business seconds used before it."))
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=24, choices=PauseReason.choices, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0, help_text=_("Wall-clock seconds spent paused."))
    warn_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "kind", "stage", "visit"], name="sla_clock_once_per_visit"),
        ]
        indexes = [
            models.Index(fields=["state", "warn_at"], name="sla_clock_warn"),
            models.Index(fields=["state", "due_at"], name="sla_clock_due"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.stage} #{self.visit}"


class SlaEventKind(models.TextChoices):
    ACTIVATE = "activate", _("Activated")
    PAUSE = "pause", _("Paused")
    RESUME = "resume", _("Resumed")
    WARN = "warn", _("At risk")
    BREACH = "breach", _("Breached")
    FULFILL = "fulfill", _("Fulfilled")


class SlaEvent(models.Model):
    """Append-only log of what happened to a clock. Warn and breach happen at most once per clock."""

    clock = models.ForeignKey(SlaClock, on_delete=models.CASCADE, related_name="events")
    ticket = models.ForeignKey(RefundTicket, on_delete=models.CASCADE, related_name="sla_events")
    kind = models.CharField(max_length=10, choices=SlaEventKind.choices)
    at = models.DateTimeField(help_text=_("When it happened (for warn/breach: the threshold instant)."))
    recorded_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=24, choices=PauseReason.choices, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "kind"], condition=models.Q(kind__in=["warn", "breach"]),
                                    name="sla_escalate_once_per_clock"),
        ]
        indexes = [models.Index(fields=["ticket", "at"], name="sla_event_ticket_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"
