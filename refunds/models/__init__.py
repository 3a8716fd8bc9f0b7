"""Refund domain models, one module per concern."""

from .api import ApiKey, IdempotencyRecord
from .audit import TransitionLog
from .config import Channel, Partner, Policy, RaciEntry
from .payments import Dispute, Payment
from .tickets import Approval, Hold, PayoutAttempt, RefundTicket
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Approval", "Channel", "Dispute", "Hold", "Partner", "Payment", "PayoutAttempt", "Policy",
    "RaciEntry", "RefundTicket", "TransitionLog",
    "ApiKey", "IdempotencyRecord", "WebhookDelivery", "WebhookEndpoint",
]
