"""Admin for issue 3's configuration: risk rules, their hits, and per-ticket checklist ticks.

Policies (with their `checklists`, approval and auto-approval rules) are edited on the Policy admin;
Policy.clean validates the checklist and approval-rule JSON. Ticking a checklist item here goes
through `refunds.sop.set_checklist_item` (RACI-checked, logged on the timeline), like every other
entry point. Imported from refunds/admin.py (one line at its end).
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from refunds import raci
from refunds.actors import Actor
from refunds.admin_base import ReadOnlyAdmin
from refunds.errors import DomainError
from refunds.lifecycle import Stage
from refunds.models import ChecklistTick, RefundTicket, RiskRule, RiskRuleHit
from refunds.sop import CHECKLIST_STAGES, checklist_items, policy_for_ticket, set_checklist_item


@admin.register(RiskRule)
class RiskRuleAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "kind", "hold_type", "policy", "at_intake", "before_payout", "priority",
                    "active"]
    list_filter = ["kind", "hold_type", "active", "at_intake", "before_payout"]
    list_editable = ["active", "priority"]
    search_fields = ["code", "name"]
    readonly_fields = ["updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "params", "hold_type", "active"]}),
        (_("When it runs"), {"fields": ["policy", "at_intake", "before_payout", "priority", "updated_at"]}),
    ]


@admin.register(RiskRuleHit)
class RiskRuleHitAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "rule_code", "rule_name", "hold_type", "checkpoint", "hold", "created_at"]
    list_filter = ["rule_code", "hold_type", "checkpoint"]
    search_fields = ["ticket__reference", "rule_code"]
    list_select_related = ["ticket", "hold"]


class ChecklistTickForm(forms.ModelForm):
    """Ticket reference + stage + item; validated and saved by the service, never by the ORM here."""

    ticket_reference = forms.CharField(label=_("Refund reference"), max_length=20)
    stage = forms.ChoiceField(choices=[(s, Stage(s).label) for s in CHECKLIST_STAGES])

    class Meta:
        model = ChecklistTick
        fields = ["stage", "item", "note"]

    def clean(self):
        data = super().clean()
        ticket = RefundTicket.objects.filter(reference=(data.get("ticket_reference") or "").strip()).first()
        if ticket is None:
            raise forms.ValidationError({"ticket_reference": _("No refund with this reference.")})
        codes = [i["code"] for i in checklist_items(policy_for_ticket(ticket), data.get("stage", ""))]
        if data.get("item") not in codes:
            raise forms.ValidationError(
                {"item": _("Items on this refund's %(stage)s checklist: %(codes)s.")
                 % {"stage": data.get("stage"), "codes": ", ".join(codes) or "—"}})
        if not raci.can_act_in_stage(Actor.staff(self.request.user), data.get("stage", "")):
            raise forms.ValidationError(
                _("Only roles responsible for the %(stage)s stage may tick its checklist.")
                % {"stage": data.get("stage")})
        data["ticket"] = ticket
        return data


@admin.register(ChecklistTick)
class ChecklistTickAdmin(admin.ModelAdmin):
    list_display = ["ticket", "stage", "item", "ticked_by", "ticked_at", "note"]
    list_filter = ["stage"]
    search_fields = ["ticket__reference", "item"]
    list_select_related = ["ticket", "ticked_by"]
    form = ChecklistTickForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type("ChecklistTickRequestForm", (form,), {"request": request})  # per request, never shared

    def get_fields(self, request, obj=None):
        return ["ticket_reference", "stage", "item", "note"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            set_checklist_item(ticket=data["ticket"], stage=data["stage"], item=data["item"],
                               actor=Actor.staff(request.user), note=data.get("note") or "")
        except DomainError as exc:
            self.message_user(request, exc.detail or str(getattr(exc, "errors", "")), messages.ERROR)
        saved = ChecklistTick.objects.filter(ticket=data["ticket"], stage=data["stage"], item=data["item"])
        obj.pk = saved.values_list("pk", flat=True).first()

    def log_addition(self, request, obj, message):
        if obj.pk:
            return super().log_addition(request, obj, message)
        return None

    def delete_model(self, request, obj):
        set_checklist_item(ticket=obj.ticket_id, stage=obj.stage, item=obj.item,
                           actor=Actor.staff(request.user), done=False)

    def delete_queryset(self, request, queryset):
        for tick in queryset:
            self.delete_model(request, tick)


class ChecklistTickInline(admin.TabularInline):
    model = ChecklistTick
    extra = 0
    can_delete = False
    fields = readonly_fields = ["stage", "item", "ticked_by", "ticked_at", "note"]

    def has_add_permission(self, request, obj=None):
        return False


class RiskRuleHitInline(admin.TabularInline):
    model = RiskRuleHit
    fk_name = "ticket"
    extra = 0
    can_delete = False
    fields = readonly_fields = ["rule_code", "rule_name", "hold_type", "checkpoint", "message", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


def _extend_ticket_admin() -> None:
    """Show ticks and rule hits on the ticket page without editing refunds/admin.py."""
    ticket_admin = admin.site._registry.get(RefundTicket)
    if ticket_admin is not None:
        extra = [i for i in (ChecklistTickInline, RiskRuleHitInline) if i not in ticket_admin.inlines]
        ticket_admin.inlines = [*ticket_admin.inlines, *extra]


_extend_ticket_admin()
