"""Staff notifications: the one function escalations call.

It goes through the notifications app's machinery (delivery log, retries with backoff, at most one
send per key and user), and its rows are written in the caller's transaction, so a rolled-back
escalation sends nothing; the send jobs are enqueued after commit.
"""

import logging

logger = logging.getLogger("refunds.notify")


def staff(*, roles, subject: str, body: str, ticket=None, key: str = "") -> list[str]:
    """Notify the staff holding any of `roles`; returns the addresses that will be mailed."""
    from notifications.services import notify_staff

    deliveries = notify_staff(sorted(set(roles)), subject, body, ticket=ticket, key=key)
    logger.info("notify staff roles=%s ticket=%s subject=%s recipients=%d", ",".join(sorted(set(roles))),
                getattr(ticket, "reference", ""), subject, len(deliveries))
    return sorted(d.recipient for d in deliveries)
