"""Finance works reconciliation in a real browser: dashboard, exceptions queue, one exception."""

import io
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from reconciliation.models import ReconException

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _async_unsafe():
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def test_finance_sees_the_dashboard_and_opens_an_exception(live_server, page, defaults, settings):
    settings.JOBS_INLINE = True
    call_command("seed_demo", tickets=48, stdout=io.StringIO())
    assert ReconException.objects.exists()
    client = Client()
    client.force_login(get_user_model().objects.get(username="finance"))
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/finance/")
    body = page.locator("body").inner_text()
    assert "Ticket" in body or "ticket" in body
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "finance-dashboard.png"), full_page=True)

    page.goto(f"{live_server.url}/finance/exceptions/")
    exception = ReconException.objects.order_by("pk").first()
    assert page.locator(f"a[href$='/finance/exceptions/{exception.pk}/']").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "finance-exceptions.png"), full_page=True)
    page.click(f"a[href$='/finance/exceptions/{exception.pk}/']")
    page.wait_for_url(f"**/finance/exceptions/{exception.pk}/")
    assert exception.ticket_id is None or exception.ticket.reference in page.locator("body").inner_text()
