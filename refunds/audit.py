"""Appending to and verifying the hash-chained transition log."""

import hashlib
import json
from dataclasses import dataclass

from django.utils import timezone

from refunds.actors import Actor
from refunds.models import RefundTicket, TransitionLog
from refunds.models.audit import LogKind


def entry_hash(*, reference: str, seq: int, kind: str, transition: str, from_state: str, to_state: str,
               actor_kind: str, actor_label: str, actor_id, comment: str, customer_visible: bool, data: dict,
               at, prev_hash: str) -> str:
    payload = json.dumps(
        [reference, seq, kind, transition, from_state, to_state, actor_kind, actor_label, actor_id, comment,
         customer_visible, data, at.isoformat(), prev_hash],
        sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _hash_of(entry: TransitionLog, reference: str) -> str:
    return entry_hash(
        reference=reference, seq=entry.seq, kind=entry.kind, transition=entry.transition,
        from_state=entry.from_state, to_state=entry.to_state, actor_kind=entry.actor_kind,
        actor_label=entry.actor_label, actor_id=entry.actor_id, comment=entry.comment,
        customer_visible=entry.customer_visible, data=entry.data, at=entry.at, prev_hash=entry.prev_hash,
    )


def append_entry(ticket: RefundTicket, *, actor: Actor, kind: str = LogKind.TRANSITION, transition: str = "",
                 from_state: str = "", to_state: str = "", comment: str = "", customer_visible: bool = False,
                 data: dict | None = None) -> TransitionLog:
    """Append one entry. The caller holds the ticket's row lock, so seq and prev_hash cannot race."""
    last_seq = ticket.log.order_by("-seq").values_list("seq", flat=True).first() or 0
    entry = TransitionLog(
        ticket=ticket, seq=last_seq + 1, kind=kind, transition=transition, from_state=from_state,
        to_state=to_state, actor=actor.log_user, actor_kind=actor.kind, actor_label=actor.label[:150],
        comment=comment, customer_visible=customer_visible, data=data or {},
        at=timezone.now(), prev_hash=ticket.audit_head,
    )
    # Round-trip the JSON so the hash is computed over exactly what the database returns.
    entry.data = json.loads(json.dumps(entry.data, default=str))
    entry.hash = _hash_of(entry, ticket.reference)
    entry.save()
    ticket.audit_head = entry.hash
    RefundTicket.objects.filter(pk=ticket.pk).update(audit_head=entry.hash)
    return entry


@dataclass
class ChainProblem:
    reference: str
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"entry {self.seq}" if self.seq is not None else "head"
        return f"{self.reference} {where}: {self.problem}"


def verify_ticket_chain(ticket: RefundTicket, entries) -> ChainProblem | None:
    """The first broken link of one ticket's chain, or None."""
    prev = ""
    expected_seq = 1
    for entry in entries:
        if entry.seq != expected_seq:
            return ChainProblem(ticket.reference, expected_seq, "entry missing (sequence gap)")
        if entry.prev_hash != prev:
            return ChainProblem(ticket.reference, entry.seq, "previous-hash link broken")
        if _hash_of(entry, ticket.reference) != entry.hash:
            return ChainProblem(ticket.reference, entry.seq, "content does not match its hash (edited)")
        prev = entry.hash
        expected_seq += 1
    if prev != ticket.audit_head:
        return ChainProblem(ticket.reference, None, "last entries deleted (head hash does not match)")
    return None


def verify_all(batch_size: int = 2000):
    """Yield the first problem of every ticket whose chain is broken, streaming in batches."""
    tickets = RefundTicket.objects.only("pk", "reference", "audit_head").order_by("pk")
    last_pk = 0
    while True:
        batch = list(tickets.filter(pk__gt=last_pk)[:batch_size])
        if not batch:
            return
        by_ticket: dict[int, list[TransitionLog]] = {t.pk: [] for t in batch}
        for entry in TransitionLog.objects.filter(ticket_id__in=by_ticket).order_by("ticket_id", "seq"):
            by_ticket[entry.ticket_id].append(entry)
        for ticket in batch:
            problem = verify_ticket_chain(ticket, by_ticket[ticket.pk])
            if problem:
                yield problem
        last_pk = batch[-1].pk
