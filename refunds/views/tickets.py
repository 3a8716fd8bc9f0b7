"""The ticket page and its write actions; every write goes through one service call."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from refunds import raci, sla
from refunds.balances import payment_balance
from refunds.errors import DomainError, NotFound
from refunds.lifecycle import TRANSITIONS
from refunds.models import Channel, SlaClock
from refunds.models.sla import ClockKind
from refunds.models.tickets import FailureReason, HoldType
from refunds.screens import screen
from refunds.selectors import ticket_get_for_actor
from refunds.services import add_comment, perform_transition
from refunds.services.assignment import assign_tickets, assignable_users
from refunds.services.transitions import RejectReason
from refunds.sop import checklist_status, set_checklist_item
from refunds.timeline import ticket_timeline

from .common import actor_for, error_text

# Extra inputs some transitions need (field name, label, choices or None for free text).
DECISIONS = [("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))]
ACTION_FIELDS = {
    "request_info": [("needed", gettext_lazy("Information needed (comma-separated)"), None)],
    "hold": [("hold_type", gettext_lazy("Hold type"), HoldType.choices)],
    "reject": [("reason", gettext_lazy("Reason"), [(c, c.replace("_", " ")) for c in RejectReason.CHOICES])],
    "record_approval": [("decision", gettext_lazy("Decision"), DECISIONS)],
    "fail": [("failure_reason", gettext_lazy("Failure reason"), FailureReason.choices)],
    "switch_channel": [("channel", gettext_lazy("Channel"), "channels")],
}
PRIMARY = {"approve", "provide_info", "release", "confirm", "retry", "reconcile"}


def _get_ticket(request, reference):
    try:
        return ticket_get_for_actor(actor=actor_for(request), reference=reference)
    except NotFound:
        raise Http404(_("No such refund."))


@screen("ops:ticket")
def ticket_detail(request, reference):
    actor = actor_for(request)
    ticket = _get_ticket(request, reference)
    matrix = raci.Matrix()
    names = raci.allowed_transitions(actor, ticket, matrix)
    channels = None
    if "switch_channel" in names:
        channels = [(c.code, c.name) for c in Channel.objects.filter(active=True).exclude(pk=ticket.channel_id)]
    actions = []
    for name in names:
        fields = []
        for field, label, choices in ACTION_FIELDS.get(name, []):
            fields.append({"name": field, "label": label, "choices": channels if choices == "channels" else choices})
        actions.append({"name": name, "label": TRANSITIONS[name].label, "fields": fields,
                        "primary": name in PRIMARY})
    checklist = checklist_status(ticket, ticket.stage) if ticket.stage else []
    clocks = list(SlaClock.objects.filter(ticket=ticket).select_related("calendar").order_by("started_at", "pk"))
    return render(request, "ops/ticket.html", {
        "ticket": ticket,
        "balance": payment_balance(ticket.payment),
        "policy_sla": sla.policy_sla(ticket.policy),
        "clocks": clocks,
        "open_clocks": [c for c in clocks if c.state != "fulfilled"],
        "stage_clocks": [c for c in clocks if c.kind == ClockKind.STAGE],
        "actions": actions,
        "checklist": checklist,
        "checklist_missing": [item for item in checklist if not item["done"]],
        "approvals": list(ticket.approvals.select_related("approver").order_by("round", "role")),
        "holds": list(ticket.holds.select_related("opened_by", "released_by").order_by("-opened_at")),
        "attempts": list(ticket.payout_attempts.select_related("channel").order_by("number")),
        "timeline": ticket_timeline(ticket),
        "assignees": list(assignable_users().only("pk", "username")),
        "raci": {"R": sorted(matrix.responsible(ticket.stage)) if ticket.stage else [],
                 "A": sorted(matrix.accountable(ticket.stage)) if ticket.stage else []},
    })


def _payload(request, name: str) -> dict:
    payload = {}
    for field, _label, _choices in ACTION_FIELDS.get(name, []):
        value = (request.POST.get(field) or "").strip()
        if field == "needed":
            payload[field] = [part.strip() for part in value.split(",") if part.strip()]
        elif value:
            payload[field] = value
    return payload


@require_POST
@screen("ops:ticket-action")
def ticket_action(request, reference):
    ticket = _get_ticket(request, reference)
    name = request.POST.get("name") or ""
    try:
        perform_transition(ticket=ticket, name=name, actor=actor_for(request),
                           comment=request.POST.get("comment") or "", **_payload(request, name))
        label = TRANSITIONS[name].label
        messages.success(request, _("Done: %(action)s.") % {"action": label})
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("ops:ticket", reference=ticket.reference)


@require_POST
@screen("ops:ticket-comment")
def ticket_comment(request, reference):
    ticket = _get_ticket(request, reference)
    try:
        add_comment(ticket=ticket, actor=actor_for(request), text=request.POST.get("text") or "")
        messages.success(request, _("Comment added."))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("ops:ticket", reference=ticket.reference)


@require_POST
@screen("ops:ticket-assign")
def ticket_assign(request, reference):
    ticket = _get_ticket(request, reference)
    try:
        assign_tickets(actor=actor_for(request), references=[ticket.reference],
                       assignee=request.POST.get("assignee") or None)
        messages.success(request, _("Assignment saved."))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("ops:ticket", reference=ticket.reference)


@require_POST
@screen("ops:ticket-checklist")
def ticket_checklist(request, reference):
    """Tick or untick one SOP checklist item (RACI and logging live in refunds.sop)."""
    ticket = _get_ticket(request, reference)
    try:
        set_checklist_item(ticket=ticket, stage=request.POST.get("stage") or "", item=request.POST.get("item") or "",
                           actor=actor_for(request), done=request.POST.get("done") != "0")
        messages.success(request, _("Checklist updated."))
    except DomainError as exc:
        messages.error(request, error_text(exc))
    return redirect("ops:ticket", reference=ticket.reference)
