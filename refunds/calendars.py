"""Business-time arithmetic over BusinessCalendar: the one place that knows what a working minute is.

Definition (the brute-force test checks exactly this): a UTC instant is business time when its
wall-clock time in the calendar's zone falls inside that weekday's working hours on a local date
that is not a holiday. Working hours are wall-clock spans, so across a DST change a 09:00–18:00 day
stays 09:00–18:00 local (8 or 10 hours long only if the change falls inside the span), a span
starting in the spring-forward gap starts at the first existing instant after it, and a span
covering the repeated autumn hour counts that hour twice.

A calendar of None means the documented default: Monday–Friday 09:00–18:00 UTC, no holidays.

All functions take aware datetimes and return aware datetimes in UTC.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from refunds.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Iterator

    from refunds.models.calendars import BusinessCalendar

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SCAN_LIMIT_DAYS = 3 * 366  # a calendar with no working day in three years is misconfigured


@dataclass(frozen=True)
class CalendarSpec:
    """Plain, hashable snapshot of a calendar (no queries once built)."""

    tz: ZoneInfo
    spans: tuple[tuple[tuple[int, int], ...], ...]  # per weekday 0..6: (start_minute, end_minute) pairs
    holidays: frozenset[date] = frozenset()

    @classmethod
    def build(cls, timezone: str, hours: dict, holidays=()) -> CalendarSpec:
        def minutes(hhmm: str) -> int:
            h, m = hhmm.split(":")
            return int(h) * 60 + int(m)

        spans = tuple(tuple((minutes(s), minutes(e)) for s, e in (hours or {}).get(day, ())) for day in _WEEKDAYS)
        return cls(tz=ZoneInfo(timezone), spans=spans, holidays=frozenset(holidays))

    def is_business_day(self, day: date) -> bool:
        return bool(self.spans[day.weekday()]) and day not in self.holidays


DEFAULT_SPEC = CalendarSpec.build("UTC", {day: [["09:00", "18:00"]] for day in _WEEKDAYS[:5]})



def spec_for(calendar) -> CalendarSpec:
    """The snapshot for a calendar (cached on the instance: holidays are read once per instance)."""
    if calendar is None:
        return DEFAULT_SPEC
    if isinstance(calendar, CalendarSpec):
        return calendar
    cached = getattr(calendar, "_business_spec", None)
    if cached is None:
        holidays = calendar.holidays.values_list("date", flat=True) if calendar.pk else ()
        cached = CalendarSpec.build(calendar.timezone, calendar.hours, holidays)
        calendar._business_spec = cached
    return cached


# --- Wall-clock spans → UTC intervals ----------------------------------------------------------------


def _offset(tz: ZoneInfo, utc_naive: datetime) -> timedelta:
    return utc_naive.replace(tzinfo=UTC).astimezone(tz).utcoffset()


@functools.lru_cache(maxsize=65536)
def _preimage(tz: ZoneInfo, wall_start: datetime, wall_end: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """Naive-UTC intervals of instants whose wall time in `tz` lies in [wall_start, wall_end).

    Offsets are within ±15 h, so the answer lies in a window of ±15 h around the span. Within the
    window the offset changes at most once (no zone changes twice in 30 h), found by bisection.
    """
    lo, hi = wall_start - timedelta(hours=15), wall_end + timedelta(hours=15)
    o_lo, o_hi = _offset(tz, lo), _offset(tz, hi)
    segments: list[tuple[datetime, datetime, timedelta]]
    if o_lo == o_hi:
        segments = [(lo, hi, o_lo)]
    else:
        a, b = 0, int((hi - lo).total_seconds())  # offset(lo + a) == o_lo, offset(lo + b) != o_lo
        while b - a > 1:
            mid = (a + b) // 2
            if _offset(tz, lo + timedelta(seconds=mid)) == o_lo:
                a = mid
            else:
                b = mid
        switch = lo + timedelta(seconds=b)
        segments = [(lo, switch, o_lo), (switch, hi, o_hi)]
    out: list[tuple[datetime, datetime]] = []
    for seg_start, seg_end, offset in segments:
        start, end = max(seg_start, wall_start - offset), min(seg_end, wall_end - offset)
        if start < end:
            if out and out[-1][1] == start:
                out[-1] = (out[-1][0], end)
            else:
                out.append((start, end))
    return tuple(out)


def _day_intervals(spec: CalendarSpec, day: date) -> list[tuple[datetime, datetime]]:
    if day in spec.holidays:
        return []
    midnight = datetime.combine(day, time())
    out: list[tuple[datetime, datetime]] = []
    for start, end in spec.spans[day.weekday()]:
        out.extend(_preimage(spec.tz, midnight + timedelta(minutes=start), midnight + timedelta(minutes=end)))
    return out


def _intervals_from(spec: CalendarSpec, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Business intervals (naive UTC, increasing) that end after `instant` (naive UTC)."""
    day = instant.replace(tzinfo=UTC).astimezone(spec.tz).date() - timedelta(days=1)
    idle = 0
    while True:
        intervals = _day_intervals(spec, day)
        idle = 0 if intervals else idle + 1
        if idle > _SCAN_LIMIT_DAYS:
            raise InvalidInput({"calendar": ["The calendar has no working hours in the next three years."]})
        for start, end in sorted(intervals):
            if end > instant:
                yield start, end
        day += timedelta(days=1)


