"""The simulated gateway: a sandbox that behaves like a real refund API (SPEC §8).

It is the default adapter for every channel in embedded mode and in tests, and the drill's sandbox.
State lives in `SimulatedRefund` rows (one per idempotency key), so it answers the same to every
worker process, exactly like a remote gateway would.

Configuration (Channel.adapter_config, all optional):
  latency_ms              response delay after the refund is accepted (0)
  timeout_ms              client timeout; latency above it raises GatewayTimeout after accepting (10000)
  failure_rate            share of refunds that fail at random, 0..1 (0: only triggers fail)
  failure_reasons         reasons random failures pick from
  confirm_after_seconds   0 = confirmed in the response; >0 = pending, confirmed later by webhook/poll
  slow_confirm_seconds    delay used for `sim_slow_` references (20)
  reversal_rate           share of successes reversed later, 0..1 (0)
  reverse_after_seconds   delay between success and reversal (10)
  reversal_reason         reason reported with a reversal ("expired_or_canceled_card")
  unavailable_rate        share of calls answered 503 before accepting (0)
  timeout_rate            share of calls that time out after accepting (0)
  deliver_webhooks        announce outcomes by signed webhook (true)
  webhook_url             where to deliver (SITE_URL + /api/v1/webhooks/gateway/<channel>/)
  webhook_secrets         secrets we accept; the simulator signs with `signing_secrets` or the first
  fx_rates                {"USD:EUR": "0.92", ...} on top of a built-in table
  seed                    changes which keys the random failures hit

Deterministic triggers on the payment reference, like a real gateway's test mode:
  sim_fail_<reason>_...   fails with <reason> (e.g. sim_fail_insufficient_funds_42)
  sim_slow_...            confirms after slow_confirm_seconds
  sim_reverse_...         succeeds, then is reversed after reverse_after_seconds
  sim_timeout_...         the first call times out after accepting (the retry finds the refund)
  sim_unavailable_...     the first try is answered 503 before anything is accepted
"""

import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from refunds import signing
from refunds.models.sandbox import SimulatedRefund, SimulatedStatus
from refunds.models.tickets import FailureReason
from refunds.reasons import gateway_reason

from .base import (
    Capabilities,
    GatewayAdapter,
    GatewayError,
    GatewayTimeout,
    IdempotencyConflict,
    RefundResult,
    TransientGatewayError,
)

logger = logging.getLogger(__name__)

DEFAULT_FAILURE_REASONS = ["declined", "insufficient_funds", "expired_or_canceled_card"]
# Mid-market style rates; inverse pairs are derived.
DEFAULT_FX = {"USD:EUR": "0.92", "USD:CNY": "7.10", "USD:JPY": "150.25", "USD:GBP": "0.79",
              "USD:HKD": "7.80", "EUR:CNY": "7.72", "EUR:GBP": "0.86"}
_REASONS_LONGEST_FIRST = sorted(FailureReason.values, key=len, reverse=True)


def now():
    """The simulator's clock (tests may monkeypatch it)."""
    return timezone.now()


@dataclass(frozen=True)
class Triggers:
    fail_reason: str = ""
    slow: bool = False
    reverse: bool = False
    timeout: bool = False
    unavailable: bool = False


def triggers(payment_reference: str) -> Triggers:
    ref = (payment_reference or "").lower()
    if ref.startswith("sim_fail_"):
        rest = ref[len("sim_fail_"):]
        for reason in _REASONS_LONGEST_FIRST:
            if rest == reason or rest.startswith(reason + "_"):
                return Triggers(fail_reason=reason)
        return Triggers(fail_reason=FailureReason.DECLINED)
    return Triggers(slow=ref.startswith("sim_slow_"), reverse=ref.startswith("sim_reverse_"),
                    timeout=ref.startswith("sim_timeout_"), unavailable=ref.startswith("sim_unavailable_"))


def _rate(config: dict, key: str) -> float:
    try:
        return min(max(float(config.get(key) or 0), 0.0), 1.0)
    except (TypeError, ValueError):
        return 0.0


