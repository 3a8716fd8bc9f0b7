"""The SLA engine (SPEC §6): clocks per stage visit, end to end and statutory, and escalations.

- `on_create(ticket)` and `on_transition(ticket, from_state, to_state)` are called inside the
  transaction that changes the ticket (refunds.services), so clocks never disagree with the state.
- Clocks copy the policy's target when they start: edits apply from the next stage visit.
- `awaiting_customer` always pauses (reason waiting_on_customer); a hold pauses the stage that was
  running (risk_hold) and starts the risk stage's own clock; the end-to-end clock also pauses on
  the hold types the policy names, and while the gateway processes when the policy says so.
- Statutory clocks never pause.
- Warn (≥ at_risk_percent used) and breach fire at most once per clock (stored flags + a unique
  constraint on the event): `check_ticket` is scheduled with RQ at the exact instants and re-checks
  when it runs; `run_periodic_tasks` does the same sweep in embedded mode.

The ticket's stored fields (stage_due_at, due_at, statutory_due_at, sla_status, paused_seconds) are
refreshed from the open clocks after every change, so queues sort and filter in SQL.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds import calendars, jobqueue, notify
from refunds.lifecycle import STATE_STAGE, TERMINAL_STATES, Stage, State
from refunds.models import RefundTicket
from refunds.models.sla import (
    ClockKind,
    ClockState,
    PauseReason,
    PolicySla,
    SlaClock,
    SlaEvent,
    SlaEventKind,
)
from refunds.models.tickets import Priority, SlaStatus

logger = logging.getLogger(__name__)

# Used when a policy has no PolicySla row (business minutes; the model's defaults).
DEFAULT_SLA = PolicySla()

# Statutory refund deadlines per region: (rule, days). Member states of the EU count as EU.
EU_COUNTRIES = frozenset("AT BE BG HR CY CZ DK DE EE FI FR GR IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
STATUTORY_RULES: dict[str, tuple[str, int]] = {
    "EU": ("calendar_days", 14),   # refund within 14 days of the withdrawal
    "CN": ("calendar_days", 7),    # within 7 days of receiving the returned goods
    "US": ("working_days", 7),     # a "prompt refund": 7 working days
}
FINISHED_STATES = TERMINAL_STATES | {State.REFUNDED}


def _now() -> datetime:
    """The engine's clock (tests replace it to land on exact minutes)."""
    return timezone.now()


def policy_sla(policy) -> PolicySla:
    try:
        return policy.sla
    except PolicySla.DoesNotExist:
        return DEFAULT_SLA


def ticket_calendar(ticket):
    """The team's calendar, else the region's, else None (the default calendar)."""
    return calendars.calendar_for_team(ticket.team) or calendars.calendar_for_region(ticket.region)


def statutory_region(region: str) -> str | None:
    region = (region or "").upper()
    if region in EU_COUNTRIES:
        return "EU"
    return region if region in STATUTORY_RULES else None


def statutory_deadline(region: str, start: datetime, calendar=None) -> datetime | None:
    """When the statutory clock started at `start` runs out (end of the last allowed local day)."""
    key = statutory_region(region)
    if key is None:
        return None
    rule, days = STATUTORY_RULES[key]
    if rule == "calendar_days":
        return start + timedelta(days=days)
    spec = calendars.spec_for(calendar)
    local_day = start.astimezone(spec.tz).date()
    last = calendars.add_business_days(calendar, local_day, days)
    return datetime.combine(last + timedelta(days=1), time(), tzinfo=spec.tz).astimezone(ZoneInfo("UTC"))


# --- Clock mechanics ----------------------------------------------------------------------------------

def _event(clock: SlaClock, kind: str, at: datetime, reason: str = "", **data) -> SlaEvent:
    return SlaEvent.objects.create(clock=clock, ticket_id=clock.ticket_id, kind=kind, at=at, reason=reason,
                                   data=data)


def _calendar_of(clock: SlaClock):
    return clock.calendar if clock.calendar_id else None


