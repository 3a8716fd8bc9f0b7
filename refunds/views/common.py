"""Helpers shared by the ops views."""

from refunds.actors import Actor
from refunds.errors import DomainError, InvalidInput
from refunds.screens import user_roles


def actor_for(request) -> Actor:
    """The staff actor, reusing the roles the screen guard already read (one query, not two)."""
    actor = Actor.staff(request.user)
    actor.__dict__["roles"] = frozenset(user_roles(request.user))
    return actor


def error_text(exc: DomainError) -> str:
    if isinstance(exc, InvalidInput):
        return " ".join(f"{name}: {' '.join(msgs)}" for name, msgs in exc.errors.items()) or exc.detail
    return exc.detail or str(exc)
