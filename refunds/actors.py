"""Who is acting: a staff user, the system (jobs, webhooks), a partner (API) or a customer."""

from dataclasses import dataclass, field
from functools import cached_property

from django.contrib.auth import get_user_model

from refunds.models.audit import ActorKind

SYSTEM_USERNAME = "system"


def system_user():
    """The service account that history rows and logs name for automatic work."""
    user, _ = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "Refundloop", "last_name": "system"}
    )
    return user


@dataclass(frozen=True)
class Actor:
    kind: str
    label: str
    user: object | None = None
    partner: object | None = None
    # For customers: the one ticket their status-page token opens.
    ticket_id: int | None = field(default=None)

    @classmethod
    def staff(cls, user) -> "Actor":
        return cls(kind=ActorKind.STAFF, label=user.get_username(), user=user)

    @classmethod
    def system(cls, label: str = SYSTEM_USERNAME) -> "Actor":
        return cls(kind=ActorKind.SYSTEM, label=label)

    @classmethod
    def for_partner(cls, partner, user=None) -> "Actor":
        return cls(kind=ActorKind.PARTNER, label=f"partner:{partner.name}", partner=partner, user=user)

    @classmethod
    def customer(cls, ticket) -> "Actor":
        return cls(kind=ActorKind.CUSTOMER, label="customer", ticket_id=ticket.pk)

    @cached_property
    def roles(self) -> frozenset[str]:
        if self.kind != ActorKind.STAFF or self.user is None or not self.user.is_active:
            return frozenset()
        return frozenset(self.user.groups.values_list("name", flat=True))

    @property
    def history_user(self):
        """The user recorded in django-simple-history rows for this actor's changes."""
        if self.user is not None:
            return self.user
        return system_user()

    @property
    def log_user(self):
        return self.user if self.kind == ActorKind.STAFF else None
