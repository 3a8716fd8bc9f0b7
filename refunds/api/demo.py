"""Demo data for the partner API (wired into `manage.py seed_demo` through REFUNDLOOP["DEMO_SEEDERS"]).

Idempotent: the demo partner's key is created (and printed, once) only on the first run.
"""

from refunds.models import ApiKey, Partner
from refunds.models.api import Scope

DEMO_PARTNER = "demo-shop"
DEMO_SCOPES = [Scope.REFUNDS_READ, Scope.REFUNDS_WRITE, Scope.PAYMENTS_WRITE]


def seed(stdout) -> None:
    partner, _created = Partner.objects.get_or_create(name=DEMO_PARTNER)
    existing = ApiKey.objects.filter(partner=partner, name="demo", revoked_at__isnull=True).first()
    if existing is None:
        _key, raw = ApiKey.objects.issue(scopes=DEMO_SCOPES, partner=partner, name="demo")
        stdout.write(f"Partner API key for {DEMO_PARTNER} (shown once; see docs/api.md): {raw}")
    else:
        stdout.write(f"Partner API key for {DEMO_PARTNER} exists (rl_{existing.prefix}_…); mint another with "
                     f"`manage.py create_api_key --partner {DEMO_PARTNER} --scopes {','.join(DEMO_SCOPES)}`.")
