"""The status page in a real browser on a phone-sized screen, in Simplified Chinese, without JavaScript."""

import os
from pathlib import Path

import pytest
from django.conf import settings

from notifications.models import Event
from notifications.services import notify
from refunds.actors import Actor
from refunds.audit import append_entry
from refunds.models import RefundTicket
from refunds.status_tokens import token_for
from tests.factories import TicketFactory, channel

# Sync Playwright runs an event loop in this thread; Django's ORM must still be allowed here (test only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCREENSHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True, "java_script_enabled": False, "locale": "zh-CN"}


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    yield page
    context.close()


def _history(ticket, *steps):
    for transition, from_state, to_state in steps:
        append_entry(ticket, actor=Actor.system(), transition=transition, from_state=from_state, to_state=to_state,
                     customer_visible=True, comment="")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_status_page_on_a_phone_in_chinese(live_server, phone, defaults, django_capture_on_commit_callbacks):
    ticket = TicketFactory(state="processing", customer_language="zh-hans", amount="128.50",
                           payment__amount="128.50", reason_detail="杯子碎了")
    _history(ticket, ("create", "", "submitted"), ("intake", "submitted", "in_review"),
             ("approve", "in_review", "approved"), ("submit_payout", "approved", "processing"))
    notify(ticket.pk, Event.PAYOUT_SENT, "browser")
    phone.goto(f"{live_server.url}/status/{token_for(ticket)}/")

    assert phone.locator("html").get_attribute("lang") == "zh-hans"
    assert phone.locator("[aria-current=step] .slabel").inner_text() == "退款已发出"
    assert "预计到账" in phone.content()
    assert "审核中" in phone.locator(".steps").inner_text()
    # Nothing wider than the phone: no horizontal scrolling.
    scroll_width = phone.evaluate("document.documentElement.scrollWidth")  # evaluate works with JS disabled
    assert scroll_width <= 390
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "status-zh-hans-phone.png"), full_page=True)

    # The language switch is a plain link.
    phone.get_by_role("link", name="English").click()
    assert phone.locator("[aria-current=step] .slabel").inner_text() == "Refund sent"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_info_form_works_without_javascript(live_server, phone, defaults):
    ticket = TicketFactory(state="awaiting_customer", customer_language="zh-hans", info_requested=["iban"],
                           refund_to={"method": "bank_transfer", "account_name": "Li Wei"},
                           payment__channel=channel("bank_transfer"), payment__currency="EUR")
    phone.goto(f"{live_server.url}/status/{token_for(ticket)}/")
    phone.fill("input[name=iban]", "DE00 0000")
    phone.get_by_role("button", name="提交").click()
    assert "此 IBAN 无效" in phone.content()
    phone.fill("input[name=iban]", "DE89370400440532013000")
    phone.get_by_role("button", name="提交").click()
    assert "我们已收到您的信息" in phone.content()
    assert RefundTicket.objects.get(pk=ticket.pk).state == "in_review"
