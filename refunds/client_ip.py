"""The client's address for rate limits, correct behind a load balancer or TLS proxy.

With `TRUSTED_PROXY_COUNT=N` (env), the address is the N-th entry from the right of
X-Forwarded-For (the one our own outermost proxy appended); entries further left are
client-supplied and never trusted. With 0 (the default, direct exposure) it is REMOTE_ADDR.
"""

from django.conf import settings


def client_ip(request) -> str:
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
