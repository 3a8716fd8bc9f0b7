"""Expected arrival of a refund, as a date range for the customer (SPEC §10).

    arrival = (when the payout leaves us) + (the channel's settlement days)

- When the payout leaves: already known once it was sent (processing, refunded); before that,
  between now and now + the policy's SLA targets of the stages still ahead, counted in business
  minutes of the ticket's region calendar (refunds.calendars; SLA targets from PolicySla).
- Settlement: the channel's settlement_days_min … _max in business days of the channel's own
  settlement calendar (holidays included) — or, once at least OBSERVED_MIN_SAMPLES similar refunds
  (same channel, last 180 days) went from payout to reconciled, their 10th … 90th percentile.

Calendars and observed figures are cached briefly (CACHE_SECONDS) so the status page stays at a fixed,
small number of queries; an edited holiday shows up in ETAs within that time.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from refunds import calendars
from refunds.lifecycle import Stage, State

CACHE_SECONDS = 600
OBSERVED_MIN_SAMPLES = 20
OBSERVED_WINDOW_DAYS = 180
NO_ETA_STATES = {State.REJECTED, State.CANCELLED}
SENT_STATES = {State.PROCESSING, State.REFUNDED, State.RECONCILED}

# Stages still ahead of a ticket in each state, before the money leaves (approval only if required).
STAGES_AHEAD = {
    State.SUBMITTED: (Stage.INTAKE, Stage.REVIEW, Stage.APPROVAL, Stage.PAYOUT),
    State.AWAITING_CUSTOMER: (Stage.REVIEW, Stage.APPROVAL, Stage.PAYOUT),
    State.IN_REVIEW: (Stage.REVIEW, Stage.APPROVAL, Stage.PAYOUT),
    State.PENDING_APPROVAL: (Stage.APPROVAL, Stage.PAYOUT),
    State.ON_HOLD: (Stage.RISK, Stage.REVIEW, Stage.PAYOUT),
    State.APPROVED: (Stage.PAYOUT,),
    State.FAILED: (Stage.PAYOUT,),
}


def _cached(key: str, build):
    try:
        value = cache.get(key)
    except Exception:  # cache down: compute instead
        return build()
    if value is None:
        value = build()
        try:
            cache.set(key, value, CACHE_SECONDS)
        except Exception:  # noqa: S110 - caching is an optimisation only
            pass
    return value


def region_spec(region: str) -> calendars.CalendarSpec:
    return _cached(f"eta:cal:region:{region or '-'}",
                   lambda: calendars.spec_for(calendars.calendar_for_region(region)))


def channel_spec(channel) -> calendars.CalendarSpec:
    return _cached(f"eta:cal:channel:{channel.pk}", lambda: calendars.spec_for(calendars.calendar_for_channel(channel)))


def _percentile(sorted_values: list[int], p: float) -> int:
    index = max(0, min(len(sorted_values) - 1, math.ceil(p * len(sorted_values)) - 1))
    return sorted_values[index]


def observed_settlement_days(channel) -> tuple[int, int] | None:
    """(p10, p90) business days from payout to reconciled for recent refunds of this channel, or None."""
    value = _cached(f"eta:observed:{channel.pk}", lambda: _observed(channel) or (-1, -1))
    return tuple(value) if value[0] >= 0 else None


def _observed(channel) -> tuple[int, int] | None:
    from refunds.models import PayoutAttempt, TransitionLog

    since = timezone.now() - timedelta(days=OBSERVED_WINDOW_DAYS)
    reconciled = dict(
        TransitionLog.objects.filter(transition="reconcile", at__gte=since, ticket__channel=channel)
        .values_list("ticket_id", "at")[:2000]
    )
    if len(reconciled) < OBSERVED_MIN_SAMPLES:
        return None
    sent: dict[int, datetime] = {}
    for ticket_id, created in (PayoutAttempt.objects.filter(ticket_id__in=list(reconciled), status="succeeded")
                               .values_list("ticket_id", "created_at")):
        sent[ticket_id] = max(created, sent.get(ticket_id, created))
    spec = channel_spec(channel)
    days = sorted(
        _business_days_between(spec, timezone.localdate(sent[t]), timezone.localdate(reconciled[t]))
        for t in sent if reconciled[t] >= sent[t]
    )
    if len(days) < OBSERVED_MIN_SAMPLES:
        return None
    return _percentile(days, 0.10), _percentile(days, 0.90)


def _business_days_between(spec, start: date, end: date) -> int:
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if spec.is_business_day(day):
            count += 1
    return count


def settlement_days(channel) -> tuple[int, int]:
    observed = observed_settlement_days(channel)
    if observed:
        return observed
    return channel.settlement_days_min, max(channel.settlement_days_min, channel.settlement_days_max)


def payout_sent_on(ticket) -> date | None:
    """The day the latest payout attempt left us (one query)."""
    created = ticket.payout_attempts.order_by("-number").values_list("created_at", flat=True).first()
    return timezone.localdate(created) if created else None


def _minutes_ahead(ticket, state: State) -> int:
    from refunds.sla import policy_sla

    targets = policy_sla(ticket.policy)
    needs_approval = bool(ticket.policy.required_approval_roles(ticket.amount))
    total = 0
    for stage in STAGES_AHEAD.get(state, ()):
        if stage == Stage.APPROVAL and not needs_approval:
            continue
        total += targets.target_minutes(stage) or 0
    return total


def payout_window(ticket, now: datetime, sent_on: date | None = None) -> tuple[date, date] | None:
    """Earliest and latest day the money leaves (or left) us."""
    state = State(ticket.state)
    if state in NO_ETA_STATES:
        return None
    if state in SENT_STATES:
        sent = sent_on or payout_sent_on(ticket) or timezone.localdate(now)
        return sent, sent
    spec = region_spec(ticket.region)
    latest = calendars.add_business_minutes(spec, now, _minutes_ahead(ticket, state))
    return timezone.localdate(now), timezone.localdate(latest)


def expected_arrival(ticket, now: datetime | None = None, sent_on: date | None = None) -> tuple[date, date] | None:
    """(earliest, latest) arrival dates, or None when no money is coming (rejected, cancelled).

    `sent_on` (the payout day) saves a query when the caller already knows it.
    """
    now = now or timezone.now()
    window = payout_window(ticket, now, sent_on)
    if window is None:
        return None
    spec = channel_spec(ticket.channel)
    low, high = settlement_days(ticket.channel)
    earliest = calendars.add_business_days(spec, _next_open_day(spec, window[0], low), low)
    latest = calendars.add_business_days(spec, _next_open_day(spec, window[1], high), high)
    return earliest, max(earliest, latest)


def _next_open_day(spec, day: date, days: int) -> date:
    """Instant settlement (0 days) on a closed day lands on the next business day."""
    if days:
        return day
    while not spec.is_business_day(day):
        day += timedelta(days=1)
    return day
