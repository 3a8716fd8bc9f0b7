"""Admin: configuration models, the RACI grid, and a read-mostly ticket view whose actions call services."""

from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from refunds import raci
from refunds.actors import Actor
from refunds.balances import payment_balance
from refunds.errors import DomainError
from refunds.lifecycle import TRANSITIONS, Role, Stage
from refunds.models import (
    Approval,
    Channel,
    Dispute,
    Hold,
    Partner,
    Payment,
    PayoutAttempt,
    Policy,
    RaciEntry,
    RefundTicket,
    TransitionLog,
)
from refunds.models.config import Responsibility
from refunds.services import add_comment, perform_transition


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "created_at"]
    search_fields = ["name"]


@admin.register(Channel)
class ChannelAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "adapter", "refund_window_days", "settlement_days_min", "settlement_days_max",
                    "fee_returned", "active"]
    list_filter = ["active", "adapter"]


@admin.register(Policy)
class PolicyAdmin(SimpleHistoryAdmin):
    list_display = ["code", "name", "scenario", "is_default", "channel", "region", "currency", "min_amount",
                    "max_amount", "auto_approve_max_amount", "version", "active"]
    list_filter = ["scenario", "active", "channel"]
    readonly_fields = ["version", "updated_at"]


@admin.register(Payment)
class PaymentAdmin(SimpleHistoryAdmin):
    list_display = ["payment_ref", "order_ref", "partner", "channel", "amount", "currency", "captured_at", "region"]
    list_filter = ["channel", "currency", "region"]
    search_fields = ["payment_ref", "order_ref", "customer_email"]
    readonly_fields = ["refundable_balance"]

    @admin.display(description=_("Refundable balance"))
    def refundable_balance(self, obj):
        if obj.pk is None:
            return "—"
        balance = payment_balance(obj)
        return (f"{balance.refundable} {obj.currency} (captured {balance.captured}, refunded {balance.refunded}, "
                f"in flight {balance.in_flight}, disputed {balance.disputed})")


@admin.register(Dispute)
class DisputeAdmin(SimpleHistoryAdmin):
    list_display = ["reference", "payment", "amount", "currency", "status", "opened_at"]
    list_filter = ["status"]
    search_fields = ["reference", "payment__payment_ref"]


@admin.register(RaciEntry)
class RaciEntryAdmin(SimpleHistoryAdmin):
    """Edited as a grid (stage × role); the list view *is* the grid."""

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)
        cells = {(e.stage, e.role): e.responsibility for e in RaciEntry.objects.all()}
        if request.method == "POST" and self.has_change_permission(request):
            wanted = {}
            for stage in Stage.values:
                for role in Role.values:
                    value = request.POST.get(f"cell-{stage}-{role}", "")
                    if value in Responsibility.values:
                        wanted[(stage, role)] = value
            changed = save_matrix(wanted, user=request.user)
            self.message_user(request, _("RACI matrix saved (%(n)s cells changed).") % {"n": changed},
                              messages.SUCCESS)
            return HttpResponseRedirect(request.get_full_path())
        rows = [
            {"stage": stage, "label": Stage(stage).label,
             "cells": [{"role": role, "value": cells.get((stage, role), "")} for role in Role.values]}
            for stage in Stage.values
        ]
        context = {
            **self.admin_site.each_context(request), "title": _("RACI matrix"), "opts": self.model._meta,
            "roles": [(r, Role(r).label) for r in Role.values], "rows": rows,
            "letters": Responsibility.choices, "can_change": self.has_change_permission(request),
        }
        return TemplateResponse(request, "admin/refunds/raci_grid.html", context)


@transaction.atomic
def save_matrix(wanted: dict[tuple[str, str], str], *, user) -> int:
    """Replace the matrix with `wanted`, one audited row change at a time (history names the user)."""
    changed = 0
    existing = {(e.stage, e.role): e for e in RaciEntry.objects.select_for_update()}
    for key, entry in existing.items():
        if key not in wanted:
            entry._history_user = user
            entry.delete()
            changed += 1
        elif wanted[key] != entry.responsibility:
            entry.responsibility = wanted[key]
            entry._history_user = user
            entry.save()
            changed += 1
    for (stage, role), letter in wanted.items():
        if (stage, role) not in existing:
            entry = RaciEntry(stage=stage, role=role, responsibility=letter)
            entry._history_user = user
            entry.save()
            changed += 1
    return changed


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["round", "role", "decision", "approver", "requested_by", "comment", "decided_at"]
    readonly_fields = fields


