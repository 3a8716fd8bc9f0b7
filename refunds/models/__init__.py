"""Refund domain models, one module per concern."""

from .audit import TransitionLog
from .config import Channel, Partner, Policy, RaciEntry
from .customer import CustomerFeedback, StatusVisit
from .payments import Dispute, Payment
from .tickets import Approval, Hold, PayoutAttempt, RefundTicket

__all__ = [
    "Approval", "Channel", "CustomerFeedback", "Dispute", "Hold", "Partner", "Payment", "PayoutAttempt", "Policy",
    "RaciEntry", "RefundTicket", "StatusVisit", "TransitionLog",
]
