"""API keys in admin: created with the key shown once (as a message), stored hashed, revocable."""

import pytest
from django.contrib.messages import get_messages

from refunds.models import ApiKey
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_admin_creates_a_key_and_shows_it_once(admin_client, defaults):
    partner = PartnerFactory(name="shop")
    response = admin_client.post("/admin/refunds/apikey/add/", {
        "name": "orders", "partner": partner.pk, "user": "", "expires_at_0": "", "expires_at_1": "",
        "scope_choices": ["refunds:read", "payments:write"],
    })
    assert response.status_code == 302, response.content[:2000]
    raw = next(m.message.split(": ")[-1] for m in get_messages(response.wsgi_request) if "rl_" in m.message)
    key = ApiKey.objects.get()
    assert ApiKey.objects.authenticate(raw) == key
    assert key.scope_set == {"refunds:read", "payments:write"} and raw not in key.key_hash
    first = admin_client.get(f"/admin/refunds/apikey/{key.pk}/change/")
    assert raw in first.content.decode()  # the one-time message
    again = admin_client.get(f"/admin/refunds/apikey/{key.pk}/change/")
    assert again.status_code == 200 and raw not in again.content.decode()


def test_admin_requires_exactly_one_owner(admin_client, defaults):
    response = admin_client.post("/admin/refunds/apikey/add/", {"name": "x", "scope_choices": ["refunds:read"],
                                                                "expires_at_0": "", "expires_at_1": ""})
    assert response.status_code == 200 and ApiKey.objects.count() == 0


def test_admin_revoke_action(admin_client, defaults):
    key, raw = ApiKey.objects.issue(scopes=["refunds:read"], partner=PartnerFactory())
    admin_client.post("/admin/refunds/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    assert ApiKey.objects.authenticate(raw) is None


def test_admin_lists_webhooks_and_idempotency(admin_client, defaults):
    for path in ["webhookendpoint", "webhookdelivery", "idempotencyrecord", "apikey"]:
        assert admin_client.get(f"/admin/refunds/{path}/").status_code == 200
