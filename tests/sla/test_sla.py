"""SLA clocks: exact instants, pauses, prospective policy edits, escalation once per stage visit."""

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import override_settings

from refunds import jobqueue, sla
from refunds.actors import Actor
from refunds.models import Policy, PolicySla, RefundTicket, SlaClock, SlaEvent
from refunds.models.sla import ClockKind, ClockState, PauseReason
from refunds.models.tickets import Priority
from refunds.services import perform_transition

pytestmark = pytest.mark.django_db


def t(*args):
    return datetime(*args, tzinfo=UTC)


def stage_clock(ticket, stage="review", visit=None):
    qs = SlaClock.objects.filter(ticket=ticket, kind=ClockKind.STAGE, stage=stage)
    return qs.get(visit=visit) if visit else qs.order_by("-visit").first()


def run(ticket, name, user, **kw):
    return perform_transition(ticket=ticket, name=name, actor=Actor.staff(user), **kw)


def test_clocks_and_stored_due_times(new_ticket):
    ticket = new_ticket()
    assert ticket.state == "in_review"
    review = stage_clock(ticket)
    # Default calendar (Mon–Fri 09–18 UTC), review target 480 min, at risk at 75%.
    assert (review.warn_at, review.due_at) == (t(2026, 11, 23, 15, 0), t(2026, 11, 23, 17, 0))
    ticket.refresh_from_db()
    assert ticket.stage_due_at == t(2026, 11, 23, 17, 0)
    assert ticket.due_at == t(2026, 11, 27, 18, 0)  # 2700 business minutes = five days
    assert ticket.statutory_due_at == t(2026, 12, 3, 0, 0)  # US: 7 working days, to the end of Wed 2 Dec
    assert ticket.sla_status == "on_track"
    intake = stage_clock(ticket, "intake")
    assert intake.state == ClockState.FULFILLED
    kinds = list(SlaEvent.objects.filter(clock=intake).values_list("kind", flat=True))
    assert kinds == ["activate", "fulfill"]


def test_statutory_rules_per_region(new_ticket):
    eu = new_ticket(region="DE")
    cn = new_ticket(region="CN")
    assert eu.statutory_due_at == t(2026, 12, 7, 9, 0)  # 14 calendar days
    assert cn.statutory_due_at == t(2026, 11, 30, 9, 0)  # 7 days (from the return, see record_return_received)
    sla.record_return_received(cn, t(2026, 11, 25, 12, 0))
    cn.refresh_from_db()
    assert cn.statutory_due_at == t(2026, 12, 2, 12, 0)
    assert new_ticket(region="JP").statutory_due_at is None


def test_at_risk_and_breach_to_the_minute_and_once(new_ticket, clock, role_users, committed, settings):
    settings.JOBS_INLINE = True  # staff e-mails are delivery jobs; run them here even when Redis is configured
    ticket = new_ticket()
    mail.outbox.clear()
    clock.at(2026, 11, 23, 14, 59)
    assert sla.run_periodic_tasks()["warned"] == 0
    ticket.refresh_from_db()
    assert ticket.sla_status == "on_track"

    clock.at(2026, 11, 23, 15, 0)
    assert committed(sla.run_periodic_tasks) == {"checked": 1, "warned": 1, "breached": 0}
    assert sla.run_periodic_tasks() == {"checked": 0, "warned": 0, "breached": 0}
    assert sla.check_ticket(ticket.pk) == {"warned": 0, "breached": 0}  # the RQ job arriving late changes nothing
    ticket.refresh_from_db()
    assert ticket.sla_status == "at_risk" and ticket.priority == Priority.NORMAL
    assert [m.to for m in mail.outbox] == [["reviewer@staff.example.com"]]  # review's R

    clock.at(2026, 11, 23, 16, 59)
    assert sla.run_periodic_tasks()["breached"] == 0
    clock.at(2026, 11, 23, 17, 0)
    assert committed(sla.check_ticket, ticket.pk) == {"warned": 0, "breached": 1}
    assert sla.check_ticket(ticket.pk) == {"warned": 0, "breached": 0}
    assert sla.run_periodic_tasks()["breached"] == 0
    ticket.refresh_from_db()
    assert ticket.sla_status == "breached" and ticket.priority == Priority.HIGH
    raised = ticket.history.filter(priority=Priority.HIGH).earliest("history_date")
    assert raised.history_user.username == "system" and "priority raised" in raised.history_change_reason
    assert mail.outbox[-1].to == ["ops_lead@staff.example.com"]  # review's A
    assert len(mail.outbox) == 2
    events = SlaEvent.objects.filter(clock=stage_clock(ticket), kind__in=["warn", "breach"])
    assert [(e.kind, e.at) for e in events] == [("warn", t(2026, 11, 23, 15, 0)), ("breach", t(2026, 11, 23, 17, 0))]


