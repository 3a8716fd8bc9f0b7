"""The simulated gateway's own state (its "sandbox account"), kept apart from our payout records.

A real gateway remembers every refund by idempotency key on its side; so does the simulator, in
this table, so its answers are the same whichever worker process asks. Our code never reads it
except through the simulated adapter (and the statement generator, which plays the gateway).
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .fields import MoneyField, currency_field


class SimulatedStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    REVERSED = "reversed", _("Reversed")


class SimulatedRefund(models.Model):
    refund_id = models.CharField(max_length=40, unique=True)
    idempotency_key = models.CharField(max_length=100, unique=True)
    channel_code = models.CharField(max_length=32, db_index=True)
    payment_reference = models.CharField(max_length=100)
    reason = models.CharField(max_length=40, blank=True,
                              help_text=_("The reason code as the gateway knows it (Channel.reason_code_map)."))
    amount = MoneyField()
    currency = currency_field()
    # What the simulator decided at creation; `status` follows it as time passes.
    outcome = models.CharField(max_length=10, choices=SimulatedStatus.choices)
    failure_reason = models.CharField(max_length=30, blank=True)
    settle_at = models.DateTimeField(help_text=_("When the outcome becomes visible (async confirmation)."))
    reverse_at = models.DateTimeField(null=True, blank=True, help_text=_("Late reversal of a success."))
    reversal_reason = models.CharField(max_length=30, blank=True)
    status = models.CharField(max_length=10, choices=SimulatedStatus.choices, default=SimulatedStatus.PENDING)
    delivered_status = models.CharField(max_length=10, blank=True,
                                        help_text=_("Last status announced by webhook."))
    delivery_attempts = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=1, help_text=_("Create calls seen for this key."))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.refund_id

    def status_at(self, now) -> str:
        if now < self.settle_at:
            return SimulatedStatus.PENDING
        if self.outcome == SimulatedStatus.FAILED:
            return SimulatedStatus.FAILED
        if self.reverse_at is not None and now >= self.reverse_at:
            return SimulatedStatus.REVERSED
        return SimulatedStatus.SUCCEEDED
