"""A reviewer works the at-risk queue in a real browser (Playwright driving Debian's chromium)."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from refunds import sla
from refunds.models import RefundTicket, SlaClock

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _async_unsafe():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_reviewer_approves_an_at_risk_refund(live_server, page, role_users, make_ticket, monkeypatch):
    at_risk = make_ticket(region="US")
    make_ticket(region="CN")  # also at risk, filtered out below
    on_track = make_ticket(region="US", amount="150.00")
    # Move the engine's clock past the at-risk instant of the first two tickets only.
    warn_at = SlaClock.objects.get(ticket=at_risk, kind="stage", stage="review").warn_at
    SlaClock.objects.filter(ticket=on_track).update(warn_at=warn_at + timedelta(days=30),
                                                   due_at=warn_at + timedelta(days=31))
    monkeypatch.setattr(sla, "_now", lambda: warn_at + timedelta(minutes=1))
    assert sla.run_periodic_tasks()["warned"] >= 2
    assert RefundTicket.objects.get(pk=at_risk.pk).sla_status == "at_risk"

    client = Client()
    client.force_login(role_users["reviewer"])
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/ops/")
    page.click("a[data-queue=at_risk]")
    page.wait_for_url("**queue=at_risk**")
    assert page.locator("h1").first.inner_text().startswith("At risk")
    page.click("details.filters summary")
    page.fill("input[name=region]", "US")
    page.click("form.filter-form button[type=submit]")
    page.wait_for_url("**region=US**")
    rows = page.locator("table.tickets tbody tr")
    assert rows.count() == 1
    assert at_risk.reference in rows.first.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "ops-queue.png"), full_page=True)

    page.click(f"text={at_risk.reference}")
    page.wait_for_url(f"**/ops/tickets/{at_risk.reference}/")
    page.fill("form[data-action=approve] input[name=comment]", "Evidence checked")
    page.click("form[data-action=approve] button[type=submit]")
    page.wait_for_selector(".msg-success")
    assert "Done: Approve" in page.locator(".messages").inner_text()
    timeline = page.locator("ol.timeline").inner_text()
    assert "Approve · In review → Approved" in timeline and "Evidence checked" in timeline
    page.screenshot(path=str(SCREENSHOTS / "ops-ticket.png"), full_page=True)
    assert RefundTicket.objects.get(pk=at_risk.pk).state != "in_review"

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: still usable, no horizontal scroll
    page.goto(f"{live_server.url}/ops/?queue=all")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(SCREENSHOTS / "ops-queue-phone.png"), full_page=True)
