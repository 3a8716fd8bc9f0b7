"""Back-office screen access by URL name (STYLE example 8): a visible map of which role opens what.

Anonymous visitors are redirected to the login page; a logged-in user without one of the roles gets
403; objects a user may not see are 404 (selectors decide that, not this module).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from refunds.lifecycle import Role

OPS = {Role.AGENT, Role.REVIEWER, Role.OPS_LEAD, Role.RISK, Role.FINANCE, Role.FINANCE_LEAD}
FINANCE = {Role.FINANCE, Role.FINANCE_LEAD, Role.OPS_LEAD}

# URL name → roles that may open it. Every back-office view is listed here.
SCREEN_ROLES: dict[str, set[str]] = {
    "ops:queue": OPS,
    "ops:ticket": OPS,
    "ops:ticket-action": OPS,
    "ops:ticket-comment": OPS,
    "ops:ticket-checklist": OPS,
    "ops:bulk-assign": {Role.OPS_LEAD, Role.AGENT, Role.REVIEWER},
    "ops:ticket-assign": {Role.OPS_LEAD, Role.AGENT, Role.REVIEWER},
    "finance:dashboard": FINANCE,
    "finance:imports": FINANCE,
    "finance:runs": FINANCE,
    "finance:exceptions": FINANCE,
    "finance:exception": FINANCE,
}


def user_roles(user) -> set[str]:
    if not user.is_authenticated or not user.is_active:
        return set()
    if not hasattr(user, "_refundloop_roles"):
        user._refundloop_roles = set(user.groups.values_list("name", flat=True))
    return user._refundloop_roles


def may_open(user, url_name: str) -> bool:
    return bool(user_roles(user) & SCREEN_ROLES[url_name])


def screen(url_name: str):
    """Decorator for function views: login required, then one of the screen's roles."""
    if url_name not in SCREEN_ROLES:
        raise KeyError(f"{url_name} is missing from SCREEN_ROLES")

    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not may_open(request.user, url_name):
                roles = ", ".join(sorted(SCREEN_ROLES[url_name]))
                raise PermissionDenied(f"This screen needs one of the roles: {roles}.")
            return view(request, *args, **kwargs)

        guarded.screen_name = url_name
        return guarded

    return decorate
