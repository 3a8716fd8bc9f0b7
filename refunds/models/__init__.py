"""Refund domain models, one module per concern."""

from .audit import TransitionLog
from .calendars import BusinessCalendar, Holiday
from .config import Channel, Partner, Policy, RaciEntry
from .customer import CustomerFeedback, StatusVisit
from .payments import Dispute, Payment
from .sla import PolicySla, SlaClock, SlaEvent
from .tickets import Approval, Hold, PayoutAttempt, RefundTicket

__all__ = [
    "Approval", "BusinessCalendar", "Channel", "CustomerFeedback", "Dispute", "Hold", "Holiday", "Partner",
    "Payment", "PayoutAttempt", "Policy", "PolicySla", "RaciEntry", "RefundTicket", "SlaClock", "SlaEvent",
    "StatusVisit", "TransitionLog",
]
