"""The customer's view of a ticket: five plain stages and a sentence per state (SPEC §10).

Staff states are finer than what a customer needs; this maps each of them onto
Received → In review → Approved → Refund sent → Arrived, with a tone for the bar.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from refunds.lifecycle import State

STEPS = (
    ("received", _("Received")),
    ("in_review", _("In review")),
    ("approved", _("Approved")),
    ("sent", _("Refund sent")),
    ("arrived", _("Arrived")),
)

# state → (index of the current step, tone: ok | action | problem | done | stopped)
STATE_STEP = {
    State.SUBMITTED: (0, "ok"),
    State.AWAITING_CUSTOMER: (1, "action"),
    State.IN_REVIEW: (1, "ok"),
    State.PENDING_APPROVAL: (1, "ok"),
    State.ON_HOLD: (1, "ok"),
    State.APPROVED: (2, "ok"),
    State.PROCESSING: (3, "ok"),
    State.FAILED: (3, "problem"),
    State.REFUNDED: (4, "done"),
    State.RECONCILED: (4, "done"),
    State.REJECTED: (1, "stopped"),
    State.CANCELLED: (0, "stopped"),
}

PLAIN_WORDS = {
    State.SUBMITTED: _("We have received your refund request and are checking it."),
    State.AWAITING_CUSTOMER: _("We need some information from you before we can continue."),
    State.IN_REVIEW: _("Our team is reviewing your request."),
    State.PENDING_APPROVAL: _("Your refund is waiting for a final approval."),
    State.ON_HOLD: _("Your request needs an extra check. This can take a little longer."),
    State.APPROVED: _("Your refund is approved and will be sent shortly."),
    State.PROCESSING: _("Your refund has been sent. Banks and wallets need a few days to show it."),
    State.FAILED: _("We could not complete the refund. We are fixing it and will tell you what happens next."),
    State.REFUNDED: _("Your refund is complete."),
    State.RECONCILED: _("Your refund is complete."),
    State.REJECTED: _("Your refund request was declined."),
    State.CANCELLED: _("Your refund request was cancelled."),
}

# What each customer-visible log entry means to the customer.
TIMELINE_WORDS = {
    State.SUBMITTED: _("Request received"),
    State.AWAITING_CUSTOMER: _("Information requested from you"),
    State.IN_REVIEW: _("Review started"),
    State.PENDING_APPROVAL: _("Sent for approval"),
    State.ON_HOLD: _("Extra check started"),
    State.APPROVED: _("Refund approved"),
    State.PROCESSING: _("Refund sent"),
    State.FAILED: _("Refund could not be completed"),
    State.REFUNDED: _("Refund completed"),
    State.RECONCILED: _("Refund completed"),
    State.REJECTED: _("Request declined"),
    State.CANCELLED: _("Request cancelled"),
}

# Information a customer may be asked for, in words.
FIELD_LABELS = {
    "iban": _("IBAN of the account to refund to"),
    "account_name": _("Account holder's name"),
    "customer_phone": _("Phone number"),
    "customer_email": _("E-mail address"),
    "fallback_consent": _("Your consent to receive the refund another way"),
}

FEEDBACK_STATES = {State.REFUNDED, State.RECONCILED}

# Customer-facing names of the seeded channels (the admin-edited `Channel.name` is for staff).
CHANNEL_LABELS = {
    "card": _("your bank card"),
    "alipay": _("Alipay"),
    "wechat_pay": _("WeChat Pay"),
    "paypal": _("PayPal"),
    "bank_transfer": _("bank transfer"),
    "store_credit": _("store credit"),
}


def channel_label(channel) -> str:
    if channel is None:
        return ""
    return str(CHANNEL_LABELS.get(channel.code, channel.name))


def field_label(name: str):
    return FIELD_LABELS.get(name, name.replace("_", " "))


@dataclass(frozen=True)
class Step:
    code: str
    label: str
    status: str  # done | current | todo


@dataclass(frozen=True)
class Progress:
    steps: tuple[Step, ...]
    current: int
    tone: str
    words: str

    @property
    def percent(self) -> int:
        return int(100 * (self.current + 1) / len(self.steps))


def progress_for(state: str, info_requested=()) -> Progress:
    index, tone = STATE_STEP[State(state)]
    if state == State.AWAITING_CUSTOMER and "fallback_consent" in (info_requested or ()):
        index = 3  # the payout failed and waits for consent to another channel: still at "Refund sent"
    steps = tuple(
        Step(code, label, "done" if i < index or (i == index and tone == "done") else
             ("current" if i == index else "todo"))
        for i, (code, label) in enumerate(STEPS)
    )
    return Progress(steps=steps, current=index, tone=tone, words=PLAIN_WORDS[State(state)])
