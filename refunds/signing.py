"""Webhook signatures, inbound and outbound alike (SPEC §8, §10).

Header `Refundloop-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]` where each v1 is
HMAC-SHA256(secret, f"{t}.{body}"). Several v1 values (and several secrets on our side) make
secret rotation seamless; comparison is constant-time; timestamps older than the tolerance fail.
"""

import hashlib
import hmac
import time
from collections.abc import Iterable

HEADER = "Refundloop-Signature"
TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    pass


def compute(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def header_value(secrets: Iterable[str], body: bytes, timestamp: int | None = None) -> str:
    """The header to send: one v1 per active secret (during rotation, old and new)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return ",".join([f"t={timestamp}"] + [f"v1={compute(s, timestamp, body)}" for s in secrets])


def parse(header: str) -> tuple[int, list[str]]:
    timestamp, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("missing timestamp or signature")
    return timestamp, signatures


def verify(header: str, body: bytes, secrets: Iterable[str], *, tolerance: int = TOLERANCE_SECONDS,
           now: float | None = None) -> int:
    """Return the signed timestamp, or raise SignatureError (unsigned, stale, or no secret matches)."""
    timestamp, signatures = parse(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError("timestamp outside the tolerance window")
    matched = False
    for secret in secrets:
        expected = compute(secret, timestamp, body)
        for candidate in signatures:
            # Evaluate every pair so timing does not reveal which secret matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("no valid signature")
    return timestamp
