"""Inbound gateway events, one row per (channel, gateway reference, event type): the dedup record.

The unique constraint is what makes a replayed or concurrently re-delivered webhook a no-op.
"""

from django.db import models


class GatewayEvent(models.Model):
    channel = models.ForeignKey("refunds.Channel", on_delete=models.PROTECT, related_name="+")
    gateway_reference = models.CharField(max_length=100)
    event_type = models.CharField(max_length=50)
    event_id = models.CharField(max_length=100, blank=True)
    ticket = models.ForeignKey("refunds.RefundTicket", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="gateway_events")
    payload = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "gateway_reference", "event_type"],
                                    name="gateway_event_once"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.gateway_reference}"
