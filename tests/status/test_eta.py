"""ETA = payout day (SLA targets on the region calendar) + settlement days (channel calendar)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from refunds import eta
from refunds.models import BusinessCalendar, Holiday, PayoutAttempt, TransitionLog
from tests.factories import channel

MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 23 November 2026
WEEKDAYS = {d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


def channel_calendar(code, *holidays):
    cal = BusinessCalendar.objects.create(code=f"{code}-settle", name=code, kind="channel", channel=channel(code),
                                          timezone="UTC", hours=WEEKDAYS)
    for day in holidays:
        Holiday.objects.create(calendar=cal, date=day, name="holiday")
    return cal


def test_sent_card_refund_arrives_after_5_to_10_business_days(status_ticket):
    ticket, _ = status_ticket(state="processing")  # card: 5–10 business days
    assert eta.expected_arrival(ticket, now=MONDAY_9, sent_on=date(2026, 11, 23)) == (
        date(2026, 11, 30), date(2026, 12, 7))


def test_a_channel_holiday_pushes_the_range(status_ticket):
    channel_calendar("card", date(2026, 11, 26))  # Thanksgiving, a Thursday
    ticket, _ = status_ticket(state="processing")
    assert eta.expected_arrival(ticket, now=MONDAY_9, sent_on=date(2026, 11, 23)) == (
        date(2026, 12, 1), date(2026, 12, 8))


def test_weekend_payout_with_instant_settlement_lands_on_monday(status_ticket, defaults):
    ticket, _ = status_ticket(state="processing", payment__channel=channel("alipay"), payment__currency="CNY")
    saturday = date(2026, 11, 28)
    assert eta.expected_arrival(ticket, now=MONDAY_9, sent_on=saturday) == (date(2026, 11, 30), date(2026, 11, 30))


def test_sent_day_read_from_the_payout_attempt(status_ticket):
    ticket, _ = status_ticket(state="processing")
    attempt = PayoutAttempt.objects.create(ticket=ticket, number=1, channel=ticket.channel, idempotency_key="k-1",
                                           amount=ticket.amount, currency=ticket.currency)
    PayoutAttempt.objects.filter(pk=attempt.pk).update(created_at=MONDAY_9)
    assert eta.expected_arrival(ticket, now=MONDAY_9 + timedelta(days=2)) == (date(2026, 11, 30), date(2026, 12, 7))


def test_before_payout_the_policy_sla_targets_give_the_latest_payout_day(status_ticket):
    # In review: review 480 + payout 480 business minutes (default PolicySla) on Mon–Fri 09–18 UTC:
    # Monday 09:00 + 960 min = Tuesday 16:00 → latest arrival Tuesday + 10 business days.
    ticket, _ = status_ticket(state="in_review", region="US")
    assert eta.expected_arrival(ticket, now=MONDAY_9) == (date(2026, 11, 30), date(2026, 12, 8))


def test_a_region_holiday_delays_the_payout_day(status_ticket):
    cal = BusinessCalendar.objects.create(code="us", name="US", kind="region", region="US", timezone="UTC",
                                          hours=WEEKDAYS)
    Holiday.objects.create(calendar=cal, date=date(2026, 11, 24), name="closed")
    ticket, _ = status_ticket(state="in_review", region="US")
    assert eta.expected_arrival(ticket, now=MONDAY_9) == (date(2026, 11, 30), date(2026, 12, 9))


def test_approval_stage_counts_only_when_the_amount_needs_it(status_ticket):
    ticket, _ = status_ticket(state="in_review", amount=Decimal("1500.00"), payment__amount=Decimal("2000.00"))
    # review + approval + payout = 1440 min: Mon 540, Tue 540, Wed 360 → Wed 15:00; + 10 → Wed 9 Dec.
    assert eta.expected_arrival(ticket, now=MONDAY_9)[1] == date(2026, 12, 9)


@pytest.mark.parametrize("state", ["rejected", "cancelled"])
def test_no_eta_when_no_money_is_coming(status_ticket, state):
    ticket, _ = status_ticket(state=state)
    assert eta.expected_arrival(ticket, now=MONDAY_9) is None


def test_observed_history_replaces_the_channel_figures(status_ticket, system):
    # 20 card refunds that took 2 business days from payout to reconciled.
    for n in range(eta.OBSERVED_MIN_SAMPLES):
        done, _ = status_ticket(state="reconciled")
        attempt = PayoutAttempt.objects.create(ticket=done, number=1, channel=done.channel, idempotency_key=f"o-{n}",
                                               amount=done.amount, currency=done.currency, status="succeeded")
        now = timezone.now()
        sent = now - timedelta(days=now.weekday() + 14)  # a Monday two weeks ago
        PayoutAttempt.objects.filter(pk=attempt.pk).update(created_at=sent)
        TransitionLog.objects.create(ticket=done, seq=1, transition="reconcile", from_state="refunded",
                                     to_state="reconciled", actor_kind="system", actor_label="system",
                                     at=sent + timedelta(days=2), hash="x")  # Wednesday
    ticket, _ = status_ticket(state="processing")
    assert eta.settlement_days(ticket.channel) == (5, 10)  # until the periodic task has run
    assert eta.refresh_observed_settlement()["card"] == (2, 2)
    assert eta.settlement_days(ticket.channel) == (2, 2)
    assert eta.expected_arrival(ticket, now=MONDAY_9, sent_on=date(2026, 11, 23)) == (
        date(2026, 11, 25), date(2026, 11, 25))


def test_api_shape(status_ticket):
    ticket, _ = status_ticket(state="cancelled")
    assert eta.refund_eta(ticket, now=MONDAY_9) == (None, None)
    ticket, _ = status_ticket(state="processing")
    assert eta.refund_eta(ticket, now=MONDAY_9)[0] is not None
