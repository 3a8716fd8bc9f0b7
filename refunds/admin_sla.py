"""Admin for business calendars (with iCalendar holiday import), policy SLA targets and SLA clocks.

Imported from refunds/admin.py (`from refunds import admin_sla  # noqa`).
"""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect, render
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from refunds.calendars import import_ical
from refunds.errors import InvalidInput
from refunds.models import BusinessCalendar, Holiday, PolicySla, SlaClock, SlaEvent


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


class IcalUploadForm(forms.Form):
    file = forms.FileField(help_text="An .ics file; every event day becomes a holiday.")


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name", "kind", "region", "team", "channel", "timezone", "active")
    list_filter = ("kind", "active")
    inlines = [HolidayInline]

    def get_urls(self):
        return [path("<int:pk>/import-ical/", self.admin_site.admin_view(self.import_ical_view),
                     name="refunds_businesscalendar_import_ical")] + super().get_urls()

    def import_ical_view(self, request, pk):
        calendar = BusinessCalendar.objects.get(pk=pk)
        form = IcalUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > 1_000_000:
                messages.error(request, "The file is larger than 1 MB.")
            else:
                try:
                    added = import_ical(calendar, upload.read())
                    messages.success(request, f"{added} holiday(s) added.")
                    return redirect("admin:refunds_businesscalendar_change", pk)
                except InvalidInput as exc:
                    messages.error(request, "; ".join(sum(exc.errors.values(), [])))
        return render(request, "admin/refunds/import_ical.html",
                      {**self.admin_site.each_context(request), "form": form, "calendar": calendar,
                       "title": f"Import holidays into {calendar}"})


@admin.register(PolicySla)
class PolicySlaAdmin(SimpleHistoryAdmin):
    list_display = ("policy", "intake_minutes", "review_minutes", "approval_minutes", "risk_minutes",
                    "payout_minutes", "reconciliation_minutes", "end_to_end_minutes", "at_risk_percent")


class SlaEventInline(admin.TabularInline):
    model = SlaEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "at", "reason", "data", "recorded_at")


@admin.register(SlaClock)
class SlaClockAdmin(admin.ModelAdmin):
    list_display = ("ticket", "kind", "stage", "visit", "state", "due_at", "warned_at", "breached_at")
    list_filter = ("kind", "stage", "state")
    raw_id_fields = ("ticket",)
    inlines = [SlaEventInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