def _schedule_thresholds(clock: SlaClock, now: datetime) -> None:
    """Warn and due instants for a running clock, from what is left of its target."""
    if clock.target_seconds is None:
        clock.warn_at = clock.due_at = None
        return
    if clock.kind == ClockKind.STATUTORY:
        return  # fixed deadline, set at start
    cal = _calendar_of(clock)
    left = max(clock.target_seconds - clock.consumed_seconds, 0)
    warn_budget = clock.target_seconds * clock.at_risk_percent // 100 - clock.consumed_seconds
    clock.due_at = calendars.add_business_seconds(cal, now, left)
    clock.warn_at = calendars.add_business_seconds(cal, now, max(warn_budget, 0))


def _start_clock(ticket, kind: str, stage: str, now: datetime, *, target_minutes, settings_: PolicySla, calendar):
    visit = 1
    if kind == ClockKind.STAGE:
        visit = (SlaClock.objects.filter(ticket=ticket, kind=kind, stage=stage).count()) + 1
    clock = SlaClock(
        ticket=ticket, kind=kind, stage=stage, visit=visit, calendar=calendar,
        target_seconds=None if target_minutes is None else target_minutes * 60,
        at_risk_percent=settings_.at_risk_percent, policy_version=ticket.policy_version
        if kind == ClockKind.END_TO_END else ticket.policy.version,
        started_at=now, segment_started_at=now,
    )
    _schedule_thresholds(clock, now)
    clock.save()
    _event(clock, SlaEventKind.ACTIVATE, now, target_seconds=clock.target_seconds,
           due_at=clock.due_at.isoformat() if clock.due_at else None)
    return clock


def _pause(clock: SlaClock, now: datetime, reason: str) -> None:
    if clock.state != ClockState.RUNNING:
        return
    clock.consumed_seconds += max(calendars.business_seconds_between(_calendar_of(clock),
                                                                     clock.segment_started_at, now), 0)
    clock.state, clock.paused_at, clock.pause_reason = ClockState.PAUSED, now, reason
    clock.segment_started_at = clock.warn_at = clock.due_at = None
    clock.save()
    _event(clock, SlaEventKind.PAUSE, now, reason=reason, consumed_seconds=clock.consumed_seconds)


def _resume(clock: SlaClock, now: datetime) -> None:
    if clock.state != ClockState.PAUSED:
        return
    clock.paused_seconds += int((now - clock.paused_at).total_seconds())
    reason = clock.pause_reason
    clock.state, clock.paused_at, clock.pause_reason, clock.segment_started_at = ClockState.RUNNING, None, "", now
    _schedule_thresholds(clock, now)
    clock.save()
    _event(clock, SlaEventKind.RESUME, now, reason=reason,
           due_at=clock.due_at.isoformat() if clock.due_at else None)


def _fulfill(clock: SlaClock, now: datetime) -> None:
    if clock.state == ClockState.FULFILLED:
        return
    if clock.state == ClockState.RUNNING and clock.segment_started_at and clock.kind != ClockKind.STATUTORY:
        clock.consumed_seconds += max(calendars.business_seconds_between(_calendar_of(clock),
                                                                         clock.segment_started_at, now), 0)
    if clock.state == ClockState.PAUSED and clock.paused_at:
        clock.paused_seconds += int((now - clock.paused_at).total_seconds())
    clock.state, clock.fulfilled_at, clock.paused_at, clock.segment_started_at = ClockState.FULFILLED, now, None, None
    clock.save()
    _event(clock, SlaEventKind.FULFILL, now, consumed_seconds=clock.consumed_seconds,
           breached=clock.breached_at is not None)


# --- Entry points called by the services --------------------------------------------------------------

