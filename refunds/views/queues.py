"""The queue page: named queues × TicketFilter × ?q= search, sorted on stored due times, paginated."""

import logging

from django.contrib import messages
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from refunds import queues
from refunds.errors import DomainError, InvalidInput
from refunds.filters import TicketFilter
from refunds.raci import Matrix
from refunds.screens import screen
from refunds.selectors import visible_tickets
from refunds.services.assignment import assign_tickets, assignable_users

from .common import actor_for, error_text

logger = logging.getLogger(__name__)
PAGE_SIZE = 50
COUNTS_TTL = 15  # seconds; tab counts may lag a little, the list itself never does
MAX_PAGE = 2000


class SlicePage:
    """A page fetched as LIMIT n+1 (no COUNT over the whole queue): enough for previous/next links."""

    def __init__(self, queryset, number, size: int):
        try:
            self.number = min(max(int(number), 1), MAX_PAGE)
        except (TypeError, ValueError):
            self.number = 1
        start = (self.number - 1) * size
        rows = list(queryset[start:start + size + 1])
        self.object_list = rows[:size]
        self.has_next = len(rows) > size
        self.has_previous = self.number > 1
        self.has_other_pages = self.has_next or self.has_previous
        self.next_page_number = self.number + 1
        self.previous_page_number = self.number - 1

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


def _cached_counts(request, base, actor, matrix) -> dict:
    """Queue sizes scan every open ticket, so they are shared for a few seconds per user and role set."""
    key = f"ops:queue-counts:{request.user.pk}:{','.join(sorted(actor.roles))}"
    try:
        counts = cache.get(key)
    except Exception:  # the cache (Redis) is down: count directly
        counts = None
    if counts is None:
        counts = queues.queue_counts(base, actor, matrix)
        try:
            cache.set(key, counts, COUNTS_TTL)
        except Exception:
            logger.warning("queue counts not cached (cache unavailable)")
    return counts


@screen("ops:queue")
def queue(request):
    actor = actor_for(request)
    matrix = Matrix()
    code = request.GET.get("queue") or queues.DEFAULT_QUEUE
    if code not in queues.QUEUE_CODES:
        code = queues.DEFAULT_QUEUE
    sort = request.GET.get("sort") or queues.DEFAULT_SORT
    if sort not in queues.SORTS:
        sort = queues.DEFAULT_SORT
    base = visible_tickets(actor)
    counts = _cached_counts(request, base, actor, matrix)

    params = request.GET.copy()
    for key in ("queue", "sort", "page"):
        params.pop(key, None)
    listed = base.filter(queues.queue_q(code, actor, matrix)).select_related("channel", "policy", "assignee")
    filterset = TicketFilter(params or None, queryset=listed)
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, error_text(InvalidInput({k: list(v) for k, v in filterset.errors.items()})))
        listed = listed.none()
    elif filterset.is_bound:
        listed = filterset.qs
    listed = listed.order_by(*queues.SORTS[sort])
    page = SlicePage(listed, request.GET.get("page"), PAGE_SIZE)
    return render(request, "ops/queue.html", {
        "queues": [(q, counts[q.code]) for q in queues.QUEUES],
        "current": code,
        "sort": sort,
        "filter": filterset,
        "page": page,
        "ticket_base": reverse("ops:ticket", args=["X"])[:-2],
        "total": None if filterset.is_bound else counts[code],
        "assignees": list(assignable_users().only("pk", "username")),
        "can_assign": bool(actor.roles & {"ops_lead", "agent", "reviewer"}),
    })


@require_POST
@screen("ops:bulk-assign")
def bulk_assign(request):
    try:
        changed = assign_tickets(actor=actor_for(request), references=request.POST.getlist("tickets"),
                                 assignee=request.POST.get("assignee") or None)
        messages.success(request, _("%(n)s refund(s) assigned.") % {"n": changed})
    except DomainError as exc:
        messages.error(request, error_text(exc))
    back = request.POST.get("next") or ""
    return redirect(back if back.startswith("/ops/") else "ops:queue")