def _to_naive_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).replace(tzinfo=None)


# --- Public API ----------------------------------------------------------------------------------------


def add_business_minutes(calendar, start: datetime, minutes: int) -> datetime:
    """The instant at which `minutes` business minutes have elapsed since `start` (UTC).

    Ends exactly at a closing time when the budget runs out there (a target due "by 18:00" is not
    pushed to the next morning). `minutes` = 0 returns `start` unchanged.
    """
    if minutes < 0:
        raise ValueError("minutes must be >= 0")
    return add_business_seconds(calendar, start, minutes * 60)


def add_business_seconds(calendar, start: datetime, seconds: int) -> datetime:
    """Like add_business_minutes, to the second (SLA clocks resume with part-used minutes)."""
    if seconds < 0:
        raise ValueError("seconds must be >= 0")
    cursor = _to_naive_utc(start, "start")
    if seconds == 0:
        return cursor.replace(tzinfo=UTC)
    spec = spec_for(calendar)
    remaining = timedelta(seconds=seconds)
    for a, b in _intervals_from(spec, cursor):
        a = max(a, cursor)
        if b - a >= remaining:
            return (a + remaining).replace(tzinfo=UTC)
        remaining -= b - a
    raise AssertionError("unreachable")  # pragma: no cover


def business_seconds_between(calendar, start: datetime, end: datetime) -> int:
    """Business seconds in [start, end); negative when end is before start."""
    s, e = _to_naive_utc(start, "start"), _to_naive_utc(end, "end")
    if e < s:
        return -business_seconds_between(calendar, end, start)
    spec = spec_for(calendar)
    total = timedelta()
    for a, b in _intervals_from(spec, s):
        if a >= e:
            break
        total += min(b, e) - max(a, s)
    return int(total.total_seconds())


def business_minutes_between(calendar, start: datetime, end: datetime) -> int:
    """Whole business minutes in [start, end) (truncated toward zero; negative when end < start)."""
    seconds = business_seconds_between(calendar, start, end)
    return seconds // 60 if seconds >= 0 else -((-seconds) // 60)


def is_business_day(calendar, day: date) -> bool:
    return spec_for(calendar).is_business_day(day)


