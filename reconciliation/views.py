"""Finance screens (server-rendered, thin): every write goes through reconciliation.services.

Who may open what is in refunds.screens.SCREEN_ROLES; writing (POST) additionally needs a finance
role — ops_lead sees the screens read-only.
"""

import re

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from refunds.errors import DomainError
from refunds.lifecycle import Role
from refunds.screens import screen, user_roles

from . import selectors, services
from .forms import AssignForm, ExceptionFilterForm, ResolveForm, RunForm, UploadForm
from .imports import max_upload_bytes
from .models import ExceptionStatus, MatchRun, Proposal, ProposalStatus, ReconException, RunStatus, StatementImport

WRITERS = {Role.FINANCE, Role.FINANCE_LEAD}


def _can_write(request) -> bool:
    return bool(user_roles(request.user) & WRITERS)


def _require_writer(request) -> None:
    if not _can_write(request):
        raise PermissionDenied(_("Read-only: finance or finance lead may change reconciliation data."))


def _domain_error(request, exc: DomainError) -> None:
    errors = getattr(exc, "errors", None)
    if errors:
        for field, msgs in errors.items():
            for msg in msgs:
                messages.error(request, f"{field}: {msg}")
    else:
        messages.error(request, exc.detail or str(exc))


@screen("finance:dashboard")
def dashboard(request):
    aging, buckets = selectors.exception_aging()
    context = {
        "rates": selectors.match_rate(), "totals": selectors.totals_and_bridge(), "aging": aging, "buckets": buckets,
        "runs": MatchRun.objects.select_related("channel")[:5],
        "imports": StatementImport.objects.select_related("channel")[:5],
        "open_count": ReconException.objects.exclude(status=ExceptionStatus.RESOLVED).count(),
    }
    return render(request, "finance/dashboard.html", context)


@screen("finance:imports")
@require_http_methods(["GET", "POST"])
def imports(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and request.POST.get("simulate"):
        _require_writer(request)
        if not sandbox_files_allowed():
            raise PermissionDenied(_("Simulated statements exist only in the embedded sandbox."))
        return _simulate(request)
    if request.method == "POST":
        _require_writer(request)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > max_upload_bytes():
                messages.error(request, _("The file is larger than the upload limit."))
            else:
                record = services.import_file(
                    data=upload.read(), format=form.cleaned_data["format"], kind=form.cleaned_data["kind"] or None,
                    filename=upload.name, mapping=form.cleaned_data["mapping"], channel=form.cleaned_data["channel"],
                    user=request.user)
                if record.status == "imported":
                    messages.success(request, _("Imported %(n)s lines (%(d)s already known).")
                                     % {"n": record.imported_count, "d": record.duplicate_count})
                else:
                    messages.error(request, _("Refused: nothing was imported. See the errors below."))
                return redirect(f"{reverse('finance:imports')}?show={record.pk}")
    shown = None
    if re.fullmatch(r"[0-9]{1,18}", request.GET.get("show", "")):
        shown = StatementImport.objects.filter(pk=int(request.GET["show"])).first()
    page = Paginator(StatementImport.objects.select_related("channel", "uploaded_by"), 25).get_page(
        request.GET.get("page"))
    from refunds.models import Channel

    return render(request, "finance/imports.html", {"form": form, "page": page, "shown": shown,
                                                     "can_write": _can_write(request),
                                                     "sandbox": sandbox_files_allowed(),
                                                     "channels": Channel.objects.values_list("code", flat=True)})


def sandbox_files_allowed() -> bool:
    """The simulated gateway's "fetch today's file" exists only in embedded/demo mode: in production it
    would reconcile real tickets against evidence invented from our own payout records."""
    return bool(settings.DEBUG or settings.JOBS_INLINE)


def _simulate(request):
    """Embedded/demo mode: fetch "today's file" from the simulated gateway (or the ledger export)."""
    from refunds.models import Channel

    from .demo import simulate_day, simulate_ledger

    code = request.POST["simulate"]
    if code == "ledger":
        record = simulate_ledger(user=request.user)
    else:
        channel = Channel.objects.filter(code=code).first()
        if channel is None:
            messages.error(request, _("Unknown channel."))
            return redirect("finance:imports")
        record, _injected = simulate_day(channel, user=request.user)
    if record.status == "imported":
        messages.success(request, _("Imported %(n)s lines (%(d)s already known).")
                         % {"n": record.imported_count, "d": record.duplicate_count})
    else:
        messages.error(request, _("Refused: nothing was imported. See the errors below."))
    return redirect(f"{reverse('finance:imports')}?show={record.pk}")


@screen("finance:runs")
@require_http_methods(["GET", "POST"])
def runs(request):
    form = RunForm(request.POST or None)
    if request.method == "POST":
        _require_writer(request)
        if form.is_valid():
            run = services.start_run(channel=form.cleaned_data["channel"], user=request.user)
            messages.success(request, _("Run #%(id)s queued.") % {"id": run.pk})
            return redirect("finance:runs")
    page = Paginator(MatchRun.objects.select_related("channel", "started_by"), 25).get_page(request.GET.get("page"))
    active = any(r.status in (RunStatus.QUEUED, RunStatus.RUNNING) for r in page)
    return render(request, "finance/runs.html", {"form": form, "page": page, "active": active,
                                                  "can_write": _can_write(request)})


@screen("finance:exceptions")
@require_http_methods(["GET", "POST"])
def exceptions(request):
    if request.method == "POST":
        _require_writer(request)
        try:
            proposal_id = int(request.POST.get("proposal", ""))
        except ValueError:
            messages.error(request, _("Choose a proposal."))
            return redirect("finance:exceptions")
        try:
            if request.POST.get("action") == "accept":
                services.accept_proposal(proposal_id=proposal_id, user=request.user)
                messages.success(request, _("Matched manually."))
            else:
                services.reject_proposal(proposal_id=proposal_id, user=request.user)
                messages.success(request, _("Proposal rejected; it will not be proposed again."))
        except DomainError as exc:
            _domain_error(request, exc)
        target = request.POST.get("next") or ""
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("finance:exceptions")
        return redirect(target)
    filters = ExceptionFilterForm(request.GET or None)
    cleaned = filters.cleaned_data if filters.is_valid() else {}
    page = Paginator(selectors.exception_list(filters=cleaned, user=request.user), 50).get_page(
        request.GET.get("page"))
    proposals = (Proposal.objects.filter(status=ProposalStatus.PROPOSED).select_related("ticket", "line")
                 .order_by("line_id", "pk")[:50])
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "finance/exceptions.html", {
        "filters": filters, "page": page, "proposals": proposals, "can_write": _can_write(request),
        "query": query.urlencode()})


