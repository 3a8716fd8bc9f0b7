"""Our reason codes (SPEC §5) mapped to each channel's own codes, for the payout adapters.

`Channel.reason_code_map` is data: {our_code: gateway_code}, with an optional "*" fallback. A
channel without a map (or without a match and without "*") gets None: the adapter then sends no
reason, which every gateway accepts, rather than a code the gateway would reject.
"""

from refunds.models import Channel
from refunds.models.tickets import ReasonCode


def gateway_reason(channel: Channel, reason: str) -> str | None:
    """The gateway's code for our `reason` on `channel` (e.g. Stripe: damaged → requested_by_customer)."""
    if reason not in ReasonCode.values:
        raise ValueError(f"unknown reason code {reason!r}")
    mapping = channel.reason_code_map if isinstance(channel.reason_code_map, dict) else {}
    code = mapping.get(reason) or mapping.get("*")
    return str(code) if code else None


def install_card_reason_fallback(get_model) -> None:
    """Stripe knows three reasons; send every other one as requested_by_customer (idempotent)."""
    Channel_ = get_model("refunds", "Channel")
    for card in Channel_.objects.filter(code="card"):
        mapping = dict(card.reason_code_map or {})
        if mapping and "*" not in mapping:
            mapping["*"] = "requested_by_customer"
            card.reason_code_map = mapping
            card.save(update_fields=["reason_code_map"])