def add_business_days(calendar, day: date, n: int) -> date:
    """The n-th business day after `day` (before it when n < 0); n = 0 returns `day` itself.

    A business day has working hours and is not a holiday (settlement days for channel ETAs).
    """
    spec = spec_for(calendar)
    step = timedelta(days=1 if n >= 0 else -1)
    left, idle = abs(n), 0
    while left:
        day += step
        if spec.is_business_day(day):
            left, idle = left - 1, 0
        else:
            idle += 1
            if idle > _SCAN_LIMIT_DAYS:
                raise InvalidInput({"calendar": ["The calendar has no business days."]})
    return day


def calendar_for_region(region: str | None) -> BusinessCalendar | None:
    """The active region calendar for `region` (e.g. "EU"), or None → the default calendar."""
    from refunds.models.calendars import BusinessCalendar, CalendarKind

    if not region:
        return None
    return (BusinessCalendar.objects.filter(kind=CalendarKind.REGION, region=region.upper(), active=True, team="")
            .order_by("pk").first())


def calendar_for_team(team: str | None) -> BusinessCalendar | None:
    """A team's own calendar, if it has one (teams otherwise work to their region's calendar)."""
    from refunds.models.calendars import BusinessCalendar, CalendarKind

    if not team:
        return None
    return BusinessCalendar.objects.filter(kind=CalendarKind.REGION, team=team, active=True).order_by("pk").first()


def calendar_for_channel(channel) -> BusinessCalendar | None:
    """The settlement calendar of a channel (instance, pk or code), or None → the default calendar."""
    from refunds.models.calendars import BusinessCalendar, CalendarKind

    if channel is None or channel == "":
        return None
    qs = BusinessCalendar.objects.filter(kind=CalendarKind.CHANNEL, active=True)
    if isinstance(channel, str):
        qs = qs.filter(channel__code=channel)
    else:
        qs = qs.filter(channel_id=getattr(channel, "pk", channel))
    return qs.order_by("pk").first()


# --- iCalendar import ----------------------------------------------------------------------------------


def import_ical(calendar: BusinessCalendar, data: bytes | str, *, horizon_years: int = 5) -> int:
    """Add the days of every VEVENT in an iCalendar file as holidays of `calendar`.

    All-day events use their exclusive DTEND (multi-day events give several days); timed events
    count for the local date they start on; yearly/other RRULEs are expanded `horizon_years` ahead.
    Existing days keep their row (the name is refreshed). Returns how many holiday days were added.
    """
    import icalendar
    from dateutil.rrule import rrulestr
    from django.db import transaction

    from refunds.models.calendars import Holiday

    tz = ZoneInfo(calendar.timezone)
    try:
        parsed = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise InvalidInput({"file": [f"Not an iCalendar file: {exc}"]})

    def local_date(value) -> date:
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(tz).date()
        return value

    days: dict[date, str] = {}
    for event in parsed.walk("VEVENT"):
        if "DTSTART" not in event:
            continue
        start_value = event.decoded("DTSTART")
        first = local_date(start_value)
        if "DTEND" in event:
            length = max((local_date(event.decoded("DTEND")) - first).days, 1) if not isinstance(
                start_value, datetime) else 1
        elif "DURATION" in event:
            length = max(event.decoded("DURATION").days, 1)
        else:
            length = 1
        starts = [first]
        if "RRULE" in event:
            rule_start = datetime.combine(first, time())
            rule = rrulestr(event["RRULE"].to_ical().decode(), dtstart=rule_start, ignoretz=True)
            until = rule_start.replace(year=rule_start.year + horizon_years)
            starts = [occurrence.date() for occurrence in rule.between(rule_start, until, inc=True)]
        name = str(event.get("SUMMARY", ""))[:200]
        for occurrence in starts:
            for offset in range(length):
                days.setdefault(occurrence + timedelta(days=offset), name)

    added = 0
    with transaction.atomic():
        for day, name in sorted(days.items()):
            _, created = Holiday.objects.update_or_create(calendar=calendar, date=day,
                                                          defaults={"name": name, "source": "ical"})
            added += created
    calendar._business_spec = None
    return added
