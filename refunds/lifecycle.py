"""The refund lifecycle as data (SPEC §4): states, stages and the transition catalogue.

The model's @transition methods declare the same sources and targets for django-fsm; this module
adds what the FSM does not know: the RACI stage of each transition, who may start it (staff by
RACI, the system, the partner or customer on their own ticket) and what it needs as input.
A test keeps the two in step.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    AWAITING_CUSTOMER = "awaiting_customer", _("Awaiting customer")
    IN_REVIEW = "in_review", _("In review")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    ON_HOLD = "on_hold", _("On hold")
    APPROVED = "approved", _("Approved")
    PROCESSING = "processing", _("Processing")
    FAILED = "failed", _("Payout failed")
    REFUNDED = "refunded", _("Refunded")
    RECONCILED = "reconciled", _("Reconciled")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")


TERMINAL_STATES = frozenset({State.RECONCILED, State.REJECTED, State.CANCELLED})
ACTIVE_STATES = frozenset(set(State) - TERMINAL_STATES)
# States whose amount is still claimed against the payment (neither returned nor released).
IN_FLIGHT_STATES = frozenset(
    {
        State.SUBMITTED, State.AWAITING_CUSTOMER, State.IN_REVIEW, State.PENDING_APPROVAL, State.ON_HOLD,
        State.APPROVED, State.PROCESSING, State.FAILED,
    }
)
REFUNDED_STATES = frozenset({State.REFUNDED, State.RECONCILED})
# States a hold can be placed from: every active state except on_hold itself and the payout
# hand-off states (money already left, or is leaving, the building).
HOLDABLE_STATES = (
    State.SUBMITTED, State.AWAITING_CUSTOMER, State.IN_REVIEW, State.PENDING_APPROVAL, State.APPROVED,
    State.FAILED,
)


class Stage(models.TextChoices):
    INTAKE = "intake", _("Intake")
    REVIEW = "review", _("Review")
    APPROVAL = "approval", _("Approval")
    RISK = "risk", _("Risk")
    PAYOUT = "payout", _("Payout")
    RECONCILIATION = "reconciliation", _("Reconciliation")
    COMMUNICATION = "communication", _("Communication")


class Role(models.TextChoices):
    """Staff roles; each is a Django group of the same name."""

    AGENT = "agent", _("Agent")
    REVIEWER = "reviewer", _("Reviewer")
    OPS_LEAD = "ops_lead", _("Ops lead")
    FINANCE = "finance", _("Finance")
    FINANCE_LEAD = "finance_lead", _("Finance lead")
    RISK = "risk", _("Risk")
    ADMIN = "admin", _("Admin")


# Which stage's clock runs while a ticket sits in a state (for SLA and the process map).
STATE_STAGE = {
    State.SUBMITTED: Stage.INTAKE,
    State.AWAITING_CUSTOMER: Stage.INTAKE,
    State.IN_REVIEW: Stage.REVIEW,
    State.PENDING_APPROVAL: Stage.APPROVAL,
    State.ON_HOLD: Stage.RISK,
    State.APPROVED: Stage.PAYOUT,
    State.PROCESSING: Stage.PAYOUT,
    State.FAILED: Stage.PAYOUT,
    State.REFUNDED: Stage.RECONCILIATION,
}


@dataclass(frozen=True)
class TransitionSpec:
    name: str
    stage: Stage
    sources: tuple[State, ...]
    targets: tuple[State, ...]
    # Run only by the system actor (jobs, webhooks, the matching engine), never by a person.
    automatic: bool = False
    # Partners (API) and customers (status page) may run it on their own tickets.
    customer_path: bool = False
    label: str = ""


S = State
TRANSITIONS: dict[str, TransitionSpec] = {
    spec.name: spec
    for spec in (
        TransitionSpec("intake", Stage.INTAKE, (S.SUBMITTED,),
                       (S.IN_REVIEW, S.AWAITING_CUSTOMER, S.ON_HOLD, S.APPROVED), automatic=True,
                       label=_("Intake")),
        TransitionSpec("request_info", Stage.REVIEW, (S.IN_REVIEW, S.FAILED), (S.AWAITING_CUSTOMER,),
                       label=_("Request information")),
        TransitionSpec("provide_info", Stage.INTAKE, (S.AWAITING_CUSTOMER,), (S.IN_REVIEW,),
                       customer_path=True, label=_("Information provided")),
        TransitionSpec("approve", Stage.REVIEW, (S.IN_REVIEW,), (S.APPROVED,), label=_("Approve")),
        TransitionSpec("request_approval", Stage.REVIEW, (S.IN_REVIEW,), (S.PENDING_APPROVAL,),
                       label=_("Request approval")),
        TransitionSpec("record_approval", Stage.APPROVAL, (S.PENDING_APPROVAL,),
                       (S.PENDING_APPROVAL, S.APPROVED, S.REJECTED), label=_("Record approval")),
        TransitionSpec("hold", Stage.RISK, HOLDABLE_STATES, (S.ON_HOLD,), label=_("Put on hold")),
        TransitionSpec("release", Stage.RISK, (S.ON_HOLD,), HOLDABLE_STATES, label=_("Release hold")),
        TransitionSpec("reject", Stage.REVIEW, (S.IN_REVIEW, S.PENDING_APPROVAL, S.ON_HOLD), (S.REJECTED,),
                       label=_("Reject")),
        TransitionSpec("submit_payout", Stage.PAYOUT, (S.APPROVED,), (S.PROCESSING,), automatic=True,
                       label=_("Submit payout")),
        TransitionSpec("confirm", Stage.PAYOUT, (S.PROCESSING,), (S.REFUNDED,), label=_("Confirm refund")),
        TransitionSpec("fail", Stage.PAYOUT, (S.PROCESSING,), (S.FAILED,), label=_("Mark payout failed")),
        TransitionSpec("retry", Stage.PAYOUT, (S.FAILED,), (S.PROCESSING,), label=_("Retry payout")),
        TransitionSpec("switch_channel", Stage.PAYOUT, (S.FAILED,), (S.PROCESSING, S.AWAITING_CUSTOMER),
                       label=_("Switch channel")),
        TransitionSpec("reverse", Stage.PAYOUT, (S.REFUNDED,), (S.FAILED,), automatic=True,
                       label=_("Refund reversed")),
        TransitionSpec("reconcile", Stage.RECONCILIATION, (S.REFUNDED,), (S.RECONCILED,),
                       label=_("Reconcile")),
        TransitionSpec("cancel", Stage.INTAKE,
                       (S.SUBMITTED, S.AWAITING_CUSTOMER, S.IN_REVIEW, S.PENDING_APPROVAL, S.ON_HOLD),
                       (S.CANCELLED,), customer_path=True, label=_("Cancel")),
        TransitionSpec("reopen", Stage.REVIEW, (S.REJECTED,), (S.IN_REVIEW,), label=_("Reopen (appeal)")),
    )
}
