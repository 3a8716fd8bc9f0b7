"""API keys and idempotency records for the partner REST API (SPEC §12).

A key is random, shown once, and stored as SHA-256 of the whole key plus a short visible prefix
that identifies it in admin and logs. Keys are high-entropy, so a fast hash is enough (no
password stretching needed) and lookups stay one indexed query.
"""

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .config import Partner

KEY_PREFIX = "rl"


class Scope(models.TextChoices):
    REFUNDS_READ = "refunds:read", _("Read refunds")
    REFUNDS_WRITE = "refunds:write", _("Create and change refunds")
    PAYMENTS_WRITE = "payments:write", _("Register payments")
    STATEMENTS_WRITE = "statements:write", _("Upload statements")
    RECON_READ = "recon:read", _("Read reconciliation")


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def split_key(raw: str) -> str | None:
    """The visible prefix of a well-formed key (``rl_<prefix>_<secret>``), else None."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2] or len(raw) > 200:
        return None
    return parts[1]


class ApiKeyQuerySet(models.QuerySet):
    def issue(self, *, scopes, partner: Partner | None = None, user=None, name: str = "",
              expires_at=None, created_by=None) -> tuple["ApiKey", str]:
        """Create a key; returns (row, raw key). The raw key is never stored and cannot be shown again."""
        if (partner is None) == (user is None):
            raise ValueError("An API key belongs to exactly one partner or one staff user.")
        unknown = set(scopes) - set(Scope.values)
        if unknown:
            raise ValueError(f"Unknown scopes: {', '.join(sorted(unknown))}")
        prefix = secrets.token_hex(4)
        raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
        key = self.create(name=name or (partner.name if partner else user.get_username()), partner=partner,
                          user=user, prefix=prefix, key_hash=hash_key(raw), scopes=" ".join(sorted(set(scopes))),
                          expires_at=expires_at, created_by=created_by)
        return key, raw

    def authenticate(self, raw: str) -> "ApiKey | None":
        """The usable key for `raw`, or None (unknown, wrong secret, revoked, expired, owner inactive)."""
        prefix = split_key(raw or "")
        if prefix is None:
            return None
        key = self.select_related("partner", "user").filter(prefix=prefix).first()
        if key is None or not hmac.compare_digest(key.key_hash, hash_key(raw)):
            return None
        return key if key.is_usable else None


class ApiKey(models.Model):
    name = models.CharField(max_length=100, help_text=_("What this key is for."))
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="api_keys", help_text=_("Staff key: acts with this user's roles."))
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.CharField(max_length=200, help_text=_("Space-separated scopes."))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(partner__isnull=False, user__isnull=True)
                           | models.Q(partner__isnull=True, user__isnull=False)),
                name="api_key_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return f"{KEY_PREFIX}_{self.prefix}_… ({self.name})"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    def has_scope(self, scope: str) -> bool:
        return scope in self.scope_set

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        if self.revoked_at is not None or (self.expires_at is not None and self.expires_at <= now):
            return False
        if self.partner_id is not None:
            return self.partner.active
        return self.user.is_active

    def revoke(self) -> None:
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])

    def actor(self):
        from refunds.actors import Actor

        if self.partner_id is not None:
            return Actor.for_partner(self.partner)
        return Actor.staff(self.user)


class IdempotencyStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")


class IdempotencyRecord(models.Model):
    """The first response to (API key, Idempotency-Key), replayed for retries of the same request.

    Inserted *before* the work runs; the unique constraint makes concurrent retries lose the
    insert race and see "in progress" (409) or the stored response.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text=_("SHA-256 of method, path and canonical body."))
    status = models.CharField(max_length=12, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique_per_api_key")]

    def __str__(self) -> str:
        return f"{self.api_key_id}:{self.key}"
