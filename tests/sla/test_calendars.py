"""Business-time arithmetic against a brute-force, minute-by-minute count."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refunds.calendars import (
    CalendarSpec,
    add_business_days,
    add_business_minutes,
    business_minutes_between,
    calendar_for_channel,
    calendar_for_region,
    import_ical,
    spec_for,
)
from refunds.models import BusinessCalendar, Channel, Holiday

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Shanghai", "Australia/Sydney", "America/Sao_Paulo"]
# Windows around DST changes (EU 2026-03-29 / 10-25, US 2026-03-08 / 11-01, AU 2026-04-05 / 10-04).
ANCHORS = [datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 10, 23, tzinfo=UTC), datetime(2026, 3, 6, tzinfo=UTC),
           datetime(2026, 10, 30, tzinfo=UTC), datetime(2026, 4, 3, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC),
           datetime(2026, 6, 10, tzinfo=UTC)]


def is_business_minute(spec: CalendarSpec, instant: datetime) -> bool:
    """The definition, applied literally to one instant."""
    wall = instant.astimezone(spec.tz)
    if wall.date() in spec.holidays:
        return False
    minute = wall.hour * 60 + wall.minute
    return any(start <= minute < end for start, end in spec.spans[wall.weekday()])


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def calendars(draw):
    hours = {}
    for day in WEEKDAYS:
        cuts = sorted(draw(st.sets(st.integers(0, 24 * 4).map(lambda q: q * 15), max_size=4)))
        cuts = cuts[: len(cuts) // 2 * 2]
        spans = [[hhmm(cuts[i]), hhmm(cuts[i + 1])] for i in range(0, len(cuts), 2)]
        if spans:
            hours[day] = spans
    if not hours:
        hours["wed"] = [["00:30", "03:30"]]  # spans over the small hours hit DST gaps
    anchor = draw(st.sampled_from(ANCHORS))
    holidays = draw(st.sets(st.integers(0, 9).map(lambda n: (anchor + timedelta(days=n)).date()), max_size=3))
    return CalendarSpec.build(draw(st.sampled_from(ZONES)), hours, holidays), anchor


@settings(max_examples=150, deadline=None)
@given(calendars(), st.integers(0, 4 * 24 * 60), st.integers(0, 3 * 24 * 60))
def test_minutes_between_matches_brute_force(cal, offset, length):
    spec, anchor = cal
    start = anchor + timedelta(minutes=offset)
    end = start + timedelta(minutes=length)
    expected = sum(is_business_minute(spec, start + timedelta(minutes=i)) for i in range(length))
    assert business_minutes_between(spec, start, end) == expected
    assert business_minutes_between(spec, end, start) == -expected


@settings(max_examples=150, deadline=None)
@given(calendars(), st.integers(0, 4 * 24 * 60), st.integers(1, 600))
def test_add_minutes_matches_brute_force(cal, offset, minutes):
    spec, anchor = cal
    start = anchor + timedelta(minutes=offset)
    counted, cursor = 0, start
    while counted < minutes:
        counted += is_business_minute(spec, cursor)
        cursor += timedelta(minutes=1)
    # The brute force lands one minute after the last counted minute; that minute was business time.
    assert add_business_minutes(spec, start, minutes) == cursor
    assert business_minutes_between(spec, start, cursor) == minutes


def test_default_calendar_is_weekdays_nine_to_six_utc():
    friday_five = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert add_business_minutes(None, friday_five, 60) == datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert add_business_minutes(None, friday_five, 61) == datetime(2026, 11, 30, 9, 1, tzinfo=UTC)
    assert business_minutes_between(None, friday_five, datetime(2026, 11, 30, 10, 0, tzinfo=UTC)) == 120
    assert add_business_days(None, date(2026, 11, 27), 1) == date(2026, 11, 30)
    assert add_business_days(None, date(2026, 11, 30), -1) == date(2026, 11, 27)
    assert add_business_days(None, date(2026, 11, 28), 0) == date(2026, 11, 28)


def test_dst_day_keeps_wall_clock_hours():
    berlin = CalendarSpec.build("Europe/Berlin", {d: [["09:00", "18:00"]] for d in WEEKDAYS})
    # Sunday 2026-03-29 is the spring-forward day; 09:00 CEST = 07:00 UTC.
    saturday = datetime(2026, 3, 28, 17, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert add_business_minutes(berlin, saturday, 120) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    night = CalendarSpec.build("Europe/Berlin", {"sun": [["01:00", "04:00"]]})
    # 02:00–03:00 does not exist that night: the span is two real hours long.
    sunday = datetime(2026, 3, 29, tzinfo=ZoneInfo("Europe/Berlin"))
    assert business_minutes_between(night, sunday, sunday + timedelta(days=1)) == 120
    # ...and three hours plus the repeated hour on 2026-10-25.
    autumn = datetime(2026, 10, 25, tzinfo=ZoneInfo("Europe/Berlin"))
    assert business_minutes_between(night, autumn, autumn + timedelta(days=1)) == 240


def test_holiday_is_skipped():
    spec = CalendarSpec.build("Asia/Shanghai", {d: [["09:00", "18:00"]] for d in WEEKDAYS[:5]},
                              [date(2026, 10, 1), date(2026, 10, 2)])
    wednesday_evening = datetime(2026, 9, 30, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert add_business_minutes(spec, wednesday_evening, 60) == datetime(2026, 10, 5, 1, 30, tzinfo=UTC)
    assert add_business_days(spec, date(2026, 9, 30), 1) == date(2026, 10, 5)


def test_naive_datetimes_and_negative_minutes_are_refused():
    with pytest.raises(ValueError):
        add_business_minutes(None, datetime(2026, 1, 1), 5)
    with pytest.raises(ValueError):
        add_business_minutes(None, datetime(2026, 1, 1, tzinfo=UTC), -5)


ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1@test
DTSTART;VALUE=DATE:20261001
DTEND;VALUE=DATE:20261004
SUMMARY:National Day
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART;VALUE=DATE:20261225
SUMMARY:Christmas
RRULE:FREQ=YEARLY
END:VEVENT
END:VCALENDAR
"""


@pytest.mark.django_db
def test_models_lookup_and_ical_import():
    cn = BusinessCalendar.objects.create(code="cn", name="China", region="cn", timezone="Asia/Shanghai")
    assert calendar_for_region("CN") == cn
    assert calendar_for_region("xx") is None and calendar_for_region("") is None
    channel = Channel.objects.create(code="alipay-x", name="Alipay", refund_window_days=90)
    settle = BusinessCalendar.objects.create(code="alipay-settle", name="Alipay settlement", kind="channel",
                                             channel=channel, timezone="Asia/Shanghai")
    assert calendar_for_channel(channel) == settle == calendar_for_channel("alipay-x")
    assert calendar_for_channel(None) is None

    assert import_ical(cn, ICS) == 3 + 6  # three National Day days + Christmas over six years
    assert Holiday.objects.filter(calendar=cn, date=date(2026, 10, 3)).exists()
    assert Holiday.objects.filter(calendar=cn, date=date(2031, 12, 25)).exists()
    assert import_ical(cn, ICS) == 0  # idempotent
    cn = BusinessCalendar.objects.get(pk=cn.pk)
    assert not spec_for(cn).is_business_day(date(2026, 10, 2))
    assert add_business_days(cn, date(2026, 9, 30), 1) == date(2026, 10, 5)