def on_create(ticket: RefundTicket) -> None:
    """Start the end-to-end, statutory and intake clocks of a new ticket (caller holds the row)."""
    now = _now()
    settings_ = policy_sla(ticket.policy)
    cal = ticket_calendar(ticket)
    _start_clock(ticket, ClockKind.END_TO_END, "", now, target_minutes=settings_.end_to_end_minutes,
                 settings_=settings_, calendar=cal)
    deadline = statutory_deadline(ticket.region, now, cal)
    if deadline is not None:
        clock = SlaClock(ticket=ticket, kind=ClockKind.STATUTORY, stage="", calendar=cal, started_at=now,
                         segment_started_at=now, at_risk_percent=settings_.at_risk_percent,
                         target_seconds=int((deadline - now).total_seconds()), due_at=deadline,
                         warn_at=now + (deadline - now) * settings_.at_risk_percent / 100,
                         policy_version=ticket.policy_version)
        clock.save()
        _event(clock, SlaEventKind.ACTIVATE, now, region=statutory_region(ticket.region), due_at=deadline.isoformat())
    stage = STATE_STAGE.get(State(ticket.state))
    if stage:
        _start_clock(ticket, ClockKind.STAGE, stage, now, target_minutes=settings_.target_minutes(stage),
                     settings_=settings_, calendar=cal)
    _refresh(ticket, now)


def record_return_received(ticket: RefundTicket, at: datetime | None = None) -> None:
    """Restart a CN-style statutory clock from the day the returned goods arrived."""
    with transaction.atomic():
        at = at or _now()
        clock = (SlaClock.objects.select_for_update(of=("self",))
                 .filter(ticket=ticket, kind=ClockKind.STATUTORY).exclude(state=ClockState.FULFILLED).first())
        if clock is None:
            return
        deadline = statutory_deadline(ticket.region, at, _calendar_of(clock))
        clock.started_at = clock.segment_started_at = at
        clock.due_at, clock.target_seconds = deadline, int((deadline - at).total_seconds())
        clock.warn_at = at + (deadline - at) * clock.at_risk_percent / 100
        clock.save()
        _event(clock, SlaEventKind.ACTIVATE, at, restarted="return_received", due_at=deadline.isoformat())
        _refresh(ticket, _now())


def on_transition(ticket: RefundTicket, from_state: str, to_state: str) -> None:
    """Move the clocks along with a state change (same transaction as the change)."""
    if from_state == to_state:
        return
    now = _now()
    clocks = list(SlaClock.objects.select_for_update(of=("self",)).filter(ticket=ticket)
                  .exclude(state=ClockState.FULFILLED).select_related("calendar"))
    stage_clocks = [c for c in clocks if c.kind == ClockKind.STAGE]
    settings_ = policy_sla(ticket.policy)
    cal = ticket_calendar(ticket)

    if to_state in TERMINAL_STATES:
        for clock in stage_clocks:
            _fulfill(clock, now)
    elif to_state == State.AWAITING_CUSTOMER:
        for clock in stage_clocks:
            if clock.stage == Stage.RISK:
                _fulfill(clock, now)
            else:
                _pause(clock, now, PauseReason.WAITING_ON_CUSTOMER)
    elif to_state == State.ON_HOLD:
        for clock in stage_clocks:
            _pause(clock, now, PauseReason.RISK_HOLD)
        _start_clock(ticket, ClockKind.STAGE, Stage.RISK, now, target_minutes=settings_.risk_minutes,
                     settings_=settings_, calendar=cal)
    else:
        target = STATE_STAGE[State(to_state)]
        running = None
        for clock in stage_clocks:
            if clock.state == ClockState.RUNNING and clock.stage == target and running is None:
                running = clock
            elif clock.state == ClockState.RUNNING:
                _fulfill(clock, now)
        for clock in stage_clocks:
            if clock.state == ClockState.PAUSED:
                if clock.stage == target and running is None:
                    _resume(clock, now)
                    running = clock
                else:
                    _fulfill(clock, now)
        if running is None:
            _start_clock(ticket, ClockKind.STAGE, target, now, target_minutes=settings_.target_minutes(target),
                         settings_=settings_, calendar=cal)

    for clock in clocks:
        if clock.kind == ClockKind.STATUTORY and to_state in FINISHED_STATES:
            _fulfill(clock, now)
        elif clock.kind == ClockKind.END_TO_END:
            _move_end_to_end(ticket, clock, to_state, now, settings_)
    _escalate_due(ticket, now)
    _refresh(ticket, now)
    transaction.on_commit(partial(schedule_checks, ticket.pk))


