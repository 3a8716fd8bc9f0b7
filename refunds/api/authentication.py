"""`Authorization: Bearer <api key>` authentication and per-view scope checks."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from refunds.models import ApiKey

# Writing last_used_at on every request would make every read a write; once a minute is enough.
LAST_USED_RESOLUTION_SECONDS = 60


class PartnerPrincipal:
    """`request.user` for a partner key: authenticated, but not a Django user (no session, no admin)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, partner):
        self.partner = partner

    def __str__(self) -> str:
        return f"partner:{self.partner.name}"

    def get_username(self) -> str:
        return str(self)


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].lower() != self.keyword or len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the API key as “Authorization: Bearer <key>”."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid, revoked or expired API key."))
        key = ApiKey.objects.authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("Invalid, revoked or expired API key."))
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        principal = key.user if key.user_id is not None else PartnerPrincipal(key.partner)
        return principal, key

    def authenticate_header(self, request) -> str:
        # Present so DRF answers 401 (with WWW-Authenticate), not 403, when the key is missing or bad.
        return 'Bearer realm="refundloop"'


class HasScope(BasePermission):
    """The view's `required_scopes` maps HTTP method → scope; a key without it gets 403."""

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated(_("Send an API key as “Authorization: Bearer <key>”."))
        scope = getattr(view, "required_scopes", {}).get(request.method)
        if scope is None and request.method in ("HEAD", "OPTIONS"):
            scope = view.required_scopes.get("GET")
        if scope and not key.has_scope(scope):
            self.message = _("This API key lacks the “%(scope)s” scope.") % {"scope": scope}
            return False
        return True


class PartnerOnly(BasePermission):
    """Endpoints about a partner's own configuration (webhook endpoints) need a partner key."""

    message = _("Only partner API keys can manage webhook endpoints.")

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, ApiKey) and request.auth.partner_id is not None


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "refunds.api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Partner or staff API key (`rl_…`)."}
