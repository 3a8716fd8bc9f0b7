"""Per-ticket ticks of the policy's stage checklists (the checklist itself is data on the Policy)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from refunds.lifecycle import Stage

from .tickets import RefundTicket


class ChecklistTick(models.Model):
    ticket = models.ForeignKey(RefundTicket, on_delete=models.CASCADE, related_name="checklist_ticks")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    item = models.SlugField(max_length=50, help_text=_("The item's code in the policy checklist."))
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticked_at = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["stage", "ticked_at"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "stage", "item"], name="checklist_tick_once")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.stage}:{self.item}"
