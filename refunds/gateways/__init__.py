"""Gateway adapters by name (Channel.adapter). The simulated gateway is the default for every channel.

Register a real adapter by adding it to `ADAPTERS` here or, without touching code, to
`settings.REFUNDLOOP["GATEWAY_ADAPTERS"] = {"name": "dotted.path.Class"}`. See docs/payouts.md.
"""

from django.conf import settings
from django.utils.module_loading import import_string

from .base import (
    Capabilities,
    GatewayAdapter,
    GatewayError,
    GatewayTimeout,
    IdempotencyConflict,
    RefundResult,
    TransientGatewayError,
    WebhookEvent,
    WebhookRejected,
)

ADAPTERS = {
    "simulated": "refunds.gateways.simulated.SimulatedGateway",
}


def adapter_paths() -> dict[str, str]:
    return {**ADAPTERS, **settings.REFUNDLOOP.get("GATEWAY_ADAPTERS", {})}


def adapter_names() -> list[str]:
    return sorted(adapter_paths())


def adapter_for(channel) -> GatewayAdapter:
    """The configured adapter instance for a channel (unknown names are a configuration error)."""
    path = adapter_paths().get(channel.adapter or "simulated")
    if path is None:
        raise GatewayError(f"channel {channel.code} names unknown adapter {channel.adapter!r}")
    return import_string(path)(channel)


__all__ = [
    "ADAPTERS", "Capabilities", "GatewayAdapter", "GatewayError", "GatewayTimeout", "IdempotencyConflict",
    "RefundResult", "TransientGatewayError", "WebhookEvent", "WebhookRejected", "adapter_for", "adapter_names",
]
