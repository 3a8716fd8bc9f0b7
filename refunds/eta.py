"""Expected arrival of a refund, as a date range for the customer (SPEC §10).

The range is: when the payout leaves us (now, or — before payout — by the end-to-end SLA due date)
plus the channel's settlement days (min … max), counted in business days of the channel's calendar.
Interim rule until the business calendars land: Monday–Friday are business days, no holidays.
"""

from datetime import date, datetime, timedelta

from django.utils import timezone

from refunds.lifecycle import State

# Before payout and without an SLA due date: assume review and approval take this many business days.
DEFAULT_DAYS_TO_PAYOUT = (0, 2)
NO_ETA_STATES = {State.REJECTED, State.CANCELLED}


def add_business_days(day: date, n: int) -> date:
    """`day` moved forward by `n` Monday–Friday days (n=0 rolls a weekend day to Monday)."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            n -= 1
    return day


def _local_date(moment: datetime | None) -> date | None:
    return timezone.localdate(moment) if moment else None


def payout_sent_on(ticket) -> date | None:
    """The day the latest payout attempt left us (one query)."""
    created = ticket.payout_attempts.order_by("-number").values_list("created_at", flat=True).first()
    return _local_date(created)


def payout_window(ticket, today: date, sent_on: date | None = None) -> tuple[date, date] | None:
    """When the money leaves us (or left us): earliest and latest dates."""
    state = State(ticket.state)
    if state in NO_ETA_STATES:
        return None
    if state in (State.PROCESSING, State.REFUNDED, State.RECONCILED):
        sent = sent_on or payout_sent_on(ticket) or today
        return sent, sent
    if state == State.APPROVED:
        return today, today
    due = _local_date(ticket.due_at)
    earliest = add_business_days(today, DEFAULT_DAYS_TO_PAYOUT[0])
    latest = max(due, earliest) if due else add_business_days(today, DEFAULT_DAYS_TO_PAYOUT[1])
    return earliest, latest


def expected_arrival(ticket, today: date | None = None, sent_on: date | None = None) -> tuple[date, date] | None:
    """(earliest, latest) arrival dates, or None when no money is coming (rejected, cancelled).

    `sent_on` (the payout day) saves a query when the caller already knows it.
    """
    today = today or timezone.localdate()
    window = payout_window(ticket, today, sent_on)
    if window is None:
        return None
    channel = ticket.channel
    earliest = add_business_days(window[0], channel.settlement_days_min)
    latest = add_business_days(window[1], channel.settlement_days_max)
    return earliest, max(earliest, latest)
