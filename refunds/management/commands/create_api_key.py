"""`manage.py create_api_key --partner NAME | --user USERNAME --scopes a,b` — the key is printed once, alone
on the last line of stdout (scripts take it with `| tail -n 1`)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from refunds.models import ApiKey, Partner
from refunds.models.api import Scope


class Command(BaseCommand):
    help = "Create an API key for a partner (created if needed) or a staff user, and print it once."

    def add_arguments(self, parser):
        owner = parser.add_mutually_exclusive_group(required=True)
        owner.add_argument("--partner", help="Partner name (created if it does not exist).")
        owner.add_argument("--user", help="Username of an existing staff user (acts with that user's roles).")
        parser.add_argument("--scopes", required=True, help=f"Comma-separated: {', '.join(Scope.values)}")
        parser.add_argument("--name", default="", help="What the key is for.")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, partner=None, user=None, scopes="", name="", expires_in_days=None, **options):
        wanted = [s.strip() for s in scopes.split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(Scope.values))
        if not wanted or unknown:
            raise CommandError(f"Unknown or missing scopes {unknown or ''}; choose from {', '.join(Scope.values)}.")
        owner = {}
        if partner is not None:
            partner_obj, created = Partner.objects.get_or_create(name=partner.strip())
            if created:
                self.stderr.write(f"Created partner {partner_obj.name}.")
            owner["partner"] = partner_obj
        else:
            try:
                owner["user"] = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {user!r}.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        key, raw = ApiKey.objects.issue(scopes=wanted, name=name, expires_at=expires_at, **owner)
        scope_list = " ".join(sorted(key.scope_set))
        self.stdout.write(f"API key {key.prefix} ({scope_list}) — store it now, it is not shown again:")
        self.stdout.write(raw)
