"""The ticket's append-only, hash-chained log: transitions, comments, rule hits, notes.

Each entry hashes its own content plus the previous entry's hash; the ticket keeps the head hash,
so editing, deleting or truncating entries is detected by `manage.py verify_audit`.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LogKind(models.TextChoices):
    TRANSITION = "transition", _("State change")
    COMMENT = "comment", _("Comment")
    RULE_HIT = "rule_hit", _("Rule hit")
    NOTE = "note", _("Note")


class ActorKind(models.TextChoices):
    STAFF = "staff", _("Staff")
    SYSTEM = "system", _("System")
    PARTNER = "partner", _("Partner")
    CUSTOMER = "customer", _("Customer")


class AppendOnlyError(Exception):
    pass


class TransitionLog(models.Model):
    ticket = models.ForeignKey("refunds.RefundTicket", on_delete=models.PROTECT, related_name="log")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=LogKind.choices, default=LogKind.TRANSITION)
    transition = models.CharField(max_length=30, blank=True)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+")
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_label = models.CharField(max_length=150)
    comment = models.TextField(blank=True)
    customer_visible = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["ticket_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["ticket", "seq"], name="log_seq_unique_per_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.kind} {self.transition}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("Transition log entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Transition log entries are append-only.")
