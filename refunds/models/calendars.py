"""Business calendars: time zone, working hours per weekday, holidays.

One calendar per team/region (SLA clocks run in it) and one per channel (settlement days for ETAs).
The arithmetic lives in refunds.calendars; these models only hold the data ops edit in admin.
"""

import re
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .config import Channel

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_hours() -> dict:
    """Mon–Fri 09:00–18:00, the documented fallback for tickets without a calendar."""
    return {day: [["09:00", "18:00"]] for day in WEEKDAYS[:5]}


def validate_hours(value) -> None:
    """`{"mon": [["09:00", "12:00"], ["13:00", "18:00"]], ...}`: sorted, non-overlapping, HH:MM."""
    if not isinstance(value, dict):
        raise ValidationError(_("Working hours must be an object keyed by weekday (mon … sun)."))
    for day, spans in value.items():
        if day not in WEEKDAYS:
            raise ValidationError(_("Unknown weekday %(day)s (use mon … sun).") % {"day": day})
        if not isinstance(spans, list):
            raise ValidationError(_("Hours for %(day)s must be a list of [start, end] pairs.") % {"day": day})
        previous_end = ""
        for span in spans:
            if (not isinstance(span, list | tuple) or len(span) != 2
                    or not all(isinstance(p, str) and _HHMM.match(p) for p in span)):
                raise ValidationError(_("Hours for %(day)s must be [\"HH:MM\", \"HH:MM\"] pairs.") % {"day": day})
            start, end = span
            if start >= end or start < previous_end:
                raise ValidationError(_("Hours for %(day)s must be increasing and not overlap.") % {"day": day})
            previous_end = end


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("Unknown time zone %(tz)s.") % {"tz": value})


class CalendarKind(models.TextChoices):
    REGION = "region", _("Region / team")
    CHANNEL = "channel", _("Channel settlement")


class BusinessCalendar(models.Model):
    """Where and when work happens (or money settles)."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=CalendarKind.choices, default=CalendarKind.REGION)
    region = models.CharField(max_length=8, blank=True,
                              help_text=_("Region code this calendar serves (kind = region), e.g. EU, CN, US."))
    team = models.CharField(max_length=50, blank=True, help_text=_("Team name, if the calendar is a team's."))
    channel = models.OneToOneField(Channel, null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="calendar")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    hours = models.JSONField(default=default_hours, validators=[validate_hours],
                             help_text=_('Working hours per weekday, e.g. {"mon": [["09:00", "18:00"]]}.'))
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["region"], condition=models.Q(kind="region", active=True, team=""),
                                    name="calendar_one_active_per_region"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.region = self.region.upper()
        super().save(*args, **kwargs)

    def clean(self):
        if self.kind == CalendarKind.CHANNEL and not self.channel_id:
            raise ValidationError({"channel": _("A channel calendar needs its channel.")})
        if self.kind == CalendarKind.REGION and self.channel_id:
            raise ValidationError({"channel": _("Only channel calendars name a channel.")})


class Holiday(models.Model):
    """A whole local day with no working hours in one calendar."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, default="manual", help_text=_("manual or ical"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="holiday_once_per_day")]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"
