"""Outbound partner webhooks: subscribe, fan out state changes, deliver signed, retry, replay.

`on_ticket_transitioned` (connected to refunds.signals.ticket_transitioned, which fires after
commit) only writes delivery rows and enqueues jobs. `deliver` is the job: it claims the row under
a lock, POSTs the frozen payload signed with refunds.signing, and records the outcome; failures are
retried with exponential backoff, and an endpoint that keeps failing is disabled.
"""

import ipaddress
import json
import logging
import socket
from datetime import timedelta
from functools import partial

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from refunds import jobqueue, signing
from refunds.errors import Conflict, InvalidInput, NotFound
from refunds.lifecycle import State
from refunds.models import RefundTicket, WebhookDelivery, WebhookEndpoint
from refunds.models.webhooks import DeliveryStatus
from refunds.money import quantize

logger = logging.getLogger(__name__)

QUEUE = "notifications"
EVENT_TYPES = tuple(f"refund.{state}" for state in State.values)
USER_AGENT = "Refundloop-Webhooks/1"


def event_type_for(to_state: str) -> str:
    return f"refund.{to_state}"


# --- Subscriptions --------------------------------------------------------------------------------

def target_refusal(url: str) -> str | None:
    """Why we will not POST to `url` (None when fine). Unless WEBHOOK_ALLOW_PRIVATE_TARGETS (embedded
    mode and tests), partners may not aim our server at loopback, private or link-local addresses (SSRF)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("Use an http(s) URL.")
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return None
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError, ValueError):
        return _("The host name does not resolve.")
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global or address.is_multicast:
            return _("Webhook URLs must point to a public address.")
    return None


def create_endpoint(*, partner, url: str, event_types: list[str] | None = None,
                    description: str = "") -> WebhookEndpoint:
    unknown = sorted(set(event_types or []) - set(EVENT_TYPES))
    if unknown:
        raise InvalidInput({"event_types": [_("Unknown event types: %(u)s. Known: %(k)s.")
                                            % {"u": ", ".join(unknown), "k": ", ".join(EVENT_TYPES)}]})
    refusal = target_refusal(url)
    if refusal:
        raise InvalidInput({"url": [refusal]})
    return WebhookEndpoint.objects.create(partner=partner, url=url, event_types=sorted(set(event_types or [])),
                                          description=description)


def deactivate_endpoint(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason="deactivated by the partner")


# --- Fan-out (signal receiver) --------------------------------------------------------------------

def event_payload(ticket: RefundTicket, *, event_type: str, transition: str, from_state: str) -> dict:
    from refunds.status_tokens import status_url

    return {
        "type": event_type,
        "created_at": timezone.now().isoformat(),
        "data": {
            "reference": ticket.reference, "state": ticket.state, "from_state": from_state, "transition": transition,
            "payment_ref": ticket.payment.payment_ref, "order_ref": ticket.payment.order_ref,
            "amount": str(quantize(ticket.amount, ticket.currency)),
            "currency": ticket.currency, "status_url": status_url(ticket), "updated_at": ticket.updated_at.isoformat(),
        },
    }


def on_ticket_transitioned(sender, *, ticket_id, transition, from_state, to_state, **kwargs) -> None:
    """Queue one delivery per subscribed active endpoint of the ticket's partner."""
    if from_state == to_state:
        return
    ticket = RefundTicket.objects.select_related("payment").filter(pk=ticket_id).first()
    if ticket is None or ticket.partner_id is None:
        return
    event_type = event_type_for(to_state)
    endpoints = [e for e in WebhookEndpoint.objects.filter(partner_id=ticket.partner_id, active=True)
                 if e.subscribes_to(event_type)]
    if not endpoints:
        return
    payload = event_payload(ticket, event_type=event_type, transition=transition, from_state=from_state)
    with transaction.atomic():
        for endpoint in endpoints:
            delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_type=event_type, payload=payload)
            transaction.on_commit(partial(jobqueue.enqueue, QUEUE, "refunds.services.webhooks.deliver", delivery.pk))


# --- Delivery (RQ job) ----------------------------------------------------------------------------

def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at 6 h."""
    return timedelta(seconds=min(settings.WEBHOOK_BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), 6 * 3600))


def body_for(delivery: WebhookDelivery) -> bytes:
    envelope = {"id": str(delivery.event_id), **delivery.payload}
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True).encode()


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    refusal = target_refusal(endpoint.url)  # checked again: DNS may have changed since subscription
    if refusal:
        return None, refusal
    body = body_for(delivery)
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        signing.HEADER: signing.header_value(endpoint.signing_secrets, body),
        "Refundloop-Event-Id": str(delivery.event_id), "Refundloop-Event-Type": delivery.event_type,
    }
    try:
        response = requests.post(endpoint.url, data=body, headers=headers, timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
                                 allow_redirects=False)
    except requests.RequestException as exc:
        return None, f"{exc.__class__.__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"HTTP {response.status_code}"


def deliver(delivery_id: int) -> str:
    """Attempt one delivery. Returns the resulting status (for logs and tests)."""
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True).select_related("endpoint")
                    .filter(pk=delivery_id, status=DeliveryStatus.PENDING).first())
        if delivery is None:
            return "skipped"  # delivered, given up, or another worker holds it
        endpoint = delivery.endpoint
        if not endpoint.active:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = "endpoint disabled"
            delivery.next_attempt_at = None
            delivery.save()
            return delivery.status
        code, error = _post(endpoint, delivery)
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code = code
        delivery.last_error = error
        if not error:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
        else:
            # Counted in SQL: deliveries of one endpoint may fail in several workers at once.
            endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
            endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
            failures = endpoints.values_list("consecutive_failures", flat=True).get()
            disable = failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
            if disable:
                endpoints.update(active=False, disabled_reason=_(
                    "Disabled after %(n)s consecutive failed deliveries.") % {"n": failures})
            if disable or delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = now + backoff(delivery.attempts)
                when = delivery.next_attempt_at
                transaction.on_commit(partial(jobqueue.enqueue_at, when, QUEUE,
                                              "refunds.services.webhooks.deliver", delivery.pk))
        delivery.save()
        logger.info("webhook delivery %s attempt %s: %s", delivery.pk, delivery.attempts, delivery.status)
        return delivery.status


def retry_due(now=None, limit: int = 500) -> int:
    """Re-enqueue pending deliveries whose retry time has come (embedded mode's run_periodic, and a
    sweeper in production in case a scheduled job was lost)."""
    now = now or timezone.now()
    due = list(WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for pk in due:
        jobqueue.enqueue(QUEUE, "refunds.services.webhooks.deliver", pk)
    return len(due)


# --- Replay ---------------------------------------------------------------------------------------

def replay_delivery(*, partner, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a past delivery again (same event id, so receivers can de-duplicate) as a new log row."""
    original = (WebhookDelivery.objects.select_related("endpoint")
                .filter(pk=delivery_id, endpoint_id=endpoint_id, endpoint__partner=partner).first())
    if original is None:
        raise NotFound(_("No such delivery."))
    if not original.endpoint.active:
        raise Conflict(_("The endpoint is disabled; re-activate it first."))
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(endpoint=original.endpoint, event_id=original.event_id,
                                                event_type=original.event_type, payload=original.payload,
                                                replay_of=original)
        transaction.on_commit(partial(jobqueue.enqueue, QUEUE, "refunds.services.webhooks.deliver", replay.pk))
    return replay
