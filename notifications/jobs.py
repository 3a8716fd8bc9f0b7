"""RQ jobs of the notifications app: thin wrappers that take ids and call one service."""

from refunds.models import TransitionLog

from . import services


def notify_transition(ticket_id: int, event: str, transition: str, to_state: str) -> int:
    """Plan the deliveries of a transition's event; the audit entry that caused it is the occurrence."""
    seq = (TransitionLog.objects.filter(ticket_id=ticket_id, transition=transition, to_state=to_state)
           .order_by("-seq").values_list("seq", flat=True).first())
    return len(services.notify(ticket_id, event, f"log:{seq or 0}"))


def send_delivery(delivery_id: int) -> str:
    return services.send_delivery(delivery_id)


def retry_due_notifications() -> int:
    """Periodic task (run_periodic / RQ cron): retries whose time has come and pending rows left behind."""
    return services.retry_due()
