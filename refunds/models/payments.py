"""What the customer paid, as the order system and the gateway know it."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .config import Channel, Partner
from .fields import MoneyField, currency_field


class Payment(models.Model):
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="payments")
    payment_ref = models.CharField(max_length=100, help_text=_("The gateway's payment id."))
    order_ref = models.CharField(max_length=100, db_index=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="payments")
    amount = MoneyField()
    currency = currency_field()
    fee_amount = MoneyField(default=0, help_text=_("Processing fee the gateway kept on capture."))
    captured_at = models.DateTimeField()
    customer_email = models.EmailField(db_index=True)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    region = models.CharField(max_length=8, blank=True)
    instrument_fingerprint = models.CharField(
        max_length=100, blank=True, db_index=True,
        help_text=_("Card/device fingerprint from the gateway; risk velocity rules count refunds by it."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "payment_ref"], name="payment_ref_unique_per_partner"),
            models.UniqueConstraint(fields=["payment_ref"], condition=models.Q(partner__isnull=True),
                                    name="payment_ref_unique_without_partner"),
        ]

    def __str__(self) -> str:
        return self.payment_ref


class DisputeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won (no money returned)")
    LOST = "lost", _("Lost (charged back)")


class Dispute(models.Model):
    """A chargeback on a payment. Open or lost disputes count against the refundable balance."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    reference = models.CharField(max_length=100, unique=True)
    amount = MoneyField()
    currency = currency_field()
    status = models.CharField(max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    reason = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.reference
