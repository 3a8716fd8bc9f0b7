"""Per-key request throttling on the shared cache (Redis in production, so every process agrees).

A fixed-window counter (`cache.add` + `cache.incr`, both atomic on Redis): one small integer per key
and window, instead of DRF's sliding log that rewrites a list of every request time on each call.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """"1200/minute" → (1200, 60); empty or malformed → None (no throttling)."""
    if not rate:
        return None
    try:
        number, period = rate.split("/")
        return int(number), PERIODS[period.strip()[0].lower()]
    except (ValueError, KeyError, IndexError):
        return None


logger = logging.getLogger(__name__)

class ApiKeyRateThrottle(BaseThrottle):
    def __init__(self):
        self._wait: float | None = None

    def allow_request(self, request, view) -> bool:
        key = getattr(request.auth, "pk", None)
        rate = parse_rate(getattr(settings, "API_THROTTLE_RATE", ""))  # read per request: tests/env change it
        if key is None or rate is None:
            return True
        limit, duration = rate
        now = time.time()
        window = int(now // duration)
        cache_key = f"throttle:api_key:{key}:{duration}:{window}"
        try:
            if cache.add(cache_key, 1, timeout=duration + 1):
                count = 1
            else:
                try:
                    count = cache.incr(cache_key)
                except ValueError:  # expired between add and incr
                    cache.set(cache_key, 1, timeout=duration + 1)
                    count = 1
        except Exception:  # the cache (Redis) is down: serve the request rather than fail it
            logger.warning("API throttle skipped: cache unavailable", exc_info=True)
            return True
        if count <= limit:
            return True
        self._wait = (window + 1) * duration - now
        return False

    def wait(self) -> float | None:
        return self._wait
