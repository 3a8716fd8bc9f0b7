"""Finance screens: guard, read-only ops lead, upload, runs, working an exception with four-eyes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from reconciliation.models import ExceptionStatus, ReconException, StatementImport
from reconciliation.simulated_statements import statement_for
from tests.factories import channel

from .helpers import refunded

pytestmark = pytest.mark.django_db
PAGES = ["finance:dashboard", "finance:imports", "finance:runs", "finance:exceptions"]


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_is_sent_to_login_and_no_role_is_403(client, make_user, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(make_user("agent"))
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("role", ["finance", "finance_lead", "ops_lead"])
def test_finance_roles_and_ops_lead_see_every_page(client, make_user, role):
    refunded("20.00")
    client.force_login(make_user(role))
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 200


def test_ops_lead_is_read_only(client, make_user):
    client.force_login(make_user("ops_lead"))
    assert client.post(reverse("finance:runs"), {}).status_code == 403


def test_upload_then_run_then_dashboard_shows_the_bridge(client, make_user, django_capture_on_commit_callbacks):
    tickets = [refunded(f"{10 + i}.00", paid_days_ago=20) for i in range(5)]
    data, fmt, ledger, injected = statement_for(channel("card"), discrepancies={"missing": 1, "unexpected": 1})
    client.force_login(make_user("finance"))
    response = client.post(reverse("finance:imports"), {
        "file": SimpleUploadedFile("s.csv", data), "format": fmt, "kind": ""}, follow=True)
    assert b"Imported" in response.content
    client.post(reverse("finance:imports"), {"file": SimpleUploadedFile("l.csv", ledger), "format": "ledger"})
    assert StatementImport.objects.filter(status="imported").count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("finance:runs"), {"channel": ""})
    page = client.get(reverse("finance:runs")).content.decode()
    assert "reconciled: 4" in page
    dash = client.get(reverse("finance:dashboard")).content.decode()
    assert "Bridge" in dash and "missing_on_statement" in dash
    listing = client.get(reverse("finance:exceptions"), {"type": "missing_on_statement"}).content.decode()
    assert injected["missing"][0] in listing
    assert len(tickets) == 5


def test_bad_upload_shows_line_numbered_errors(client, make_user):
    client.force_login(make_user("finance"))
    bad = b"id,type,source,amount,fee,net,currency,created\ntxn_1,refund,re_1,zz,0,0,usd,2026-01-01\n"
    response = client.post(reverse("finance:imports"), {"file": SimpleUploadedFile("b.csv", bad), "format": "stripe"},
                           follow=True)
    body = response.content.decode()
    assert "Refused" in body and "amount &#x27;zz&#x27; is not a number" in body


def test_work_an_exception_with_four_eyes_write_off(client, make_user, settings, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from reconciliation.models import MatchRun
    from reconciliation.services import execute_run, import_file

    settings.RECON_WRITE_OFF_FOUR_EYES = "1.00"  # major units, scaled by the currency exponent
    t = refunded("20.00")
    import_file(data=(b"id,type,source,amount,fee,net,currency,created,description,payment_intent,refund_reference\n"
                      b"txn_1,refund," + t.payout_attempts.get().gateway_refund_id.encode()
                      + b",-18.00,0.00,-18.00,usd,2026-01-01 10:00:00,,,\n"), format="stripe")
    execute_run(MatchRun.objects.create(as_of=timezone.now(), three_way=False).pk)
    exc = ReconException.objects.get()
    url = reverse("finance:exception", args=[exc.pk])
    clerk, lead = make_user("finance"), make_user("finance_lead")
    client.force_login(clerk)
    assert client.get(url).status_code == 200
    client.post(url, {"action": "take"})
    response = client.post(url, {"action": "resolve", "resolution": "written_off", "note": ""}, follow=True)
    assert "note" in response.content.decode()  # a note is required
    client.post(url, {"action": "resolve", "resolution": "written_off", "note": "Gateway rounding, accepted"})
    exc.refresh_from_db()
    assert exc.status == ExceptionStatus.AWAITING_APPROVAL and exc.assignee == clerk
    client.post(url, {"action": "approve"})  # not a lead, and the proposer: refused
    exc.refresh_from_db()
    assert exc.status == ExceptionStatus.AWAITING_APPROVAL
    client.force_login(lead)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "approve"})
    exc.refresh_from_db()
    assert exc.status == ExceptionStatus.RESOLVED and exc.approved_by == lead
    assert exc.history.count() >= 4
    t.refresh_from_db()
    assert t.state == "reconciled"
    assert t.log.order_by("-seq").first().actor == lead


def test_adjust_needs_a_correction_reference(client, make_user):
    exc = ReconException.objects.create(type="unexpected_statement_line", dedupe_key="x:1",
                                        due_at="2030-01-01T00:00:00Z")
    client.force_login(make_user("finance"))
    url = reverse("finance:exception", args=[exc.pk])
    client.post(url, {"action": "resolve", "resolution": "adjusted", "note": "booked"})
    exc.refresh_from_db()
    assert exc.status == "open"
    client.post(url, {"action": "resolve", "resolution": "adjusted", "note": "booked", "correction_ref": "JE-77"})
    exc.refresh_from_db()
    assert exc.status == "resolved" and exc.correction_ref == "JE-77"


def test_demo_seed_is_idempotent_and_simulate_button_imports(client, make_user):
    import io

    from reconciliation.demo import seed

    for i in range(4):
        refunded(f"{11 + i}.00", paid_days_ago=20)
    out = io.StringIO()
    seed(out)
    assert "Reconciliation run" in out.getvalue()
    assert ReconException.objects.exists()
    seed(out)
    assert "exist already" in out.getvalue()
    client.force_login(make_user("finance"))
    response = client.post(reverse("finance:imports"), {"simulate": "paypal"}, follow=True)
    assert response.status_code == 200


def test_column_mapping_admin_shows_the_data_map(client, make_user):
    from reconciliation.models import ColumnMapping

    admin = make_user("admin", is_superuser=True)
    mapping = ColumnMapping.objects.create(name="m", source="s", columns={"gross": "Amt"})
    client.force_login(admin)
    body = client.get(reverse("admin:reconciliation_columnmapping_change", args=[mapping.pk])).content.decode()
    assert "<th>gross</th><td>Amt</td>" in body


def test_simulated_files_are_refused_outside_the_sandbox(client, settings, defaults, make_user):
    settings.DEBUG = False
    settings.JOBS_INLINE = False
    client.force_login(make_user("finance"))
    page = client.get("/finance/imports/").content.decode()
    assert 'name="simulate"' not in page
    assert client.post("/finance/imports/", {"simulate": "card"}).status_code == 403


def test_bad_show_parameter_is_ignored_not_an_error(client, defaults, make_user):
    client.force_login(make_user("finance"))
    assert client.get("/finance/imports/?show=²").status_code == 200


@pytest.mark.parametrize("currency,minor", [("USD", 10_000), ("JPY", 100), ("KWD", 100_000)])
def test_write_off_threshold_is_the_same_nominal_amount_in_every_currency(settings, currency, minor):
    from reconciliation.services import write_off_threshold_minor

    settings.RECON_WRITE_OFF_FOUR_EYES = "100"
    assert write_off_threshold_minor(currency) == minor
