"""Demo configuration for calendars and SLAs (wired into `manage.py seed_demo` by the lead).

Idempotent: creates what is missing and never changes rows that already exist.
"""

from refunds.calendars import import_ical
from refunds.models import BusinessCalendar, Channel, Holiday, Policy, PolicySla
from refunds.models.calendars import CalendarKind

WEEKDAYS_9_18 = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
EVERY_DAY = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

REGIONS = [
    # code, name, region, zone, hours, holidays (date, name)
    ("eu-ops", "EU operations", "EU", "Europe/Berlin", WEEKDAYS_9_18,
     [("2026-12-25", "Christmas Day"), ("2026-12-26", "St Stephen's Day"), ("2027-01-01", "New Year's Day")]),
    ("us-ops", "US operations", "US", "America/New_York", {d: [["09:00", "17:00"]] for d in WEEKDAYS_9_18},
     [("2026-11-26", "Thanksgiving Day"), ("2026-12-25", "Christmas Day"), ("2027-01-01", "New Year's Day")]),
    ("cn-ops", "China operations", "CN", "Asia/Shanghai",
     {day: [["09:00", "12:00"], ["13:30", "18:00"]] for day in WEEKDAYS_9_18}, []),
]

# Chinese public holidays, imported the way ops would (an iCalendar file).
CN_HOLIDAYS_ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Refundloop demo//CN holidays//EN
BEGIN:VEVENT
UID:cn-national-day-2026@refundloop
DTSTART;VALUE=DATE:20261001
DTEND;VALUE=DATE:20261008
SUMMARY:National Day
END:VEVENT
BEGIN:VEVENT
UID:cn-new-year-2027@refundloop
DTSTART;VALUE=DATE:20270101
DTEND;VALUE=DATE:20270102
SUMMARY:New Year's Day
END:VEVENT
BEGIN:VEVENT
UID:cn-spring-festival-2027@refundloop
DTSTART;VALUE=DATE:20270206
DTEND;VALUE=DATE:20270214
SUMMARY:Spring Festival
END:VEVENT
END:VCALENDAR
"""

CHANNELS = {
    # channel code: (zone, hours, copy holidays of region calendar)
    "card": ("UTC", WEEKDAYS_9_18, None),
    "paypal": ("America/New_York", WEEKDAYS_9_18, "us-ops"),
    "bank_transfer": ("Europe/Berlin", WEEKDAYS_9_18, "eu-ops"),
    "alipay": ("Asia/Shanghai", EVERY_DAY, None),
    "wechat_pay": ("Asia/Shanghai", WEEKDAYS_9_18, "cn-ops"),
}


def seed(stdout) -> None:
    for code, name, region, zone, hours, holidays in REGIONS:
        calendar, created = BusinessCalendar.objects.get_or_create(
            code=code, defaults={"name": name, "kind": CalendarKind.REGION, "region": region, "timezone": zone,
                                 "hours": hours})
        for day, label in holidays:
            Holiday.objects.get_or_create(calendar=calendar, date=day, defaults={"name": label})
        if code == "cn-ops":
            import_ical(calendar, CN_HOLIDAYS_ICS)
        if created:
            stdout.write(f"calendar {code} ({zone})\n")
    for channel_code, (zone, hours, holidays_from) in CHANNELS.items():
        channel = Channel.objects.filter(code=channel_code).first()
        if channel is None:
            continue
        calendar, created = BusinessCalendar.objects.get_or_create(
            code=f"settle-{channel_code}",
            defaults={"name": f"{channel.name} settlement", "kind": CalendarKind.CHANNEL, "channel": channel,
                      "timezone": zone, "hours": hours})
        if created and holidays_from:
            source = BusinessCalendar.objects.get(code=holidays_from)
            for holiday in source.holidays.all():
                Holiday.objects.get_or_create(calendar=calendar, date=holiday.date, defaults={"name": holiday.name})
        if created:
            stdout.write(f"settlement calendar for {channel_code}\n")
    for policy in Policy.objects.filter(sla__isnull=True):
        PolicySla.objects.create(policy=policy)
        stdout.write(f"SLA targets for policy {policy.code}\n")
