"""Login with throttling: a small cache-based limiter (shared Redis cache in production)."""

import logging

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.utils.translation import gettext as _

from refunds.client_ip import client_ip

logger = logging.getLogger(__name__)

MAX_FAILURES_PER_USER = 5     # per username + address, per window
MAX_FAILURES_PER_ADDRESS = 20  # per address, whatever the username
WINDOW_SECONDS = 15 * 60


def _keys(request) -> tuple[str, str]:
    address = client_ip(request)
    username = (request.POST.get("username") or "").strip().lower()[:150]
    return f"login-fail:{address}:{username}", f"login-fail:{address}"


def _bump(key: str) -> None:
    try:
        if cache.add(key, 1, WINDOW_SECONDS):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, WINDOW_SECONDS)
    except Exception:  # cache down: the log-in still works, unthrottled until it is back
        logger.warning("login throttle not recorded: cache unavailable")


def _failures(key: str) -> int:
    try:
        return cache.get(key, 0)
    except Exception:
        logger.warning("login throttle not checked: cache unavailable")
        return 0


class ThrottledLoginView(auth_views.LoginView):
    """Django's LoginView; after too many failures it refuses further attempts for a while (429)."""

    def post(self, request, *args, **kwargs):
        user_key, address_key = _keys(request)
        if _failures(user_key) >= MAX_FAILURES_PER_USER or _failures(address_key) >= MAX_FAILURES_PER_ADDRESS:
            # An unbound form: checking the password now would defeat the throttle.
            form = self.get_form_class()(request, initial={"username": request.POST.get("username", "")})
            context = self.get_context_data(
                form=form, throttle_error=_("Too many failed log-ins. Wait 15 minutes and try again."))
            return self.render_to_response(context, status=429)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        user_key, address_key = _keys(self.request)
        _bump(user_key)
        _bump(address_key)
        return super().form_invalid(form)

    def form_valid(self, form):
        try:
            cache.delete(_keys(self.request)[0])
        except Exception:
            logger.warning("login throttle not cleared: cache unavailable")
        return super().form_valid(form)

    def get_default_redirect_url(self):
        """Without `next`, land on the first screen the user's roles open (admins: the admin site)."""
        from refunds.screens import may_open

        user = self.request.user
        for url_name, url in (("ops:queue", "/ops/"), ("finance:dashboard", "/finance/")):
            if may_open(user, url_name):
                return url
        return "/admin/" if user.is_staff else super().get_default_redirect_url()