class HoldInline(ReadOnlyInline):
    model = Hold
    fields = ["hold_type", "owner_role", "reason", "return_state", "opened_at", "released_by", "released_at"]
    readonly_fields = fields


class PayoutAttemptInline(ReadOnlyInline):
    model = PayoutAttempt
    fields = ["number", "channel", "status", "failure_reason", "gateway_refund_id", "idempotency_key", "amount",
              "currency", "created_at"]
    readonly_fields = fields


@admin.register(RefundTicket)
class RefundTicketAdmin(SimpleHistoryAdmin):
    """Facts are read-only here: every change goes through the services (transitions, comments)."""

    change_form_template = "admin/refunds/refundticket/change_form.html"
    list_display = ["reference", "state", "amount", "currency", "channel", "policy", "sla_status", "stage_due_at",
                    "assignee", "created_at"]
    list_filter = ["state", "channel", "sla_status", "source", "region"]
    search_fields = ["reference", "payment__order_ref", "payment__payment_ref", "customer_email"]
    list_select_related = ["channel", "policy", "assignee"]
    inlines = [ApprovalInline, HoldInline, PayoutAttemptInline]
    actions = ["bulk_cancel"]
    fields = ["reference", "state", "payment", "partner", "amount", "currency", "refund_currency", "refund_amount",
              "fx_rate", "reason", "reason_detail", "customer_email", "customer_phone", "customer_language", "region",
              "refund_to", "channel", "policy", "policy_version", "priority", "assignee", "team", "info_requested",
              "risk_flags", "duplicate_of", "stage_due_at", "due_at", "statutory_due_at", "sla_status", "source",
              "created_at", "updated_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        return [
            path("<int:pk>/transition/", self.admin_site.admin_view(self.transition_view),
                 name="refunds_refundticket_transition"),
            path("<int:pk>/comment/", self.admin_site.admin_view(self.comment_view),
                 name="refunds_refundticket_comment"),
        ] + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ticket = get_object_or_404(RefundTicket, pk=object_id)
        actor = Actor.staff(request.user)
        extra = {
            "timeline": TransitionLog.objects.filter(ticket=ticket).select_related("actor").order_by("seq"),
            "allowed_transitions": [TRANSITIONS[n] for n in raci.allowed_transitions(actor, ticket)],
            "balance": payment_balance(ticket.payment),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def transition_view(self, request, pk):
        ticket = get_object_or_404(RefundTicket, pk=pk)
        if request.method == "POST":
            name = request.POST.get("name", "")
            payload = {key: request.POST[key] for key in ("reason", "hold_type", "decision", "failure_reason",
                                                          "channel") if request.POST.get(key)}
            if request.POST.get("needed"):
                payload["needed"] = [n.strip() for n in request.POST["needed"].split(",")]
            try:
                perform_transition(ticket=ticket, name=name, actor=Actor.staff(request.user),
                                   comment=request.POST.get("comment", ""), **payload)
                self.message_user(request, _("%(name)s done.") % {"name": name}, messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, _domain_message(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:refunds_refundticket_change", args=[pk]))

    def comment_view(self, request, pk):
        ticket = get_object_or_404(RefundTicket, pk=pk)
        if request.method == "POST":
            try:
                add_comment(ticket=ticket, actor=Actor.staff(request.user), text=request.POST.get("comment", ""))
                self.message_user(request, _("Comment added."), messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, _domain_message(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:refunds_refundticket_change", args=[pk]))

    @admin.action(description=_("Cancel selected refunds (through the cancel transition)"))
    def bulk_cancel(self, request, queryset):
        done, refused = 0, []
        for ticket in queryset.select_related(None).only("pk", "reference"):
            try:
                perform_transition(ticket=ticket.pk, name="cancel", actor=Actor.staff(request.user),
                                   comment="Cancelled from admin")
                done += 1
            except DomainError as exc:
                refused.append(f"{ticket.reference}: {_domain_message(exc)}")
        if done:
            self.message_user(request, _("%(n)s refunds cancelled.") % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)


def _domain_message(exc: DomainError) -> str:
    errors = getattr(exc, "errors", None)
    if errors:
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items())
    return exc.detail or exc.title


@admin.register(TransitionLog)
class TransitionLogAdmin(admin.ModelAdmin):
    list_display = ["ticket", "seq", "kind", "transition", "from_state", "to_state", "actor_label", "at"]
    list_filter = ["kind", "transition", "actor_kind"]
    search_fields = ["ticket__reference"]
    list_select_related = ["ticket"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
from refunds import admin_api  # noqa: E402, F401
