"""Expected arrival of a refund (SPEC §10, §12 `eta`): a date range from the channel's settlement days.

Deliberately simple for now — business days are Monday to Friday, counted from when the payout was
sent (or from today while it has not been sent yet). A later version may use the region calendar and
observed history; callers only rely on `refund_eta(ticket) -> (earliest, latest)`.
"""

from datetime import date, datetime, timedelta

from django.utils import timezone

from refunds.lifecycle import State

NO_ETA_STATES = {State.REJECTED, State.CANCELLED}
SENT_STATES = {State.PROCESSING, State.REFUNDED, State.RECONCILED}


def add_business_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def refund_eta(ticket, now: datetime | None = None) -> tuple[date | None, date | None]:
    """(earliest, latest) arrival dates, or (None, None) for refunds that will not arrive."""
    if ticket.state in NO_ETA_STATES:
        return None, None
    now = now or timezone.now()
    base = ticket.updated_at if ticket.state in SENT_STATES and ticket.updated_at else now
    start = timezone.localdate(base)
    channel = ticket.channel
    return (add_business_days(start, channel.settlement_days_min),
            add_business_days(start, max(channel.settlement_days_max, channel.settlement_days_min)))
