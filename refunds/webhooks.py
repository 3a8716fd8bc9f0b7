"""Inbound gateway webhooks: POST /api/v1/webhooks/gateway/<channel>/ (SPEC §8, §15).

A plain csrf-exempt Django view: the channel's adapter verifies the signature (HMAC-SHA256 over
"{timestamp}.{body}", several secrets during rotation, 300 s tolerance) and parses the events;
`process_event` applies each under the ticket's row lock, deduplicated by the unique
(channel, gateway reference, event type) row. Unsigned, stale, wrongly signed, malformed or replayed
deliveries get an application/problem+json 4xx, are logged, and change nothing.
"""

import json
import logging

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from refunds.errors import PROBLEM_TYPE_BASE
from refunds.gateways import GatewayError, WebhookEvent, WebhookRejected, adapter_for
from refunds.models import Channel, GatewayEvent, PayoutAttempt
from refunds.services.payouts import apply_locked
from refunds.services.transitions import lock_ticket

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024


def problem(status: int, slug: str, title: str, detail: str, **extra) -> HttpResponse:
    body = {"type": PROBLEM_TYPE_BASE + slug, "title": title, "status": status, "detail": detail, **extra}
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


class EventReplayed(Exception):
    pass


class EventUnknown(Exception):
    pass


def find_attempt(channel: Channel, event: WebhookEvent) -> PayoutAttempt | None:
    attempts = PayoutAttempt.objects.filter(channel=channel)
    attempt = attempts.filter(gateway_refund_id=event.refund_id).first()
    if attempt is None and event.idempotency_key:
        # The gateway accepted the refund but its answer never reached us (timeout): match by key.
        attempt = attempts.filter(idempotency_key=event.idempotency_key).first()
    return attempt


def process_event(channel: Channel, event: WebhookEvent) -> str:
    """Apply one verified event exactly once. Raises EventReplayed / EventUnknown."""
    attempt = find_attempt(channel, event)
    if attempt is None:
        raise EventUnknown(event.refund_id)
    with transaction.atomic():
        ticket = lock_ticket(attempt.ticket_id)
        try:
            with transaction.atomic():
                record = GatewayEvent.objects.create(
                    channel=channel, gateway_reference=event.refund_id, event_type=event.event_type,
                    event_id=event.event_id, ticket=ticket, payload=event.raw)
        except IntegrityError:
            raise EventReplayed(event.refund_id)
        attempt = PayoutAttempt.objects.select_for_update(of=("self",)).select_related("channel").get(pk=attempt.pk)
        outcome = apply_locked(ticket, attempt, event.as_result(), source="webhook")
        record.outcome = outcome
        record.save(update_fields=["outcome"])
        return outcome


@csrf_exempt
@require_POST
def gateway_webhook(request, channel: str):
    found = Channel.objects.filter(code=channel).first()
    if found is None:
        logger.warning("webhook rejected: unknown channel %.40s", channel)
        return problem(404, "not-found", "Not found", "No such channel.")
    declared = request.headers.get("Content-Length") or "0"
    if not declared.isdigit() or int(declared) > MAX_BODY_BYTES or len(request.body) > MAX_BODY_BYTES:
        return problem(413, "too-large", "Payload too large", "Webhook bodies are limited to 256 KiB.")
    try:
        events = adapter_for(found).parse_webhook(request.body, request.headers)
    except GatewayError as exc:
        logger.error("webhook on %s: adapter not usable: %s", found.code, exc)
        return problem(503, "adapter-unavailable", "Gateway adapter unavailable",
                       "This channel's gateway adapter is misconfigured; retry later.")
    except WebhookRejected as exc:
        logger.warning("webhook rejected on %s: %s (%s)", found.code, exc.slug, exc.detail)
        return problem(exc.status, exc.slug, "Webhook rejected", exc.detail)
    results, replayed, unknown = [], 0, 0
    for event in events:
        try:
            outcome = process_event(found, event)
        except EventReplayed:
            replayed += 1
            outcome = "replayed"
            logger.info("webhook replay ignored on %s: %s %s", found.code, event.event_type, event.refund_id)
        except EventUnknown:
            unknown += 1
            outcome = "unknown-refund"
            logger.warning("webhook for unknown refund on %s: %s", found.code, event.refund_id)
        results.append({"id": event.event_id, "type": event.event_type, "outcome": outcome})
    if events and replayed == len(events):
        return problem(409, "replayed", "Event already processed",
                       "This event was received before; nothing changed.", results=results)
    if events and unknown == len(events):
        return problem(404, "unknown-refund", "Unknown refund",
                       "No payout attempt matches this refund; nothing changed.", results=results)
    return HttpResponse(json.dumps({"received": len(events), "results": results}), content_type="application/json")
