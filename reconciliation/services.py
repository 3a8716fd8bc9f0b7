"""Write paths of reconciliation: imports, runs, applying outcomes, working exceptions.

Views, the API, commands and jobs call these; none of them changes a ticket or an exception itself.
"""

import json
import logging
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_update_with_history

from refunds import jobqueue, raci
from refunds.actors import Actor
from refunds.audit import _hash_of
from refunds.errors import Conflict, DomainError, InvalidInput, NotFound, TransitionForbidden
from refunds.lifecycle import Role, State
from refunds.models import RefundTicket, TransitionLog
from refunds.models.audit import LogKind
from refunds.money import to_minor_units
from refunds.services.transitions import perform_transition
from refunds.signals import ticket_transitioned

from .imports import import_file
from .models import (
    ExceptionStatus,
    LineStatus,
    Match,
    MatchLink,
    MatchRun,
    MatchStatus,
    Proposal,
    ProposalStatus,
    ReconException,
    Resolution,
    RunStatus,
    StatementImport,
)

logger = logging.getLogger(__name__)

__all__ = ["import_file", "start_run", "execute_run", "reconcile_tickets", "assign_exception",
           "resolve_exception", "approve_resolution", "reject_proposal", "accept_proposal"]

FINANCE_ROLES = {Role.FINANCE, Role.FINANCE_LEAD}


def write_off_threshold_minor(currency: str = "USD") -> int:
    """Write-offs above this amount need a second person (finance_lead) to approve.

    The setting is in major units (default 100) and is scaled by the currency's ISO 4217 exponent,
    so the threshold means the same nominal amount in JPY (0 decimals) and KWD (3 decimals).
    """
    from refunds.money import currency_exponent

    major = Decimal(str(getattr(settings, "RECON_WRITE_OFF_FOUR_EYES", "100")))
    return int(major.scaleb(currency_exponent(currency)))


# --- Runs -----------------------------------------------------------------------------------------

def start_run(*, channel=None, user=None, three_way: bool | None = None, as_of=None,
              apply_outcomes: bool = True) -> MatchRun:
    """Create a run and enqueue it after commit (inline in embedded mode)."""
    from .models import Kind, StatementLine

    if three_way is None:
        three_way = StatementLine.objects.filter(kind=Kind.LEDGER).exists()
    run = MatchRun.objects.create(channel=channel, started_by=user, three_way=three_way,
                                  as_of=as_of or timezone.now(), apply_outcomes=apply_outcomes)
    transaction.on_commit(partial(jobqueue.enqueue, "reconciliation", "reconciliation.jobs.run_match", run.pk))
    return run


def execute_run(run_id: int) -> MatchRun | None:
    """Run a queued run once (a second delivery of the job finds it started and returns)."""
    from .matching import Engine

    claimed = MatchRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=timezone.now())
    if not claimed:
        return None
    run = MatchRun.objects.get(pk=run_id)
    try:
        outcome = Engine(run).execute()
        counts = dict(outcome.counts)
        if run.apply_outcomes and outcome.reconcile_ids:
            MatchRun.objects.filter(pk=run.pk).update(phase="reconciling tickets")
            counts["reconciled"] = reconcile_tickets(outcome.reconcile_ids, actor=Actor.system(), run=run)
        else:
            counts["ready_to_reconcile"] = len(outcome.reconcile_ids)
        MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.DONE, finished_at=timezone.now(), phase="done",
                                                  rows_done=run.rows_total, counts=counts)
    except Exception as exc:
        logger.exception("reconciliation run %s failed", run_id)
        MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=timezone.now(),
                                                  error=str(exc)[:2000])
        raise
    run.refresh_from_db()
    return run


# --- Applying outcomes: set-based "reconcile" transitions ------------------------------------------

def reconcile_tickets(ticket_ids, *, actor: Actor, run: MatchRun | None = None, batch_size: int = 2000) -> int:
    """Move many `refunded` tickets to `reconciled`, batch by batch.

    The set-based twin of perform_transition(name="reconcile"): same RACI check, same FSM method,
    one hash-chained TransitionLog entry per ticket (bulk-inserted), one history row per ticket
    (simple-history's bulk helper), and the `ticket_transitioned` signal after commit. Each batch
    is its own transaction, locked with SELECT … FOR UPDATE; tickets that moved on are skipped.
    """
    matrix = raci.Matrix()
    ids = list(ticket_ids)
    done = 0
    for start in range(0, len(ids), batch_size):
        done += _reconcile_batch(ids[start:start + batch_size], actor, run, matrix)
    return done