class SimulatedGateway(GatewayAdapter):
    name = "simulated"
    capabilities = Capabilities(partial_refunds=True, async_confirmation=True, webhooks=True, polling=True,
                                fx=True)

    # --- Outbound ---------------------------------------------------------------------------------
    def create_refund(self, attempt) -> RefundResult:
        cfg = self.config
        payment = attempt.ticket.payment
        reference = payment.payment_ref
        # Test-mode triggers act on the payment's own method; a fallback channel pays normally.
        trig = triggers(reference) if attempt.channel_id == payment.channel_id else Triggers()
        call_rng = random.Random()  # per call: transient faults are not tied to the key
        if (trig.unavailable and attempt.tries <= 1) or call_rng.random() < _rate(cfg, "unavailable_rate"):
            raise TransientGatewayError("503 Service Unavailable (simulated)")
        row, created = self._get_or_create(attempt, reference, trig)
        latency = int(cfg.get("latency_ms") or 0)
        timeout = int(cfg.get("timeout_ms") or 10000)
        if latency:
            time.sleep(min(latency, timeout) / 1000)
        if latency > timeout or (trig.timeout and created) or call_rng.random() < _rate(cfg, "timeout_rate"):
            raise GatewayTimeout(f"no answer within {timeout} ms (simulated; the refund was accepted)")
        return self._result(row)

    def fetch_refund(self, attempt) -> RefundResult:
        query = SimulatedRefund.objects.filter(channel_code=self.channel.code)
        row = (query.filter(refund_id=attempt.gateway_refund_id).first() if attempt.gateway_refund_id
               else query.filter(idempotency_key=attempt.idempotency_key).first())
        if row is None:
            raise GatewayError("404 no such refund (simulated)")
        return self._result(row)

    def quote_fx(self, source_currency: str, target_currency: str) -> Decimal:
        rates = {**DEFAULT_FX, **(self.config.get("fx_rates") or {})}
        direct = rates.get(f"{source_currency}:{target_currency}")
        if direct is not None:
            return Decimal(str(direct))
        inverse = rates.get(f"{target_currency}:{source_currency}")
        if inverse is not None:
            return (Decimal(1) / Decimal(str(inverse))).quantize(Decimal("0.00000001"))
        raise GatewayError(f"no FX rate {source_currency}:{target_currency} (simulated)")

    def webhook_secrets(self) -> list[str]:
        return super().webhook_secrets() or [default_secret(self.channel.code)]

    # --- Sandbox state ----------------------------------------------------------------------------
    def _plan(self, key: str, trig: Triggers) -> dict:
        """Decide the refund's fate once, when the gateway first sees the key."""
        cfg = self.config
        rng = random.Random(f"{cfg.get('seed', '')}:{key}")
        outcome, reason = SimulatedStatus.SUCCEEDED, ""
        if trig.fail_reason:
            outcome, reason = SimulatedStatus.FAILED, trig.fail_reason
        elif rng.random() < _rate(cfg, "failure_rate"):
            reasons = [r for r in (cfg.get("failure_reasons") or DEFAULT_FAILURE_REASONS)
                       if r in FailureReason.values] or DEFAULT_FAILURE_REASONS
            outcome, reason = SimulatedStatus.FAILED, rng.choice(reasons)
        delay = float(cfg.get("confirm_after_seconds") or 0)
        if trig.slow:
            delay = max(delay, float(cfg.get("slow_confirm_seconds") or 20))
        created = now()
        settle_at = created + timedelta(seconds=delay)
        reverse_at, reversal_reason = None, ""
        reverse_draw = rng.random()
        if outcome == SimulatedStatus.SUCCEEDED and (trig.reverse or reverse_draw < _rate(cfg, "reversal_rate")):
            reverse_at = settle_at + timedelta(seconds=float(cfg.get("reverse_after_seconds", 10)))
            reversal_reason = cfg.get("reversal_reason") or FailureReason.EXPIRED_OR_CANCELED_CARD
        return dict(outcome=outcome, failure_reason=reason, settle_at=settle_at, reverse_at=reverse_at,
                    reversal_reason=reversal_reason, created_at=created)

    def _get_or_create(self, attempt, reference: str, trig: Triggers) -> tuple[SimulatedRefund, bool]:
        key = attempt.idempotency_key
        params = dict(channel_code=self.channel.code, payment_reference=reference, amount=attempt.amount,
                      currency=attempt.currency, reason=gateway_reason(self.channel, attempt.ticket.reason) or "")
        row = SimulatedRefund.objects.filter(idempotency_key=key).first()
        created = False
        if row is None:
            try:
                with transaction.atomic():
                    plan = self._plan(key, trig)
                    row = SimulatedRefund.objects.create(
                        idempotency_key=key, refund_id="re_sim_" + secrets.token_hex(12), **params, **plan,
                        status=SimulatedStatus.PENDING)
                    row.status = row.status_at(now())
                    row.save(update_fields=["status"])
                created = True
            except IntegrityError:
                # Another process won the race for this key: same key → same refund.
                row = SimulatedRefund.objects.get(idempotency_key=key)
        if not created:
            mismatch = [name for name, value in params.items() if getattr(row, name) != value]
            if mismatch:
                raise IdempotencyConflict(
                    f"idempotency key {key} was used with different parameters ({', '.join(mismatch)})")
            SimulatedRefund.objects.filter(pk=row.pk).update(calls=F("calls") + 1)
        return row, created

    def _result(self, row: SimulatedRefund) -> RefundResult:
        status = row.status_at(now())
        if status != row.status:
            SimulatedRefund.objects.filter(pk=row.pk).update(status=status)
            row.status = status
        reason = {SimulatedStatus.FAILED: row.failure_reason,
                  SimulatedStatus.REVERSED: row.reversal_reason}.get(status, "")
        return RefundResult(refund_id=row.refund_id, status=status, failure_reason=reason,
                            raw=snapshot(row, status))


