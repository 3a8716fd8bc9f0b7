import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from refunds.audit import verify_all
from refunds.lifecycle import Role, State
from refunds.models import Payment, RefundTicket


@pytest.mark.django_db
def test_seed_demo_creates_users_per_role_and_tickets_in_every_state_idempotently(capsys, settings):
    settings.DEBUG = True  # embedded mode: known demo passwords
    call_command("seed_demo", tickets=60)
    out = capsys.readouterr().out
    for role in Role.values:
        assert get_user_model().objects.get(username=role).groups.filter(name=role).exists()
        assert f"{role}" in out
    assert "password: refundloop-ops_lead" in out
    states = set(RefundTicket.objects.values_list("state", flat=True))
    assert states == set(State.values)
    tickets, payments = RefundTicket.objects.count(), Payment.objects.count()
    assert list(verify_all()) == []

    call_command("seed_demo", tickets=60)
    assert (RefundTicket.objects.count(), Payment.objects.count()) == (tickets, payments)


@pytest.mark.django_db
def test_production_seed_prints_random_passwords_once(capsys, settings):
    settings.DEBUG = False
    call_command("seed_demo", tickets=24)
    first = capsys.readouterr().out
    assert "refundloop-agent" not in first and "agent         password: " in first
    call_command("seed_demo", tickets=24)
    assert "password unchanged" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_never_resets_a_changed_password():
    call_command("seed_demo", tickets=24)
    user = get_user_model().objects.get(username="finance")
    user.set_password("my-own-secret-passphrase")
    user.save()
    call_command("seed_demo", tickets=24)
    user.refresh_from_db()
    assert user.check_password("my-own-secret-passphrase")