def test_escalation_fires_once_per_stage_visit(new_ticket, clock, role_users):
    ticket = new_ticket()
    clock.at(2026, 11, 23, 17, 30)
    assert sla.run_periodic_tasks() == {"checked": 1, "warned": 1, "breached": 1}
    run(ticket, "reject", role_users["reviewer"], reason="other", comment="no")
    run(ticket, "reopen", role_users["reviewer"])
    # A new visit has its own clock and may escalate again, once.
    clock.at(2026, 11, 24, 17, 30)
    assert sla.run_periodic_tasks() == {"checked": 1, "warned": 1, "breached": 1}
    assert sla.run_periodic_tasks() == {"checked": 0, "warned": 0, "breached": 0}
    assert SlaEvent.objects.filter(ticket=ticket, kind="breach", clock__kind="stage").count() == 2


def test_awaiting_customer_pauses_and_resumes(new_ticket, clock, role_users):
    ticket = new_ticket()
    clock.at(2026, 11, 23, 11, 0)
    run(ticket, "request_info", role_users["reviewer"], needed=["customer_phone"])
    review = stage_clock(ticket)
    assert review.state == ClockState.PAUSED and review.pause_reason == PauseReason.WAITING_ON_CUSTOMER
    assert review.consumed_seconds == 120 * 60
    ticket.refresh_from_db()
    assert ticket.stage_due_at is None and ticket.due_at is None
    # Time passes while paused: nothing escalates.
    clock.at(2026, 11, 24, 10, 0)
    assert sla.run_periodic_tasks()["warned"] == 0
    perform_transition(ticket=ticket, name="provide_info", actor=Actor.customer(ticket),
                       data={"customer_phone": "+8613800138000"})
    review.refresh_from_db()
    assert review.state == ClockState.RUNNING and review.visit == 1
    assert review.due_at == t(2026, 11, 24, 16, 0)  # 360 minutes left from 10:00
    assert review.warn_at == t(2026, 11, 24, 14, 0)
    ticket.refresh_from_db()
    assert ticket.paused_seconds == 23 * 3600
    # End to end: 2700 − 120 used; resumed Tue 10:00 → 2580 min later.
    assert ticket.due_at == t(2026, 11, 30, 17, 0)
    kinds = list(SlaEvent.objects.filter(clock=review).values_list("kind", "reason"))
    assert kinds == [("activate", ""), ("pause", "waiting_on_customer"), ("resume", "waiting_on_customer")]


