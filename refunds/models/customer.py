"""What customers leave behind on the status page: feedback and visits (the repeat-inquiry KPI)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerFeedback(models.Model):
    """A 1–5 rating and a comment, once per ticket, after the refund has arrived."""

    ticket = models.OneToOneField("refunds.RefundTicket", on_delete=models.CASCADE, related_name="feedback")
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True, max_length=2000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("customer feedback")
        verbose_name_plural = _("customer feedback")
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="feedback_rating_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.rating}/5"


class VisitKind(models.TextChoices):
    VIEW = "view", _("Status page view")
    LOOKUP = "lookup", _("Lost-link lookup")


class StatusVisit(models.Model):
    """One status-page view or lost-link lookup. `visitor` is a keyed hash of the IP, never the IP itself."""

    ticket = models.ForeignKey("refunds.RefundTicket", on_delete=models.CASCADE, related_name="status_visits")
    kind = models.CharField(max_length=10, choices=VisitKind.choices, default=VisitKind.VIEW)
    visitor = models.CharField(max_length=32, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "kind", "at"], name="status_visit_ticket_kind")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"
