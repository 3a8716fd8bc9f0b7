"""Fixed-window rate limits in the shared cache (Redis in production, so every process sees the same
counts). When the cache is unreachable the request is allowed: a lookup form must not 500."""

import hashlib
import hmac
import logging

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)


def keyed_hash(value: str, purpose: str) -> str:
    """A keyed hash (HMAC with SECRET_KEY): lets us count per IP or e-mail without storing either."""
    return hmac.new(settings.SECRET_KEY.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def allow(bucket: str, value: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit for `value` in `bucket`; False once more than `limit` hits fell in the window."""
    key = f"rl:{bucket}:{keyed_hash(value, bucket)}"
    try:
        cache.add(key, 0, timeout=window_seconds)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=window_seconds)
            count = 1
    except Exception:  # cache down: fail open, log without the value
        logger.warning("rate-limit cache unavailable for bucket %s", bucket)
        return True
    return count <= limit