def test_hold_pauses_stage_and_starts_risk_clock(new_ticket, clock, role_users):
    ticket = new_ticket()
    clock.at(2026, 11, 23, 10, 0)
    run(ticket, "hold", role_users["risk"], hold_type="risk", comment="check")
    review = stage_clock(ticket)
    assert review.state == ClockState.PAUSED and review.pause_reason == PauseReason.RISK_HOLD
    risk = stage_clock(ticket, "risk")
    assert risk.state == ClockState.RUNNING and risk.due_at == t(2026, 11, 24, 17, 0)  # 960 min
    e2e = SlaClock.objects.get(ticket=ticket, kind=ClockKind.END_TO_END)
    assert e2e.state == ClockState.RUNNING  # the policy names no hold types
    clock.at(2026, 11, 23, 12, 0)
    run(ticket, "release", role_users["risk"])
    review.refresh_from_db()
    risk.refresh_from_db()
    assert risk.state == ClockState.FULFILLED and review.state == ClockState.RUNNING
    assert review.due_at == t(2026, 11, 24, 10, 0)  # 420 min left from 12:00: 360 today, 60 tomorrow


def test_policy_edit_applies_from_next_visit_and_never_backdates(new_ticket, clock, role_users):
    ticket = new_ticket()
    policy = Policy.objects.get(pk=ticket.policy_id)
    PolicySla.objects.create(policy=policy, review_minutes=60)
    clock.at(2026, 11, 23, 12, 0)  # 180 minutes into a visit that had 480
    assert sla.run_periodic_tasks()["breached"] == 0
    current = stage_clock(ticket)
    assert current.due_at == t(2026, 11, 23, 17, 0) and current.breached_at is None
    run(ticket, "reject", role_users["reviewer"], reason="other", comment="no")
    run(ticket, "reopen", role_users["reviewer"])
    second = stage_clock(ticket, visit=2)
    assert second.target_seconds == 3600 and second.due_at == t(2026, 11, 23, 13, 0)
    assert second.policy_version == Policy.objects.get(pk=policy.pk).version


def test_end_to_end_pause_on_named_hold_types(new_ticket, clock, role_users):
    ticket = new_ticket()
    PolicySla.objects.create(policy=ticket.policy, pause_hold_types=["dispute"])
    run(ticket, "hold", role_users["risk"], hold_type="dispute", comment="chargeback")
    e2e = SlaClock.objects.get(ticket=ticket, kind=ClockKind.END_TO_END)
    assert e2e.state == ClockState.PAUSED and e2e.pause_reason == PauseReason.RISK_HOLD


def test_finished_ticket_fulfils_clocks(new_ticket, clock, role_users):
    ticket = new_ticket()
    run(ticket, "reject", role_users["reviewer"], reason="other", comment="no")
    assert not SlaClock.objects.filter(ticket=ticket).exclude(state=ClockState.FULFILLED).exists()
    ticket.refresh_from_db()
    assert ticket.stage_due_at is None and ticket.due_at is None


@override_settings(JOBS_INLINE=False)
def test_production_schedules_checks_at_the_instants(new_ticket, clock, monkeypatch):
    scheduled = []
    monkeypatch.setattr(jobqueue, "enqueue_at", lambda when, q, f, *a, **k: scheduled.append((when, f, a)))
    ticket = new_ticket()
    instants = {when for when, f, a in scheduled if a == (ticket.pk,)}
    assert {t(2026, 11, 23, 15, 0), t(2026, 11, 23, 17, 0), t(2026, 11, 27, 18, 0)} <= instants
    assert all(f == "refunds.sla.check_ticket" for _, f, _ in scheduled)
    assert RefundTicket.objects.get(pk=ticket.pk).sla_status == "on_track"


def test_demo_seed_is_idempotent(defaults):
    import io

    from refunds import calendars, sla_demo
    from refunds.models import BusinessCalendar, Holiday

    out = io.StringIO()
    sla_demo.seed(out)
    counts = (BusinessCalendar.objects.count(), Holiday.objects.count(), PolicySla.objects.count())
    sla_demo.seed(io.StringIO())
    assert counts == (BusinessCalendar.objects.count(), Holiday.objects.count(), PolicySla.objects.count())
    cn = calendars.calendar_for_region("CN")
    assert not calendars.is_business_day(cn, datetime(2026, 10, 2).date())
    assert calendars.calendar_for_channel("alipay") is not None
