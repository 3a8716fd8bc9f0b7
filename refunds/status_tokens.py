"""Status-page tokens: unguessable, reproducible for notifications, stored only as a hash.

token = HMAC-SHA256(SECRET_KEY, "status:" + per-ticket random nonce), base64url (256 bits). The
database keeps SHA-256(token) for lookup, so a leaked table does not reveal links; rotating the
ticket's nonce revokes its link.
"""

import base64
import hashlib
import hmac

from django.conf import settings


def token_for(ticket) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"status:{ticket.status_nonce}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def status_url(ticket) -> str:
    return f"{settings.SITE_URL}/status/{token_for(ticket)}/"


def find_ticket(token: str):
    """The ticket for a token, or None. Lookup is by hash, so no timing reveals a partial match."""
    from refunds.models import RefundTicket

    if not token or len(token) > 100:
        return None
    return RefundTicket.objects.filter(status_token_hash=token_hash(token)).first()
