"""Admin: templates editable with a live preview in both languages, the delivery log, opt-outs."""

from types import SimpleNamespace

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from refunds import jobqueue

from .models import Delivery, DeliveryStatus, NotificationTemplate, OptOut
from .render import TemplateSyntaxError, check_syntax, render

SAMPLE_CONTEXT = {
    "reference": "RF-7K2M9Q4X1B", "amount": "128.50", "currency": "EUR", "channel": "SEPA bank transfer",
    "status_url": "https://refunds.example.com/status/sample-token/", "eta_from": "2026-12-01",
    "eta_to": "2026-12-03", "needed": "IBAN", "next_steps": "We will try again.",
}


class TemplateForm(forms.ModelForm):
    class Meta:
        model = NotificationTemplate
        fields = ["event", "channel", "language", "active", "subject", "body", "body_html"]

    def clean(self):
        cleaned = super().clean()
        for name in ("subject", "body", "body_html"):
            try:
                check_syntax(cleaned.get(name) or "")
            except TemplateSyntaxError as exc:
                self.add_error(name, _("Template error: %(e)s") % {"e": exc})
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = TemplateForm
    list_display = ["event", "channel", "language", "subject", "active", "updated_at"]
    list_filter = ["event", "channel", "language", "active"]
    search_fields = ["subject", "body"]
    readonly_fields = ["preview"]
    fields = ["event", "channel", "language", "active", "subject", "body", "body_html", "preview"]

    @admin.display(description=_("Preview (sample refund)"))
    def preview(self, obj):
        if obj is None or obj.pk is None:
            return _("Save to see a preview.")
        try:
            rendered = render(SimpleNamespace(channel=obj.channel, subject=obj.subject, body=obj.body,
                                              body_html=obj.body_html), SAMPLE_CONTEXT, obj.language)
        except Exception as exc:  # show the error instead of a 500 on a broken template
            return format_html('<p class="errornote">{}</p>', exc)
        html = ""
        if rendered.body_html:
            html = format_html('<iframe sandbox="" srcdoc="{}" style="width:100%;height:360px;border:1px solid #ccc">'
                               '</iframe>', rendered.body_html)
        return format_html('<p><strong>{}</strong></p><pre style="white-space:pre-wrap">{}</pre>{}',
                           rendered.subject, rendered.body, html)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "event", "channel", "language", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "event", "language"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Retry the selected failed deliveries"))
    def resend(self, request, queryset):
        ids = list(queryset.filter(status=DeliveryStatus.FAILED).values_list("pk", flat=True))
        queryset.filter(pk__in=ids).update(status=DeliveryStatus.RETRYING, next_attempt_at=None, attempts=0)
        for delivery_id in ids:
            jobqueue.enqueue("notifications", "notifications.jobs.send_delivery", delivery_id)
        messages.success(request, _("%(n)s deliveries queued again.") % {"n": len(ids)})


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["channel", "address", "created_at"]
    list_filter = ["channel"]
    search_fields = ["address"]
