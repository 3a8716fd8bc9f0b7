"""Admin for API keys (shown once on creation, revocable), idempotency records and partner webhooks."""

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from refunds.models import ApiKey, IdempotencyRecord, WebhookDelivery, WebhookEndpoint
from refunds.models.api import Scope


class ApiKeyForm(forms.ModelForm):
    scope_choices = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple,
                                              label="Scopes")

    class Meta:
        model = ApiKey
        fields = ["name", "partner", "user", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["scope_choices"] = sorted(self.instance.scope_set)

    def clean(self):
        data = super().clean()
        if not self.instance.pk and bool(data.get("partner")) == bool(data.get("user")):
            raise forms.ValidationError("Choose either a partner or a staff user.")
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ["__str__", "partner", "user", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["partner"]
    search_fields = ["name", "prefix", "partner__name", "user__username"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at", "created_by"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["partner", "user"] if obj else [])

    def save_model(self, request, obj, form, change):
        scopes = form.cleaned_data["scope_choices"]
        if change:
            obj.scopes = " ".join(sorted(scopes))
            obj.save()
            return
        key, raw = ApiKey.objects.issue(scopes=scopes, partner=obj.partner, user=obj.user, name=obj.name,
                                        expires_at=obj.expires_at, created_by=request.user)
        obj.pk = key.pk
        obj.__dict__.update({f.attname: getattr(key, f.attname) for f in ApiKey._meta.concrete_fields})
        messages.warning(request, f"New API key (copy it now, it is not shown again): {raw}")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ["key", "api_key", "status", "response_status", "created_at"]
    list_filter = ["status"]
    search_fields = ["key"]
    readonly_fields = [f.name for f in IdempotencyRecord._meta.fields]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "partner", "active", "consecutive_failures", "created_at"]
    list_filter = ["active", "partner"]
    readonly_fields = ["consecutive_failures", "created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "event_type", "endpoint", "status", "attempts", "last_status_code", "created_at"]
    list_filter = ["status", "event_type"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