@screen("finance:exception")
@require_http_methods(["GET", "POST"])
def exception_detail(request, pk: int):
    exc = get_object_or_404(ReconException.objects.select_related("ticket", "line", "channel", "assignee", "run"),
                            pk=pk)
    assign_form, resolve_form = AssignForm(initial={"assignee": exc.assignee_id}), ResolveForm()
    if request.method == "POST":
        _require_writer(request)
        action = request.POST.get("action")
        try:
            if action == "assign":
                assign_form = AssignForm(request.POST)
                if assign_form.is_valid():
                    services.assign_exception(exception_id=exc.pk, user=request.user,
                                              assignee=assign_form.cleaned_data["assignee"])
                    messages.success(request, _("Assigned."))
                    return redirect("finance:exception", pk=exc.pk)
            elif action == "take":
                services.assign_exception(exception_id=exc.pk, user=request.user, assignee=request.user)
                return redirect("finance:exception", pk=exc.pk)
            elif action == "resolve":
                resolve_form = ResolveForm(request.POST)
                if resolve_form.is_valid():
                    done = services.resolve_exception(exception_id=exc.pk, user=request.user,
                                                      **resolve_form.cleaned_data)
                    if done.status == ExceptionStatus.AWAITING_APPROVAL:
                        messages.info(request, _("Above the write-off threshold: a finance lead must approve."))
                    else:
                        messages.success(request, _("Resolved."))
                    return redirect("finance:exception", pk=exc.pk)
            elif action == "approve":
                services.approve_resolution(exception_id=exc.pk, user=request.user)
                messages.success(request, _("Write-off approved."))
                return redirect("finance:exception", pk=exc.pk)
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc_error:
            _domain_error(request, exc_error)
    proposals = Proposal.objects.none()
    if exc.line_id or exc.ticket_id:
        cond = Q()
        if exc.line_id:
            cond |= Q(line_id=exc.line_id)
        if exc.ticket_id:
            cond |= Q(ticket_id=exc.ticket_id)
        proposals = Proposal.objects.filter(cond).select_related("ticket", "line")
    history = exc.history.select_related("history_user").order_by("-history_date")[:50]
    return render(request, "finance/exception_detail.html", {
        "exc": exc, "assign_form": assign_form, "resolve_form": resolve_form, "proposals": proposals,
        "history": history, "can_write": _can_write(request)})
