"""GET /refunds/{reference}/checklist/: what the SOP still needs before the stage can be left."""

import pytest

from refunds.models import Policy, RefundTicket
from tests.api.conftest import assert_problem

pytestmark = pytest.mark.django_db


def test_checklist_lists_items_and_missing(api_a, payment_a):
    policy = Policy.objects.get(is_default=True)
    policy.checklists = {"review": [{"code": "photos", "label": "Photos checked"}]}
    policy.save()
    body = api_a.create_refund(payment_a, amount="120.00").json()
    assert RefundTicket.objects.get(reference=body["reference"]).state == "in_review"
    response = api_a.get(f"/api/v1/refunds/{body['reference']}/checklist/")
    assert response.status_code == 200
    assert response.json() == {"stage": "review", "complete": False, "missing": ["photos"],
                               "items": [{"stage": "review", "code": "photos", "label": "Photos checked",
                                          "done": False, "ticked_by": None, "ticked_at": None}]}


def test_checklist_of_another_partner_is_404(api_b, refund_a):
    assert_problem(api_b.get(f"/api/v1/refunds/{refund_a['reference']}/checklist/"), 404)
