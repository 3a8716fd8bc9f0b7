"""Policies as SOPs: the policy version a ticket follows, and the per-stage checklists.

A ticket keeps the policy version it was opened under (`policy_version`); `policy_for_ticket`
returns that version's content from django-simple-history, so editing a policy never changes the
rules of tickets already in flight. Checklists are data on the policy ({stage: [items]}); the
ticks are per ticket (`ChecklistTick`). `perform_transition` refuses a stage's exit transition
while items are missing (`ensure_checklist_complete`), and screens list them with
`missing_checklist_items`.
"""

from django.db import IntegrityError, transaction
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from refunds import raci
from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.errors import InvalidInput, TransitionForbidden, TransitionNotAllowed
from refunds.lifecycle import TRANSITIONS, Stage
from refunds.models import ChecklistTick, Policy, RefundTicket
from refunds.models.audit import LogKind

# The transitions that complete (exit) a stage, per stage. Automatic transitions and the
# customer's own paths are never blocked by a staff checklist; rejections, holds and cancels are
# exception paths and stay open too. record_approval is checked only for "approve" decisions.
STAGE_EXITS: dict[str, tuple[str, ...]] = {
    Stage.REVIEW: ("approve", "request_approval"),
    Stage.APPROVAL: ("record_approval",),
    Stage.RISK: ("release",),
    Stage.PAYOUT: ("retry", "switch_channel"),
}
CHECKLIST_STAGES = tuple(STAGE_EXITS)


def policy_as_of(policy: Policy, version: int) -> Policy:
    """The policy's content at `version` (from simple-history); the live row if that version is current."""
    if policy.version == version:
        return policy
    record = (
        Policy.history.filter(id=policy.pk, version__lte=version)
        .order_by("-version", "-history_date", "-history_id")
        .first()
    )
    return record.instance if record is not None else policy


def install_policy_history_baseline(get_model) -> None:
    """A history row for every policy that has none (policies created by data migrations or
    bulk_create skip simple-history), so the version tickets were opened under can be read back."""
    Policy_ = get_model("refunds", "Policy")
    History = get_model("refunds", "HistoricalPolicy")
    known = set(History.objects.values_list("id", flat=True).distinct())
    for policy in Policy_.objects.exclude(pk__in=known):
        values = {f.attname: getattr(policy, f.attname) for f in Policy_._meta.concrete_fields}
        History.objects.create(
            **values, history_date=policy.updated_at, history_type="+", history_change_reason="baseline"
        )


def policy_for_ticket(ticket: RefundTicket) -> Policy:
    """The version of the policy the ticket was opened under (old versions cached on the instance)."""
    policy = ticket.policy
    if policy.version == ticket.policy_version:
        return policy
    key = (ticket.policy_id, ticket.policy_version)
    cached = ticket.__dict__.get("_policy_snapshot")
    if cached is None or cached[0] != key:
        cached = (key, policy_as_of(policy, ticket.policy_version))
        ticket.__dict__["_policy_snapshot"] = cached
    return cached[1]


# --- Checklist definitions ------------------------------------------------------------------------


def checklist_errors(checklists) -> dict[str, list[str]]:
    """Validation of a policy's `checklists` JSON (used by Policy.clean, i.e. admin)."""
    message = _('Use {"<stage>": [{"code": "slug", "label": "…", "label_zh_hans": "…"}]}; stages: %(s)s.') % {
        "s": ", ".join(CHECKLIST_STAGES)
    }
    if not isinstance(checklists, dict):
        return {"checklists": [message]}
    for stage, items in checklists.items():
        if stage not in CHECKLIST_STAGES or not isinstance(items, list):
            return {"checklists": [message]}
        codes = [item.get("code") if isinstance(item, dict) else None for item in items]
        if any(
            not code or not isinstance(code, str) or not code.replace("_", "").replace("-", "").isalnum()
            for code in codes
        ) or len(set(codes)) != len(codes):
            return {"checklists": [_("Every item needs a unique slug “code” within its stage.")]}
        if any(not str(item.get("label") or "").strip() for item in items):
            return {"checklists": [_("Every item needs a “label”.")]}
    return {}


