"""Refund domain models, one module per concern."""

from .api import ApiKey, IdempotencyRecord
from .audit import TransitionLog
from .calendars import BusinessCalendar, Holiday
from .checklists import ChecklistTick
from .config import Channel, Partner, Policy, RaciEntry
from .customer import CustomerFeedback, StatusVisit
from .gateway_events import GatewayEvent  # noqa: F401  (payouts issue)
from .payments import Dispute, Payment
from .risk import RiskRule, RiskRuleHit
from .sandbox import SimulatedRefund  # noqa: F401  (simulated gateway)
from .sla import PolicySla, SlaClock, SlaEvent
from .tickets import Approval, Hold, PayoutAttempt, RefundTicket
from .webhooks import WebhookDelivery, WebhookEndpoint

__all__ = [
    "Approval", "BusinessCalendar", "Channel", "CustomerFeedback", "Dispute", "Hold", "Holiday", "Partner",
    "Payment", "PayoutAttempt", "Policy", "PolicySla", "RaciEntry", "RefundTicket", "SlaClock", "SlaEvent",
    "StatusVisit", "TransitionLog",
    "ApiKey", "IdempotencyRecord", "WebhookDelivery", "WebhookEndpoint",
]
__all__ += ["ChecklistTick", "RiskRule", "RiskRuleHit"]
