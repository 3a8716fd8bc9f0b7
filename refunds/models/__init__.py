"""Refund domain models, one module per concern."""

from .audit import TransitionLog
from .checklists import ChecklistTick
from .config import Channel, Partner, Policy, RaciEntry
from .gateway_events import GatewayEvent  # noqa: F401  (payouts issue)
from .payments import Dispute, Payment
from .risk import RiskRule, RiskRuleHit
from .sandbox import SimulatedRefund  # noqa: F401  (simulated gateway)
from .tickets import Approval, Hold, PayoutAttempt, RefundTicket

__all__ = [
    "Approval", "Channel", "Dispute", "Hold", "Partner", "Payment", "PayoutAttempt", "Policy",
    "RaciEntry", "RefundTicket", "TransitionLog",
]
__all__ += ["ChecklistTick", "RiskRule", "RiskRuleHit"]
