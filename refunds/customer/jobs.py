"""Jobs of the customer pages: take plain values, call one service."""

from . import services


def send_status_links(order_ref: str, email: str, visitor: str = "") -> int:
    return services.send_status_links(order_ref, email, visitor)
