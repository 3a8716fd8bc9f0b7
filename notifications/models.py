"""Notification events, editable templates, opt-outs and the delivery log (SPEC §10).

One `Delivery` row is one message to one recipient over one channel. Its unique key
(ticket, event, channel, occurrence, recipient_key) is what makes a send happen at most once: the
occurrence is the audit-log entry that caused the event, so a job or a signal that runs twice finds
the row it already made, while a second, genuinely new "info needed" on the same ticket still gets
its own message.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.TextChoices):
    RECEIVED = "received", _("Request received")
    INFO_NEEDED = "info_needed", _("Information needed")
    APPROVED = "approved", _("Refund approved")
    REJECTED = "rejected", _("Refund declined")
    PAYOUT_SENT = "payout_sent", _("Refund sent")
    REFUNDED = "refunded", _("Refund completed")
    PAYOUT_FAILED = "payout_failed", _("Refund failed or reversed")
    DELAY = "delay", _("Delay apology")
    FEEDBACK_REQUEST = "feedback_request", _("Feedback request")
    STATUS_LINK = "status_link", _("Status link (lost link)")
    STAFF = "staff", _("Staff notification")


CUSTOMER_EVENTS = [e for e in Event if e not in (Event.STAFF,)]


class ChannelKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    IN_APP = "in_app", _("In-app (status page)")


class NotificationTemplate(models.Model):
    """The text of one event in one language over one channel; Django template syntax, editable in admin."""

    event = models.CharField(max_length=30, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=ChannelKind.choices)
    language = models.CharField(max_length=10, choices=[("en", "English"), ("zh-hans", "简体中文")])
    subject = models.CharField(max_length=200, blank=True, help_text=_("E-mail subject (e-mail only)."))
    body = models.TextField(help_text=_("Plain text. Variables: {{ reference }}, {{ amount }}, {{ currency }}, "
                                        "{{ channel }}, {{ status_url }}, {{ eta_from }}, {{ eta_to }}, "
                                        "{{ needed }}, {{ next_steps }}."))
    body_html = models.TextField(blank=True, help_text=_("Optional HTML body for e-mail; empty = the text body "
                                                         "in the standard layout."))
    active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["event", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["event", "channel", "language"], name="notification_template_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.channel} · {self.language}"


class OptOut(models.Model):
    """A customer address (e-mail or phone) that asked not to receive a channel's messages."""

    channel = models.CharField(max_length=10, choices=ChannelKind.choices)
    address = models.CharField(max_length=254, help_text=_("Lower-cased e-mail or phone in +E.164 form."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="optout_unique")]

    def __str__(self) -> str:
        return f"{self.channel}: {self.address}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RETRYING = "retrying", _("Retrying")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class Delivery(models.Model):
    """The delivery log: one message, its rendered content, status, attempts and last error."""

    ticket = models.ForeignKey("refunds.RefundTicket", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="notifications")
    event = models.CharField(max_length=30, choices=Event.choices)
    channel = models.CharField(max_length=10, choices=ChannelKind.choices)
    occurrence = models.CharField(max_length=64, default="",
                                  help_text=_("What caused the event (audit entry, SLA visit, request id)."))
    recipient_key = models.CharField(max_length=40, default="customer",
                                     help_text=_("'customer' or 'user:<id>' — not the address itself."))
    recipient = models.CharField(max_length=254, blank=True)
    staff_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    language = models.CharField(max_length=10, default="en")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING,
                              db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "event", "channel", "occurrence", "recipient_key"],
                                    name="delivery_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["ticket", "channel", "created_at"], name="delivery_ticket_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.event}/{self.channel} #{self.pk}"