@transaction.atomic
def _reconcile_batch(ids, actor, run, matrix) -> int:
    # Whole rows: the history rows copy every field (a deferred field would cost a query per ticket).
    tickets = list(RefundTicket.objects.select_for_update().filter(pk__in=ids, state=State.REFUNDED).order_by("pk"))
    if not tickets:
        return 0
    raci.ensure_can_transition(actor, "reconcile", tickets[0], matrix)
    last_seq = dict(TransitionLog.objects.filter(ticket_id__in=[t.pk for t in tickets])
                    .values("ticket_id").annotate(last=Max("seq")).values_list("ticket_id", "last"))
    now = timezone.now()
    data = json.loads(json.dumps({"run": run.pk} if run else {}))
    comment = _("Matched on statement and ledger (run #%(run)s).") % {"run": run.pk if run else "-"}
    entries = []
    for ticket in tickets:
        from_state = ticket.state
        ticket.reconcile()
        ticket.updated_at = now
        entry = TransitionLog(
            ticket=ticket, seq=last_seq.get(ticket.pk, 0) + 1, kind=LogKind.TRANSITION, transition="reconcile",
            from_state=from_state, to_state=ticket.state, actor=actor.log_user, actor_kind=actor.kind,
            actor_label=actor.label[:150], comment=comment, customer_visible=False, data=data, at=now,
            prev_hash=ticket.audit_head,
        )
        entry.hash = _hash_of(entry, ticket.reference)
        ticket.audit_head = entry.hash
        entries.append(entry)
    TransitionLog.objects.bulk_create(entries)
    # Small UPDATE batches: bulk_update writes one CASE per field, evaluated row by row (quadratic per batch).
    bulk_update_with_history(tickets, RefundTicket, ["state", "audit_head", "updated_at"], batch_size=100,
                             default_user=actor.history_user, default_change_reason="reconcile")
    pks = [t.pk for t in tickets]
    transaction.on_commit(partial(_send_signals, pks, actor.kind))
    return len(tickets)


def _send_signals(pks, actor_kind) -> None:
    for pk in pks:
        ticket_transitioned.send(sender=RefundTicket, ticket_id=pk, transition="reconcile",
                                 from_state=State.REFUNDED, to_state=State.RECONCILED, actor_kind=actor_kind)


# --- Exception work queue --------------------------------------------------------------------------

def _finance_actor(user) -> Actor:
    actor = Actor.staff(user)
    if not actor.roles & FINANCE_ROLES:
        raise TransitionForbidden(_("Only finance may work reconciliation exceptions."))
    return actor


def _locked_exception(exception_id) -> ReconException:
    try:
        return ReconException.objects.select_for_update().get(pk=exception_id)
    except ReconException.DoesNotExist:
        raise NotFound(_("No such exception."))


def _save(exc: ReconException, user, reason: str) -> None:
    exc._history_user = user
    exc._change_reason = reason
    exc.save()


@transaction.atomic
def assign_exception(*, exception_id: int, user, assignee) -> ReconException:
    _finance_actor(user)
    exc = _locked_exception(exception_id)
    if assignee is not None and not (Actor.staff(assignee).roles & FINANCE_ROLES):
        raise InvalidInput({"assignee": [_("Assign to a finance user.")]})
    exc.assignee = assignee
    _save(exc, user, "assigned")
    return exc


@transaction.atomic
def resolve_exception(*, exception_id: int, user, resolution: str, note: str = "", correction_ref: str = "",
                      line_id: int | None = None) -> ReconException:
    """Resolve one exception: matched manually (optionally naming the line), adjusted (needs the ledger
    correction reference), or written off (note required; above the threshold a second person approves)."""
    _finance_actor(user)
    exc = _locked_exception(exception_id)
    if exc.status == ExceptionStatus.RESOLVED:
        raise Conflict(_("This exception is already resolved."))
    note = (note or "").strip()
    errors = {}
    if resolution not in (Resolution.MATCHED_MANUALLY, Resolution.ADJUSTED, Resolution.WRITTEN_OFF):
        errors["resolution"] = [_("Choose matched manually, adjusted or written off.")]
    if not note:
        errors["note"] = [_("Write a note that explains the resolution.")]
    if resolution == Resolution.ADJUSTED and not correction_ref.strip():
        errors["correction_ref"] = [_("Give the ledger correction reference.")]
    if errors:
        raise InvalidInput(errors)
    exc.resolution = resolution
    exc.note = note
    exc.correction_ref = correction_ref.strip()[:100]
    exc.resolved_by = user
    if resolution == Resolution.WRITTEN_OFF and abs(exc.difference_minor or exc.expected_minor or exc.actual_minor
                                                    or 0) > write_off_threshold_minor(exc.currency or "USD"):
        exc.status = ExceptionStatus.AWAITING_APPROVAL
        _save(exc, user, "write-off proposed (four-eyes)")
        return exc
    _close(exc, user)
    return exc


@transaction.atomic
def approve_resolution(*, exception_id: int, user) -> ReconException:
    """The second pair of eyes for a large write-off: a finance lead who is not the proposer."""
    actor = _finance_actor(user)
    exc = _locked_exception(exception_id)
    if exc.status != ExceptionStatus.AWAITING_APPROVAL:
        raise Conflict(_("Nothing is waiting for approval here."))
    if Role.FINANCE_LEAD not in actor.roles:
        raise TransitionForbidden(_("A finance lead approves large write-offs."))
    if exc.resolved_by_id == user.pk:
        raise TransitionForbidden(_("Four-eyes rule: someone else must approve your own write-off."))
    exc.approved_by = user
    _close(exc, user)
    return exc


