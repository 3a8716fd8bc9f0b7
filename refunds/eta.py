"""Expected arrival of a refund, as a date range for the customer (SPEC §10).

    arrival = (when the payout leaves us) + (the channel's settlement days)

- When the payout leaves: already known once it was sent (processing, refunded); before that,
  between now and now + the policy's SLA targets of the stages still ahead, counted in business
  minutes of the ticket's region calendar (refunds.calendars; SLA targets from PolicySla).
- Settlement: the channel's settlement_days_min … _max in business days of the channel's own
  settlement calendar (holidays included) — or, once at least OBSERVED_MIN_SAMPLES similar refunds
  (same channel, last 180 days) went from payout to reconciled, their 10th … 90th percentile.

Calendars are cached briefly (CACHE_SECONDS) so the status page stays at a fixed, small number of
queries; an edited holiday shows up in ETAs within that time. Observed figures are computed by the
periodic task `refresh_observed_settlement` and only read from the cache by requests.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

from refunds import calendars
from refunds.lifecycle import Stage, State

CACHE_SECONDS = 600
OBSERVED_CACHE_SECONDS = 2 * 24 * 3600
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


def _all_specs() -> dict[str, calendars.CalendarSpec]:
    """Every active region and channel calendar as a query-free snapshot (two queries, then cached).

    Same choice as refunds.calendars.calendar_for_region / calendar_for_channel: the oldest active one.
    """
    from refunds.models.calendars import BusinessCalendar, CalendarKind

    specs: dict[str, calendars.CalendarSpec] = {}
    for cal in BusinessCalendar.objects.filter(active=True).prefetch_related("holidays").order_by("pk"):
        if cal.kind == CalendarKind.CHANNEL and cal.channel_id:
            key = f"channel:{cal.channel_id}"
        elif cal.kind == CalendarKind.REGION and cal.region and not cal.team:
            key = f"region:{cal.region.upper()}"
        else:
            continue
        if key not in specs:
            specs[key] = calendars.CalendarSpec.build(cal.timezone, cal.hours, [h.date for h in cal.holidays.all()])
    return specs


def region_spec(region: str) -> calendars.CalendarSpec:
    return _cached("eta:calendars", _all_specs).get(f"region:{(region or '').upper()}", calendars.DEFAULT_SPEC)


def channel_spec(channel) -> calendars.CalendarSpec:
    return _cached("eta:calendars", _all_specs).get(f"channel:{channel.pk}", calendars.DEFAULT_SPEC)


def _percentile(sorted_values: list[int], p: float) -> int:
    index = max(0, min(len(sorted_values) - 1, math.ceil(p * len(sorted_values)) - 1))
    return sorted_values[index]


def observed_settlement_days(channel) -> tuple[int, int] | None:
    """(p10, p90) business days from payout to reconciled for recent refunds of this channel, or None.

    Read from the cache only; `refresh_observed_settlement` (a periodic task) fills it, so a page view
    never runs the history query.
    """
    try:
        value = cache.get(f"eta:observed:{channel.pk}")
    except Exception:
        return None
    return tuple(value) if value else None


def refresh_observed_settlement() -> dict:
    """Periodic task: recompute the observed settlement range of every active channel."""
    from refunds.models import Channel

    result = {}
    for channel in Channel.objects.filter(active=True):
        observed = _observed(channel)
        try:
            cache.set(f"eta:observed:{channel.pk}", observed, OBSERVED_CACHE_SECONDS)
        except Exception:  # noqa: S110 - cache down: ETAs fall back to the channel's figures
            pass
        result[channel.code] = observed
    return result


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
    """The day the latest payout attempt left us (one query, or none when attempts are prefetched)."""
    if "payout_attempts" in getattr(ticket, "_prefetched_objects_cache", {}):
        attempts = sorted(ticket.payout_attempts.all(), key=lambda a: a.number)
        created = attempts[-1].created_at if attempts else None
    else:
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


def refund_eta(ticket, now: datetime | None = None) -> tuple[date | None, date | None]:
    """The API's shape of the same figure: (earliest, latest), or (None, None) when nothing arrives."""
    arrival = expected_arrival(ticket, now=now)
    return arrival if arrival is not None else (None, None)
