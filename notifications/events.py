"""Which customer events a ticket transition raises (SPEC §10), and the receiver that plans them.

The receiver runs after the transition committed (refunds.signals.ticket_transitioned); it only
enqueues a job, so a slow mail server never slows a transition down.
"""

from refunds import jobqueue
from refunds.lifecycle import State

from .models import Event

# transition name → event, for transitions whose event does not depend on the target state.
BY_TRANSITION = {
    "request_info": Event.INFO_NEEDED,
    "reject": Event.REJECTED,
    "confirm": Event.REFUNDED,
    "fail": Event.PAYOUT_FAILED,
    "reverse": Event.PAYOUT_FAILED,
    "reconcile": Event.FEEDBACK_REQUEST,
}
# target state → event, for the rest.
BY_TARGET = {
    State.AWAITING_CUSTOMER: Event.INFO_NEEDED,
    State.APPROVED: Event.APPROVED,
    State.REJECTED: Event.REJECTED,
    State.PROCESSING: Event.PAYOUT_SENT,
}


def events_for(transition: str, from_state: str, to_state: str) -> list[str]:
    """The customer events of one transition, in the order customers should get them."""
    events = []
    if transition == "intake":
        events.append(Event.RECEIVED)
    if from_state == to_state:
        return events
    event = BY_TRANSITION.get(transition) or BY_TARGET.get(to_state)
    if event and event not in events:
        events.append(event)
    return events


def staff_notice_for(transition: str, from_state: str, to_state: str) -> str | None:
    """Staff notices of a transition: approvals requested (to the approver roles) and holds (to the owner)."""
    if to_state == from_state:
        return None
    if to_state == State.PENDING_APPROVAL:
        return "approval_requested"
    if to_state == State.ON_HOLD:
        return "hold_opened"
    return None


def on_ticket_transitioned(sender, ticket_id, transition, from_state, to_state, actor_kind, **kwargs):
    """Signal receiver: enqueue the planning job for each event of this transition."""
    for event in events_for(transition, from_state, to_state):
        jobqueue.enqueue("notifications", "notifications.jobs.notify_transition", ticket_id, event, transition,
                         to_state)
    notice = staff_notice_for(transition, from_state, to_state)
    if notice:
        jobqueue.enqueue("notifications", "notifications.jobs.notify_staff_of_transition", ticket_id, notice,
                         transition, to_state)