def checklist_items(policy: Policy, stage: str) -> list[dict]:
    return list((policy.checklists or {}).get(stage, []))


def item_label(item: dict, language: str | None = None) -> str:
    language = language or get_language() or "en"
    if language.lower().startswith("zh") and item.get("label_zh_hans"):
        return item["label_zh_hans"]
    return item.get("label") or item["code"]


def checklist_status(ticket: RefundTicket, stage: str) -> list[dict]:
    """Every item of the stage's checklist with whether (and by whom) it is ticked."""
    ticks = {t.item: t for t in ticket.checklist_ticks.filter(stage=stage).select_related("ticked_by")}
    return [
        {
            "stage": stage,
            "code": item["code"],
            "label": item_label(item),
            "done": item["code"] in ticks,
            "ticked_by": (
                ticks[item["code"]].ticked_by.get_username()
                if item["code"] in ticks and ticks[item["code"]].ticked_by
                else None
            ),
            "ticked_at": ticks[item["code"]].ticked_at if item["code"] in ticks else None,
        }
        for item in checklist_items(policy_for_ticket(ticket), stage)
    ]


def missing_checklist_items(ticket: RefundTicket, stage: str | None = None) -> list[dict]:
    """Unticked items ({stage, code, label}) for `stage`, or for the ticket's current stage."""
    stage = stage or ticket.stage
    if stage is None:
        return []
    return [
        {"stage": s["stage"], "code": s["code"], "label": s["label"]}
        for s in checklist_status(ticket, stage)
        if not s["done"]
    ]


def ensure_checklist_complete(ticket: RefundTicket, name: str, payload: dict) -> None:
    """Refuse a stage's exit transition while its checklist has unticked items."""
    stage = TRANSITIONS[name].stage
    if name not in STAGE_EXITS.get(stage, ()):
        return
    if name == "record_approval" and payload.get("decision") != "approve":
        return
    missing = missing_checklist_items(ticket, stage)
    if missing:
        raise TransitionNotAllowed(
            _("Complete the %(stage)s checklist first: %(items)s.")
            % {"stage": Stage(stage).label, "items": "; ".join(item["label"] for item in missing)},
            missing=[{"stage": m["stage"], "code": m["code"]} for m in missing],
        )


# --- Ticking --------------------------------------------------------------------------------------


@transaction.atomic
def set_checklist_item(
    *,
    ticket: RefundTicket | str | int,
    stage: str,
    item: str,
    actor: Actor,
    done: bool = True,
    note: str = "",
) -> list[dict]:
    """Tick (or untick) one item; only roles that act in that stage (R/A) may. Logged on the timeline."""
    from refunds.services.transitions import lock_ticket

    locked = lock_ticket(ticket)
    if not raci.can_act_in_stage(actor, stage):
        raise TransitionForbidden(
            _("Only roles responsible for the %(stage)s stage may tick its checklist.") % {"stage": stage}
        )
    items = {i["code"]: i for i in checklist_items(policy_for_ticket(locked), stage)}
    if item not in items:
        raise InvalidInput(
            {
                "item": [
                    _("“%(item)s” is not on this refund's %(stage)s checklist.")
                    % {"item": item, "stage": stage}
                ]
            }
        )
    existing = locked.checklist_ticks.filter(stage=stage, item=item)
    if done and not existing.exists():
        try:
            with transaction.atomic():
                ChecklistTick.objects.create(
                    ticket=locked, stage=stage, item=item, ticked_by=actor.user, note=note[:300]
                )
        except IntegrityError:
            pass
    elif not done and existing.exists():
        existing.delete()
    else:
        return checklist_status(locked, stage)
    append_entry(
        locked,
        actor=actor,
        kind=LogKind.NOTE,
        comment=(_("Checklist ticked: %(l)s") if done else _("Checklist unticked: %(l)s"))
        % {"l": item_label(items[item], "en")},
        data={"checklist": stage, "item": item, "done": done},
    )
    return checklist_status(locked, stage)