def _close(exc: ReconException, user) -> None:
    exc.status = ExceptionStatus.RESOLVED
    exc.resolved_at = timezone.now()
    _save(exc, user, f"resolved: {exc.resolution}")
    if exc.line_id:
        from .models import StatementLine

        StatementLine.objects.filter(pk=exc.line_id).update(status=LineStatus.MATCHED)
    if exc.ticket_id:
        Match.objects.filter(links__ticket_id=exc.ticket_id, status=MatchStatus.EXCEPTION).update(
            status=MatchStatus.MANUAL)
        transaction.on_commit(partial(_maybe_reconcile, exc.ticket_id, user.pk))


def _maybe_reconcile(ticket_id: int, user_id: int) -> None:
    """After a manual resolution: reconcile the ticket once nothing is open for it on any side."""
    from django.contrib.auth import get_user_model

    ticket = RefundTicket.objects.filter(pk=ticket_id, state=State.REFUNDED).first()
    if ticket is None or ReconException.objects.filter(ticket_id=ticket_id).exclude(
            status=ExceptionStatus.RESOLVED).exists():
        return
    sides = set(MatchLink.objects.filter(ticket_id=ticket_id).values_list("side", flat=True))
    resolved_sides = set(ReconException.objects.filter(ticket_id=ticket_id, status=ExceptionStatus.RESOLVED)
                         .values_list("type", flat=True))
    if "statement" not in sides and "missing_on_statement" not in resolved_sides:
        return
    user = get_user_model().objects.get(pk=user_id)
    try:
        perform_transition(ticket=ticket, name="reconcile", actor=Actor.staff(user),
                           comment=_("Reconciled after the exception was resolved."),
                           data={"resolved_exceptions": sorted(resolved_sides)})
    except DomainError as exc:
        # Runs after the resolution committed: the resolution stands; the next matching run (or a
        # person with the right role) reconciles the ticket. Never surface this as a failed resolution.
        logger.warning("ticket %s not reconciled after resolution: %s", ticket.reference, exc.detail or exc)


@transaction.atomic
def reject_proposal(*, proposal_id: int, user) -> Proposal:
    """Remember the rejection: the pair is never proposed again."""
    _finance_actor(user)
    proposal = Proposal.objects.select_for_update().filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFound(_("No such proposal."))
    proposal.status = ProposalStatus.REJECTED
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.save()
    return proposal


@transaction.atomic
def accept_proposal(*, proposal_id: int, user, note: str = "") -> Proposal:
    """Link the proposed ticket and line as a manual match; open exceptions of the line/ticket close."""
    _finance_actor(user)
    proposal = Proposal.objects.select_for_update().select_related("line", "ticket").filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFound(_("No such proposal."))
    if proposal.status != ProposalStatus.PROPOSED:
        raise Conflict(_("This proposal was already decided."))
    line = proposal.line
    if line.status == LineStatus.MATCHED:
        raise Conflict(_("This line is already matched."))
    ticket = proposal.ticket
    amount = to_minor_units(Decimal(ticket.amount), ticket.currency)
    match = Match.objects.create(run=proposal.run, side=line.kind, pass_name="manual", key=f"m:{proposal.pk}",
                                 status=MatchStatus.MANUAL, ticket_total=amount, line_total=-line.gross,
                                 currency=line.currency)
    MatchLink.objects.create(match=match, ticket=ticket, side=line.kind)
    MatchLink.objects.create(match=match, line=line, side=line.kind)
    line.status = LineStatus.MATCHED
    line.save(update_fields=["status"])
    StatementImport.objects.filter(pk=line.statement_import_id, open_lines__gt=0).update(
        open_lines=F("open_lines") - 1)
    proposal.status = ProposalStatus.ACCEPTED
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.save()
    for exc in ReconException.objects.select_for_update().filter(
            models_q_open(), line_id=line.pk) | ReconException.objects.filter(
            models_q_open(), ticket_id=ticket.pk, type__in=["missing_on_statement", "missing_in_ledger"]):
        exc.resolution = Resolution.MATCHED_MANUALLY
        exc.note = note or _("Proposal #%(id)s accepted.") % {"id": proposal.pk}
        exc.resolved_by = user
        exc.status = ExceptionStatus.RESOLVED
        exc.resolved_at = timezone.now()
        _save(exc, user, "matched manually (proposal accepted)")
    transaction.on_commit(partial(_maybe_reconcile, ticket.pk, user.pk))
    return proposal


def models_q_open():
    from django.db.models import Q

    return ~Q(status=ExceptionStatus.RESOLVED)
