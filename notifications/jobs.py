"""RQ jobs of the notifications app: thin wrappers that take ids and call one service."""

from refunds.models import TransitionLog

from . import services


def _occurrence(ticket_id: int, transition: str, to_state: str) -> str:
    seq = (TransitionLog.objects.filter(ticket_id=ticket_id, transition=transition, to_state=to_state)
           .order_by("-seq").values_list("seq", flat=True).first())
    return f"log:{seq or 0}"


def notify_transition(ticket_id: int, event: str, transition: str, to_state: str) -> int:
    """Plan the deliveries of a transition's event; the audit entry that caused it is the occurrence."""
    return len(services.notify(ticket_id, event, _occurrence(ticket_id, transition, to_state)))


def notify_staff_of_transition(ticket_id: int, notice: str, transition: str, to_state: str) -> int:
    """Approvals requested → the roles whose approval is pending; a hold → its owner role."""
    return len(services.notify_staff_of_ticket(ticket_id, notice, _occurrence(ticket_id, transition, to_state)))


def send_delivery(delivery_id: int) -> str:
    return services.send_delivery(delivery_id)


def retry_due_notifications() -> int:
    """Periodic task (run_periodic / RQ cron): retries whose time has come and pending rows left behind."""
    return services.retry_due()


def send_delay_apologies(limit: int = 500) -> int:
    """Periodic task: apologise once to each customer whose refund breached its SLA."""
    from refunds.lifecycle import ACTIVE_STATES
    from refunds.models import RefundTicket

    from .models import Event

    ids = list(
        RefundTicket.objects.filter(sla_status="breached", state__in=list(ACTIVE_STATES))
        .exclude(notifications__event=Event.DELAY)
        .values_list("pk", flat=True)[:limit]
    )
    for ticket_id in ids:
        services.notify(ticket_id, Event.DELAY, "sla-breach")
    return len(ids)


def run_periodic_tasks() -> dict:
    """Embedded mode's periodic pass for notifications (add to REFUNDLOOP["PERIODIC_TASKS"])."""
    return {"retried": retry_due_notifications(), "delay_apologies": send_delay_apologies()}