def _move_end_to_end(ticket, clock: SlaClock, to_state: str, now: datetime, settings_: PolicySla) -> None:
    if to_state in FINISHED_STATES:
        _fulfill(clock, now)
        return
    reason = ""
    if to_state == State.AWAITING_CUSTOMER:
        reason = PauseReason.WAITING_ON_CUSTOMER
    elif to_state == State.ON_HOLD:
        hold = ticket.holds.filter(released_at__isnull=True).order_by("-pk").first()
        if hold is not None and hold.hold_type in (settings_.pause_hold_types or []):
            reason = PauseReason.RISK_HOLD
    elif to_state == State.PROCESSING and settings_.pause_waiting_on_gateway:
        reason = PauseReason.WAITING_ON_GATEWAY
    if reason and clock.state == ClockState.RUNNING:
        _pause(clock, now, reason)
    elif not reason and clock.state == ClockState.PAUSED:
        _resume(clock, now)


# --- Escalations ---------------------------------------------------------------------------------------

def _stage_roles(ticket, clock: SlaClock, letter: str) -> set[str]:
    from refunds.raci import Matrix

    stage = clock.stage or (ticket.stage or "")
    matrix = Matrix()
    return matrix.responsible(stage) if letter == "R" else matrix.accountable(stage)


def _clock_label(clock: SlaClock) -> str:
    if clock.kind == ClockKind.STAGE:
        return _("%(stage)s stage") % {"stage": Stage(clock.stage).label}
    return ClockKind(clock.kind).label


def _escalate_due(ticket: RefundTicket, now: datetime) -> dict:
    """Fire warn/breach on running clocks whose instant has come (caller holds the ticket row)."""
    fired = {"warned": 0, "breached": 0}
    due = (SlaClock.objects.select_for_update(of=("self",)).filter(ticket=ticket, state=ClockState.RUNNING)
           .select_related("calendar"))
    for clock in due:
        if clock.warn_at and clock.warn_at <= now and clock.warned_at is None:
            if _mark(clock, SlaEventKind.WARN, clock.warn_at, now):
                fired["warned"] += 1
                roles = _stage_roles(ticket, clock, "R")
                notify.staff(roles=roles, ticket=ticket, key=f"sla-warn:{clock.pk}",
                             subject=_("%(ref)s: %(clock)s at risk") % {"ref": ticket.reference,
                                                                        "clock": _clock_label(clock)},
                             body=_("Refund %(ref)s is due at %(due)s.")
                             % {"ref": ticket.reference, "due": clock.due_at.isoformat() if clock.due_at else "—"})
        if clock.due_at and clock.due_at <= now and clock.breached_at is None:
            if _mark(clock, SlaEventKind.BREACH, clock.due_at, now):
                fired["breached"] += 1
                _raise_priority(ticket)
                notify.staff(roles=_stage_roles(ticket, clock, "A"), ticket=ticket, key=f"sla-breach:{clock.pk}",
                             subject=_("%(ref)s: %(clock)s breached") % {"ref": ticket.reference,
                                                                         "clock": _clock_label(clock)},
                             body=_("Refund %(ref)s was due at %(due)s.")
                             % {"ref": ticket.reference, "due": clock.due_at.isoformat()})
    return fired


def _mark(clock: SlaClock, kind: str, at: datetime, now: datetime) -> bool:
    """Record warn/breach once: the stored flag, guarded by the unique (clock, kind) event."""
    field = "warned_at" if kind == SlaEventKind.WARN else "breached_at"
    try:
        with transaction.atomic():
            _event(clock, kind, at, detected_at=now.isoformat())
    except IntegrityError:
        return False
    setattr(clock, field, at)
    SlaClock.objects.filter(pk=clock.pk).update(**{field: at})
    return True


