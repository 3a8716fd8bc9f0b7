"""The refund ticket and what hangs off it: approvals, holds, payout attempts.

Transition methods only set fields; refunds.services is their only caller (it locks the row,
checks RACI, writes the audit log and schedules side effects after commit).
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from simple_history.models import HistoricalRecords

from refunds.lifecycle import HOLDABLE_STATES, Role, Stage, State

from .config import Channel, Partner, Policy
from .fields import MoneyField, currency_field
from .payments import Payment

S = State
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_reference() -> str:
    """RF- and 10 random base32 characters (50 bits): short to read out, hard to enumerate."""
    return "RF-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))


def new_status_nonce() -> str:
    return secrets.token_hex(16)


class ReasonCode(models.TextChoices):
    REQUESTED_BY_CUSTOMER = "requested_by_customer", _("Requested by customer")
    DAMAGED = "damaged", _("Damaged")
    NOT_RECEIVED = "not_received", _("Not received")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    DUPLICATE = "duplicate", _("Duplicate charge")
    FRAUDULENT = "fraudulent", _("Fraudulent")
    CANCELLED_ORDER = "cancelled_order", _("Cancelled order")
    PRICE_ADJUSTMENT = "price_adjustment", _("Price adjustment")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    API = "api", _("API")
    STAFF = "staff", _("Staff")
    CUSTOMER = "customer", _("Customer")
    IMPORT = "import", _("Import")


class Priority(models.IntegerChoices):
    LOW = 1, _("Low")
    NORMAL = 2, _("Normal")
    HIGH = 3, _("High")
    URGENT = 4, _("Urgent")


class SlaStatus(models.TextChoices):
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")


class Language(models.TextChoices):
    EN = "en", "English"
    ZH_HANS = "zh-hans", "简体中文"


class RefundTicket(ConcurrentTransitionMixin, models.Model):
    reference = models.CharField(max_length=20, unique=True, default=new_reference, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="tickets")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="tickets")
    amount = MoneyField(help_text=_("In the payment's currency."))
    currency = currency_field()
    refund_currency = currency_field(blank=True, help_text=_("Set when paid out in another currency."))
    refund_amount = MoneyField(null=True, blank=True)
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    reason = models.CharField(max_length=30, choices=ReasonCode.choices)
    reason_detail = models.TextField(blank=True)
    customer_email = models.EmailField(blank=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    customer_language = models.CharField(max_length=10, choices=Language.choices, default=Language.EN)
    region = models.CharField(max_length=8, blank=True)
    refund_to = models.JSONField(default=dict, blank=True,
                                 help_text=_('{"method": "original"} or another destination.'))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="tickets",
                                help_text=_("Channel the payout goes through."))
    policy = models.ForeignKey(Policy, on_delete=models.PROTECT, related_name="tickets")
    policy_version = models.PositiveIntegerField(default=1)

    state = FSMField(default=S.SUBMITTED, choices=State.choices, protected=True, db_index=True)
    held_from = models.CharField(max_length=20, choices=State.choices, blank=True, editable=False)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets")
    team = models.CharField(max_length=50, blank=True)
    info_requested = models.JSONField(default=list, blank=True,
                                      help_text=_("Fields the customer must still supply."))
    risk_flags = models.JSONField(default=list, blank=True)
    fallback_consent_at = models.DateTimeField(null=True, blank=True,
                                               help_text=_("When the customer agreed to a fallback channel."))
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="duplicates")

    # SLA clocks (stored so queues sort and filter in SQL).
    stage_due_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    statutory_due_at = models.DateTimeField(null=True, blank=True)
    sla_status = models.CharField(max_length=10, choices=SlaStatus.choices, default=SlaStatus.ON_TRACK)
    paused_seconds = models.PositiveIntegerField(default=0)

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    status_nonce = models.CharField(max_length=32, default=new_status_nonce, editable=False)
    status_token_hash = models.CharField(max_length=64, unique=True, null=True, editable=False)
    audit_head = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["status_nonce", "status_token_hash", "audit_head"])

    class Meta:
        indexes = [
            models.Index(fields=["state", "stage_due_at"], name="ticket_state_due"),
            models.Index(fields=["sla_status", "stage_due_at"], name="ticket_sla_due"),
            models.Index(fields=["assignee", "stage_due_at"], name="ticket_assignee_due"),
            models.Index(fields=["payment", "state"], name="ticket_payment_state"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def stage(self) -> Stage | None:
        from refunds.lifecycle import STATE_STAGE

        return STATE_STAGE.get(State(self.state))

    # --- Transitions: bodies only set fields -------------------------------------------------------
    @transition(field=state, source=S.SUBMITTED,
                target=RETURN_VALUE(S.IN_REVIEW, S.AWAITING_CUSTOMER, S.ON_HOLD, S.APPROVED))
    def intake(self, *, target: State) -> State:
        return target

    @transition(field=state, source=[S.IN_REVIEW, S.FAILED], target=S.AWAITING_CUSTOMER)
    def request_info(self, *, needed: list[str]) -> None:
        self.info_requested = needed

    @transition(field=state, source=S.AWAITING_CUSTOMER, target=S.IN_REVIEW)
    def provide_info(self) -> None:
        self.info_requested = []

    @transition(field=state, source=S.IN_REVIEW, target=S.APPROVED)
    def approve(self) -> None:
        pass

    @transition(field=state, source=S.IN_REVIEW, target=S.PENDING_APPROVAL)
    def request_approval(self) -> None:
        pass

    @transition(field=state, source=S.PENDING_APPROVAL,
                target=RETURN_VALUE(S.PENDING_APPROVAL, S.APPROVED, S.REJECTED))
    def record_approval(self, *, outcome: State) -> State:
        return outcome

    @transition(field=state, source=list(HOLDABLE_STATES), target=S.ON_HOLD)
    def hold(self) -> None:
        self.held_from = self.state

    @transition(field=state, source=S.ON_HOLD, target=RETURN_VALUE(*HOLDABLE_STATES))
    def release(self) -> State:
        previous, self.held_from = self.held_from, ""
        return State(previous)

    @transition(field=state, source=[S.IN_REVIEW, S.PENDING_APPROVAL, S.ON_HOLD], target=S.REJECTED)
    def reject(self) -> None:
        self.held_from = ""

    @transition(field=state, source=S.APPROVED, target=S.PROCESSING)
    def submit_payout(self) -> None:
        pass

    @transition(field=state, source=S.PROCESSING, target=S.REFUNDED)
    def confirm(self) -> None:
        pass

    @transition(field=state, source=S.PROCESSING, target=S.FAILED)
    def fail(self) -> None:
        pass

    @transition(field=state, source=S.FAILED, target=S.PROCESSING)
    def retry(self) -> None:
        pass

    @transition(field=state, source=S.FAILED, target=RETURN_VALUE(S.PROCESSING, S.AWAITING_CUSTOMER))
    def switch_channel(self, *, channel: Channel, target: State) -> State:
        self.channel = channel
        return target

    @transition(field=state, source=S.REFUNDED, target=S.FAILED)
    def reverse(self) -> None:
        pass

    @transition(field=state, source=S.REFUNDED, target=S.RECONCILED)
    def reconcile(self) -> None:
        pass

    @transition(field=state,
                source=[S.SUBMITTED, S.AWAITING_CUSTOMER, S.IN_REVIEW, S.PENDING_APPROVAL, S.ON_HOLD],
                target=S.CANCELLED)
    def cancel(self) -> None:
        self.held_from = ""

    @transition(field=state, source=S.REJECTED, target=S.IN_REVIEW)
    def reopen(self) -> None:
        pass


class ApprovalDecision(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Approval(models.Model):
    """One required approval (one role) in a parallel approval round."""

    ticket = models.ForeignKey(RefundTicket, on_delete=models.CASCADE, related_name="approvals")
    round = models.PositiveSmallIntegerField(default=1)
    role = models.CharField(max_length=20, choices=Role.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="approvals_given")
    decision = models.CharField(max_length=10, choices=ApprovalDecision.choices,
                                default=ApprovalDecision.PENDING)
    comment = models.TextField(blank=True)
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "role"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "round", "role"], name="approval_one_row_per_role"),
            models.UniqueConstraint(fields=["ticket", "round", "approver"], name="approval_four_eyes_one_row",
                                    condition=models.Q(approver__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.decision}"


class HoldType(models.TextChoices):
    RISK = "risk", _("Risk")
    DISPUTE = "dispute", _("Dispute")
    FRAUD = "fraud", _("Fraud")
    COMPLIANCE = "compliance", _("Compliance")
    PAYMENT_ANOMALY = "payment_anomaly", _("Payment anomaly")


# Who owns a hold of each type (the RACI "risk" stage's accountable role can always release).
HOLD_OWNER_ROLE = {
    HoldType.RISK: Role.RISK,
    HoldType.DISPUTE: Role.FINANCE,
    HoldType.FRAUD: Role.RISK,
    HoldType.COMPLIANCE: Role.RISK,
    HoldType.PAYMENT_ANOMALY: Role.FINANCE,
}


class Hold(models.Model):
    ticket = models.ForeignKey(RefundTicket, on_delete=models.CASCADE, related_name="holds")
    hold_type = models.CharField(max_length=20, choices=HoldType.choices)
    owner_role = models.CharField(max_length=20, choices=Role.choices)
    reason = models.TextField()
    return_state = models.CharField(max_length=20, choices=State.choices)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["ticket"], condition=models.Q(released_at__isnull=True),
                                    name="hold_one_open_per_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.hold_type} hold"


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    REQUIRES_ACTION = "requires_action", _("Requires action")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REVERSED = "reversed", _("Reversed")
    CANCELED = "canceled", _("Canceled")


class FailureReason(models.TextChoices):
    EXPIRED_OR_CANCELED_CARD = "expired_or_canceled_card", _("Card expired or cancelled")
    LOST_OR_STOLEN_CARD = "lost_or_stolen_card", _("Card lost or stolen")
    INSUFFICIENT_FUNDS = "insufficient_funds", _("Insufficient funds")
    DECLINED = "declined", _("Declined")
    DISPUTED = "disputed", _("Disputed")
    WINDOW_EXCEEDED = "window_exceeded", _("Refund window exceeded")
    CURRENCY_MISMATCH = "currency_mismatch", _("Currency mismatch")
    UNKNOWN = "unknown", _("Unknown")


class PayoutAttempt(models.Model):
    ticket = models.ForeignKey(RefundTicket, on_delete=models.PROTECT, related_name="payout_attempts")
    number = models.PositiveSmallIntegerField()
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=100, unique=True)
    amount = MoneyField()
    currency = currency_field()
    gateway_refund_id = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    failure_reason = models.CharField(max_length=30, choices=FailureReason.choices, blank=True)
    raw_response = models.JSONField(default=dict, blank=True)
    # Delivery bookkeeping: when the gateway was first called, how often, and the last transient error.
    sent_at = models.DateTimeField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    # Money details for the ledger: fee the gateway gives back (payment currency), FX for cross-currency.
    fee_returned_amount = MoneyField(default=0)
    fx_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    fx_remainder = models.DecimalField(max_digits=24, decimal_places=10, default=0,
                                       help_text=_("Refund-currency fraction below one minor unit kept by FX "
                                                   "rounding."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["ticket", "number"], name="payout_attempt_number")]

    def __str__(self) -> str:
        return self.idempotency_key
