"""Per-key request throttling on the shared cache (Redis in production, so every process agrees)."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_rate(self) -> str | None:
        # Read at request time, so deployments (and tests) change it through settings/env.
        return getattr(settings, "API_THROTTLE_RATE", None) or None

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is None or not getattr(request.auth, "pk", None):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