def _raise_priority(ticket: RefundTicket) -> None:
    new = min(max(ticket.priority + 1, Priority.HIGH), Priority.URGENT)
    if new != ticket.priority:
        from refunds.actors import system_user

        ticket.priority = new
        # A real save (not .update()) so simple-history records the change and who made it.
        ticket._history_user = system_user()
        ticket._change_reason = "SLA breached: priority raised"
        ticket.save(update_fields=["priority", "updated_at"])


def _refresh(ticket: RefundTicket, now: datetime) -> None:
    """Copy the open clocks' figures onto the ticket's stored, indexed fields."""
    open_clocks = list(SlaClock.objects.filter(ticket=ticket).exclude(state=ClockState.FULFILLED))
    stage = next((c for c in open_clocks if c.kind == ClockKind.STAGE and c.state == ClockState.RUNNING), None)
    e2e = next((c for c in open_clocks if c.kind == ClockKind.END_TO_END), None)
    statutory = next((c for c in open_clocks if c.kind == ClockKind.STATUTORY), None)
    e2e_all = e2e or SlaClock.objects.filter(ticket=ticket, kind=ClockKind.END_TO_END).first()
    watched = [c for c in (stage, e2e, statutory) if c is not None]
    if any(c.breached_at for c in watched):
        status = SlaStatus.BREACHED
    elif any(c.warned_at for c in watched):
        status = SlaStatus.AT_RISK
    else:
        status = SlaStatus.ON_TRACK
    paused = 0
    if e2e_all is not None:
        paused = e2e_all.paused_seconds + (int((now - e2e_all.paused_at).total_seconds()) if e2e_all.paused_at else 0)
    values = {
        "stage_due_at": stage.due_at if stage else None,
        "due_at": e2e.due_at if e2e else None,
        "statutory_due_at": statutory.due_at if statutory else None,
        "sla_status": status,
        "paused_seconds": max(paused, 0),
    }
    for name, value in values.items():
        setattr(ticket, name, value)
    RefundTicket.objects.filter(pk=ticket.pk).update(**values)


# --- Jobs ---------------------------------------------------------------------------------------------

def schedule_checks(ticket_id: int) -> None:
    """Production: one RQ job at each upcoming warn/due instant (re-checked when it runs)."""
    now = _now()
    instants = set()
    for warn_at, due_at in SlaClock.objects.filter(ticket_id=ticket_id, state=ClockState.RUNNING).values_list(
            "warn_at", "due_at"):
        instants.update(t for t in (warn_at, due_at) if t is not None and t > now)
    for when in sorted(instants):
        try:
            jobqueue.enqueue_at(when, "default", "refunds.sla.check_ticket", ticket_id)
        except Exception:  # Redis down: run_periodic_tasks catches up
            logger.exception("could not schedule SLA check for ticket %s", ticket_id)


def check_ticket(ticket_id: int) -> dict:
    """Job: fire whatever escalations are due for one ticket. Safe to run any number of times."""
    with transaction.atomic():
        ticket = (RefundTicket.objects.select_for_update(of=("self",)).select_related("policy")
                  .filter(pk=ticket_id).first())
        if ticket is None:
            return {"warned": 0, "breached": 0}
        now = _now()
        fired = _escalate_due(ticket, now)
        _refresh(ticket, now)
        return fired


def due_ticket_ids(now: datetime | None = None) -> list[int]:
    from django.db.models import Q

    now = now or _now()
    return list(
        SlaClock.objects.filter(state=ClockState.RUNNING)
        .filter(Q(warn_at__lte=now, warned_at__isnull=True) | Q(due_at__lte=now, breached_at__isnull=True))
        .values_list("ticket_id", flat=True).distinct()
    )


def run_periodic_tasks() -> dict:
    """Embedded mode (manage.py run_periodic): every escalation that is due, each exactly once."""
    totals = {"checked": 0, "warned": 0, "breached": 0}
    for ticket_id in due_ticket_ids():
        fired = check_ticket(ticket_id)
        totals["checked"] += 1
        totals["warned"] += fired["warned"]
        totals["breached"] += fired["breached"]
    return totals
