"""POST /api/v1/statements/, GET /statements/{id}/, /recon/runs/, /recon/exceptions/."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from reconciliation.models import MatchRun
from reconciliation.services import execute_run
from refunds.models import ApiKey
from tests.factories import PartnerFactory

from .helpers import refunded

pytestmark = pytest.mark.django_db
GOOD = b"id,type,source,amount,fee,net,currency,created\ntxn_1,refund,re_ghost,-5.00,0,-5.00,usd,2026-01-01 10:00\n"


def client_for(key_raw):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_raw}")
    return client


@pytest.fixture
def finance_api(make_user):
    _key, raw = ApiKey.objects.issue(scopes=["statements:write", "recon:read"], user=make_user("finance"))
    return client_for(raw)


def test_upload_then_read_back(finance_api):
    response = finance_api.post("/api/v1/statements/", {"file": SimpleUploadedFile("s.csv", GOOD),
                                                        "format": "stripe"}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "imported" and body["imported_count"] == 1
    got = finance_api.get(f"/api/v1/statements/{body['id']}/")
    assert got.status_code == 200 and got.json()["id"] == body["id"]
    assert finance_api.get("/api/v1/statements/999999/").status_code == 404


def test_malformed_upload_is_422_problem_with_line_numbers(finance_api):
    bad = GOOD.replace(b"-5.00,0", b"x,0")
    response = finance_api.post("/api/v1/statements/", {"file": SimpleUploadedFile("s.csv", bad), "format": "stripe"},
                                format="multipart")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["errors"]["file"] == ["line 2: amount 'x' is not a number"]
    bad_format = finance_api.post("/api/v1/statements/", {"file": SimpleUploadedFile("s.csv", GOOD), "format": "x"},
                                  format="multipart")
    assert bad_format.status_code == 422 and "format" in bad_format.json()["errors"]


def test_runs_and_exceptions_lists(finance_api):
    refunded("20.00")
    finance_api.post("/api/v1/statements/", {"file": SimpleUploadedFile("s.csv", GOOD), "format": "stripe"},
                     format="multipart")
    execute_run(MatchRun.objects.create(as_of=timezone.now(), three_way=False).pk)
    runs = finance_api.get("/api/v1/recon/runs/").json()
    assert runs["results"][0]["status"] == "done" and "next" in runs
    exceptions = finance_api.get("/api/v1/recon/exceptions/", {"type": "unexpected_statement_line"}).json()
    assert exceptions["results"][0]["actual"] == "5.00"
    assert finance_api.get("/api/v1/recon/exceptions/", {"type": "nope"}).status_code == 422


def test_partner_keys_and_missing_scopes_are_refused(make_user):
    _k, partner_raw = ApiKey.objects.issue(scopes=["statements:write", "recon:read"], partner=PartnerFactory())
    assert client_for(partner_raw).get("/api/v1/recon/runs/").status_code == 403
    _k, reader_raw = ApiKey.objects.issue(scopes=["recon:read"], user=make_user("ops_lead"))
    reader = client_for(reader_raw)
    assert reader.get("/api/v1/recon/runs/").status_code == 200
    assert reader.post("/api/v1/statements/", {"file": SimpleUploadedFile("s.csv", GOOD), "format": "stripe"},
                       format="multipart").status_code == 403
    assert APIClient().get("/api/v1/recon/runs/").status_code == 401
