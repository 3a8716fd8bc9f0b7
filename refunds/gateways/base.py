"""The adapter interface every channel gateway implements (SPEC §8).

An adapter turns a PayoutAttempt into a call to the gateway and the gateway's answers (synchronous
response, polled status, webhook) into `RefundResult`s. It never changes tickets itself: the payout
service applies results under the ticket's row lock.

Error contract, which the payout job relies on:
- `TransientGatewayError` (network error, 5xx, rate limit) and `GatewayTimeout` (the request may or
  may not have been accepted): retried with backoff under the SAME idempotency key.
- `GatewayError` (anything else, e.g. `IdempotencyConflict`): not retried; the attempt fails.
- A refusal by the gateway (card closed, insufficient funds, ...) is not an exception: it is a
  `RefundResult` with status `failed` and a `failure_reason`.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from refunds import signing


class GatewayError(Exception):
    """The gateway refused the request in a way that retrying the same request cannot fix."""

    transient = False


class TransientGatewayError(GatewayError):
    """Network error, 5xx, rate limit: safe to retry with the same idempotency key."""

    transient = True


class GatewayTimeout(TransientGatewayError):
    """No answer in time. The gateway may have accepted the refund: retry with the same key."""


class IdempotencyConflict(GatewayError):
    """The same idempotency key was sent earlier with different parameters."""


class WebhookRejected(Exception):
    """An inbound webhook that must not be processed (unsigned, stale, wrong secret, malformed)."""

    def __init__(self, detail: str, *, status: int = 400, slug: str = "webhook-rejected"):
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.slug = slug


# Gateway refund statuses (the PayoutAttempt status vocabulary).
PENDING, REQUIRES_ACTION, SUCCEEDED, FAILED, REVERSED, CANCELED = (
    "pending", "requires_action", "succeeded", "failed", "reversed", "canceled")
FINAL_STATUSES = frozenset({SUCCEEDED, FAILED, REVERSED, CANCELED})
EVENT_STATUS = {"refund.succeeded": SUCCEEDED, "refund.failed": FAILED, "refund.reversed": REVERSED,
                "refund.pending": PENDING, "refund.canceled": CANCELED}


@dataclass
class RefundResult:
    refund_id: str
    status: str
    failure_reason: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class WebhookEvent:
    event_id: str
    event_type: str
    refund_id: str
    idempotency_key: str = ""
    failure_reason: str = ""
    raw: dict = field(default_factory=dict)

    @property
    def status(self) -> str:
        return EVENT_STATUS.get(self.event_type, "")

    def as_result(self) -> RefundResult:
        return RefundResult(refund_id=self.refund_id, status=self.status, failure_reason=self.failure_reason,
                            raw=self.raw)


@dataclass(frozen=True)
class Capabilities:
    partial_refunds: bool = True
    async_confirmation: bool = True
    webhooks: bool = True
    polling: bool = True
    currencies: tuple[str, ...] = ()  # empty: any
    fx: bool = False  # can pay out in another currency than the payment's


class GatewayAdapter:
    """Base class. Subclasses set `name` and implement create_refund / fetch_refund.

    `channel.adapter_config` (JSON, edited in admin) configures an instance; `webhook_secrets` there
    lists every secret accepted for inbound webhooks (new and old during a rotation).
    """

    name = ""
    capabilities = Capabilities()

    def __init__(self, channel):
        self.channel = channel
        self.config = dict(channel.adapter_config or {})

    # --- Outbound ---------------------------------------------------------------------------------
    def create_refund(self, attempt) -> RefundResult:
        """Ask the gateway to refund `attempt.amount` `attempt.currency`, sending
        `attempt.idempotency_key` so a repeated call returns the same refund."""
        raise NotImplementedError

    def fetch_refund(self, attempt) -> RefundResult:
        """The refund's current status (polling), found by refund id or idempotency key."""
        raise NotImplementedError

    def quote_fx(self, source_currency: str, target_currency: str) -> Decimal:
        """Rate to convert one unit of `source_currency` into `target_currency` (cross-currency refunds)."""
        rates = self.config.get("fx_rates") or {}
        rate = rates.get(f"{source_currency}:{target_currency}")
        if rate is None:
            raise GatewayError(f"no FX rate {source_currency}:{target_currency} for channel {self.channel.code}")
        return Decimal(str(rate))

    # --- Inbound ----------------------------------------------------------------------------------
    def webhook_secrets(self) -> list[str]:
        from django.conf import settings

        configured = self.config.get("webhook_secrets") or (
            settings.REFUNDLOOP.get("GATEWAY_WEBHOOK_SECRETS", {}).get(self.channel.code))
        if isinstance(configured, str):
            configured = [configured]
        return [s for s in (configured or []) if s]

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[WebhookEvent]:
        """Verify the signature and return the events in the body; raise WebhookRejected otherwise.

        The default understands Refundloop's own format (signed with `refunds.signing`); an adapter
        for a gateway with another scheme overrides this method.
        """
        secrets = self.webhook_secrets()
        if not secrets:
            raise WebhookRejected("No webhook secret is configured for this channel.", status=403,
                                  slug="webhook-not-configured")
        header = headers.get(signing.HEADER, "")
        if not header:
            raise WebhookRejected("The request is not signed.", status=401, slug="signature-missing")
        try:
            signing.verify(header, body, secrets)
        except signing.SignatureError as exc:
            slug = "signature-stale" if "tolerance" in str(exc) else "signature-invalid"
            raise WebhookRejected(f"Signature check failed: {exc}.", status=401, slug=slug)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("The body is not JSON.", slug="malformed")
        items = payload if isinstance(payload, list) else [payload]
        events = []
        for item in items:
            data = item.get("data") if isinstance(item, dict) else None
            if not isinstance(data, dict) or not item.get("type") or not data.get("refund_id"):
                raise WebhookRejected("Each event needs id, type and data.refund_id.", slug="malformed")
            if item["type"] not in EVENT_STATUS:
                raise WebhookRejected(f"Unknown event type {str(item['type'])[:50]}.", slug="malformed")
            events.append(WebhookEvent(
                event_id=str(item.get("id", ""))[:100], event_type=item["type"],
                refund_id=str(data["refund_id"])[:100], idempotency_key=str(data.get("idempotency_key", ""))[:100],
                failure_reason=str(data.get("failure_reason") or "")[:30], raw=item,
            ))
        return events
