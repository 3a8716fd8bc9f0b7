"""Admin screens of the payout path: inbound gateway events and the simulated gateway's sandbox.

Both are records of what a gateway said or did; nobody edits them by hand.
"""

from django.contrib import admin

from refunds.admin_base import ReadOnlyAdmin
from refunds.models import GatewayEvent, SimulatedRefund


@admin.register(GatewayEvent)
class GatewayEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "channel", "event_type", "gateway_reference", "ticket", "outcome"]
    list_filter = ["channel", "event_type", "outcome"]
    search_fields = ["gateway_reference", "event_id", "ticket__reference"]
    list_select_related = ["channel", "ticket"]


@admin.register(SimulatedRefund)
class SimulatedRefundAdmin(ReadOnlyAdmin):
    list_display = ["refund_id", "channel_code", "payment_reference", "amount", "currency", "status", "outcome",
                    "failure_reason", "settle_at", "reverse_at", "delivered_status", "calls"]
    list_filter = ["channel_code", "status", "outcome"]
    search_fields = ["refund_id", "idempotency_key", "payment_reference"]
