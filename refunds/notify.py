"""Staff notifications: the one function escalations call (the notifications app may route it later).

A log line now, and an e-mail to the active users of the given role groups once the transaction
commits (a rolled-back escalation sends nothing).
"""

import logging
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction

logger = logging.getLogger("refunds.notify")


def staff(*, roles, subject: str, body: str, ticket=None) -> list[str]:
    """Notify the staff holding any of `roles`; returns the addresses mailed (after commit)."""
    roles = sorted(set(roles))
    reference = getattr(ticket, "reference", "")
    addresses = sorted(
        set(
            get_user_model().objects.filter(groups__name__in=roles, is_active=True)
            .exclude(email="").values_list("email", flat=True)
        )
    )
    logger.info("notify staff roles=%s ticket=%s subject=%s recipients=%d", ",".join(roles), reference, subject,
                len(addresses))
    if addresses:
        transaction.on_commit(partial(_send, subject, body, addresses))
    return addresses


def _send(subject: str, body: str, addresses: list[str]) -> None:
    try:
        send_mail(subject, body, getattr(settings, "DEFAULT_FROM_EMAIL", None), addresses, fail_silently=False)
    except Exception:  # a mail outage must not undo the escalation; it is logged for a retry by hand
        logger.exception("staff notification mail failed: %s", subject)
