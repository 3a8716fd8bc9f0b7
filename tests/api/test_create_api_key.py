"""`manage.py create_api_key` (SPEC §13, §16): key alone on the last line, partner created if needed."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from refunds.models import ApiKey, Partner

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_api_key", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_partner_key_is_printed_alone_on_the_last_line_and_works(defaults):
    output = run("--partner", "acme", "--scopes", "refunds:read,refunds:write,payments:write")
    raw = output.strip().splitlines()[-1]
    assert raw.startswith("rl_") and " " not in raw
    key = ApiKey.objects.get()
    assert key.partner == Partner.objects.get(name="acme")
    assert key.scope_set == {"refunds:read", "refunds:write", "payments:write"}
    assert raw not in key.key_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/refunds/").status_code == 200
    run("--partner", "acme", "--scopes", "refunds:read")  # existing partner is reused
    assert Partner.objects.filter(name="acme").count() == 1


def test_user_key(make_user):
    make_user("agent", username="alice")
    raw = run("--user", "alice", "--scopes", "refunds:read").strip().splitlines()[-1]
    assert ApiKey.objects.authenticate(raw).user.username == "alice"


@pytest.mark.parametrize("args", [["--partner", "x", "--scopes", "refunds:fly"], ["--user", "ghost", "--scopes",
                                                                                  "refunds:read"]])
def test_bad_arguments(defaults, args):
    with pytest.raises(CommandError):
        run(*args)


def test_demo_seed_is_idempotent(defaults):
    from refunds.api.demo import seed

    first, second = StringIO(), StringIO()
    seed(first)
    seed(second)
    raw = first.getvalue().strip().rsplit(" ", 1)[-1]
    assert ApiKey.objects.authenticate(raw).partner.name == "demo-shop"
    assert ApiKey.objects.count() == 1 and raw not in second.getvalue()