def snapshot(row: SimulatedRefund, status: str) -> dict:
    return {"object": "refund", "id": row.refund_id, "idempotency_key": row.idempotency_key,
            "status": status, "amount": str(row.amount), "currency": row.currency,
            "payment_reference": row.payment_reference,
            "failure_reason": row.failure_reason if status == SimulatedStatus.FAILED
            else row.reversal_reason if status == SimulatedStatus.REVERSED else "",
            "created": int(row.created_at.timestamp())}


def default_secret(channel_code: str) -> str:
    """Webhook secret used when none is configured: derived from SECRET_KEY, never sent in clear."""
    return hmac.new(settings.SECRET_KEY.encode(), f"refundloop-sim-webhook:{channel_code}".encode(),
                    hashlib.sha256).hexdigest()


# --- Asynchronous confirmation: signed webhooks from the "gateway" to our endpoint -------------------

EVENTS_FOR_STATUS = {
    SimulatedStatus.SUCCEEDED: ["refund.succeeded"],
    SimulatedStatus.FAILED: ["refund.failed"],
    SimulatedStatus.REVERSED: ["refund.succeeded", "refund.reversed"],
}
MAX_DELIVERY_ATTEMPTS = 50


def http_transport(url: str, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 (configured URL)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def event_body(row: SimulatedRefund, event_type: str, status: str) -> bytes:
    event = {"id": f"evt_{row.refund_id}_{event_type.split('.')[-1]}", "type": event_type,
             "created": int(time.time()), "data": snapshot(row, status) | {"refund_id": row.refund_id}}
    return json.dumps(event, separators=(",", ":")).encode()


def deliver_webhooks(*, transport=None, limit: int = 500) -> dict:
    """Announce every outcome that became visible since the last pass (embedded: run_periodic).

    A 2xx or 409 (already processed) counts as delivered; anything else is retried next pass.
    """
    from refunds.models import Channel

    transport = transport or http_transport
    channels = {c.code: c for c in Channel.objects.filter(adapter=SimulatedGateway.name)}
    at = now()
    due = (SimulatedRefund.objects.filter(channel_code__in=list(channels), delivery_attempts__lt=MAX_DELIVERY_ATTEMPTS)
           .filter(Q(settle_at__lte=at, delivered_status="")
                   | Q(reverse_at__lte=at, outcome=SimulatedStatus.SUCCEEDED)
                   & ~Q(delivered_status=SimulatedStatus.REVERSED))
           .order_by("settle_at")[:limit])
    due = list(due)  # no open cursor while posting (SQLite would block the receiving server's write)
    counts = {"delivered": 0, "failed": 0}
    for row in due:
        channel = channels[row.channel_code]
        adapter = SimulatedGateway(channel)
        if adapter.config.get("deliver_webhooks") is False:
            continue
        status = row.status_at(at)
        events = EVENTS_FOR_STATUS.get(status, [])
        if row.delivered_status == SimulatedStatus.SUCCEEDED:
            events = [e for e in events if e != "refund.succeeded"]
        url = adapter.config.get("webhook_url") or settings.SITE_URL + reverse(
            "gateway-webhook", args=[channel.code])
        signing_secrets = adapter.config.get("signing_secrets") or adapter.webhook_secrets()[:1]
        ok = True
        for event_type in events:
            body = event_body(row, event_type, status)
            headers = {"Content-Type": "application/json",
                       signing.HEADER: signing.header_value(signing_secrets, body)}
            try:
                code = transport(url, body, headers)
            except OSError as exc:
                logger.info("simulated webhook to %s not delivered: %s", url, exc)
                code = 0
            if not (200 <= code < 300 or code == 409):
                ok = False
                break
            counts["delivered"] += 1
        updates = {"delivery_attempts": F("delivery_attempts") + 1}
        if ok:
            updates["delivered_status"] = status
        else:
            counts["failed"] += 1
        SimulatedRefund.objects.filter(pk=row.pk).update(**updates)
    return counts
