"""Events → deliveries: once per event, retries with backoff, language, opt-outs, staff messages."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from notifications import channels, jobs, services
from notifications.channels.sms import LocmemSmsBackend
from notifications.events import events_for
from notifications.models import Delivery, DeliveryStatus, Event, NotificationTemplate, OptOut
from refunds.actors import Actor
from refunds.services import perform_transition
from refunds.status_tokens import status_url

SMS_LOCMEM = "notifications.channels.sms.LocmemSmsBackend"


@pytest.fixture(autouse=True)
def clean_sms_outbox():
    LocmemSmsBackend.outbox.clear()


@pytest.mark.parametrize("transition, from_state, to_state, expected", [
    ("intake", "submitted", "in_review", ["received"]),
    ("intake", "submitted", "approved", ["received", "approved"]),
    ("intake", "submitted", "awaiting_customer", ["received", "info_needed"]),
    ("request_info", "in_review", "awaiting_customer", ["info_needed"]),
    ("approve", "in_review", "approved", ["approved"]),
    ("record_approval", "pending_approval", "pending_approval", []),
    ("record_approval", "pending_approval", "rejected", ["rejected"]),
    ("reject", "in_review", "rejected", ["rejected"]),
    ("submit_payout", "approved", "processing", ["payout_sent"]),
    ("retry", "failed", "processing", ["payout_sent"]),
    ("confirm", "processing", "refunded", ["refunded"]),
    ("fail", "processing", "failed", ["payout_failed"]),
    ("reverse", "refunded", "failed", ["payout_failed"]),
    ("reconcile", "refunded", "reconciled", ["feedback_request"]),
    ("hold", "in_review", "on_hold", []),
    ("switch_channel", "failed", "awaiting_customer", ["info_needed"]),
])
def test_event_mapping(transition, from_state, to_state, expected):
    assert events_for(transition, from_state, to_state) == expected


def test_transition_sends_email_and_in_app_after_commit(status_ticket, role_users,
                                                        django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="in_review", customer_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket, name="approve", actor=Actor.staff(role_users["reviewer"]))
    rows = Delivery.objects.filter(ticket=ticket, event=Event.APPROVED)
    assert {d.channel: d.status for d in rows} == {"email": "sent", "in_app": "sent"}
    # Approval hands the refund to payout at once (its own event), and the simulated gateway's
    # default sandbox confirms synchronously (a third event).
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [f"Your refund {ticket.reference} is approved", f"Your refund {ticket.reference} is on its way",
                        f"Your refund {ticket.reference} is complete"]
    message = mail.outbox[0]
    assert ticket.reference in message.subject and status_url(ticket) in message.body
    html = message.alternatives[0][0]
    assert "<html" in html and status_url(ticket) in html


def test_nothing_is_sent_when_the_transaction_rolls_back(status_ticket, role_users,
                                                         django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="in_review")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        perform_transition(ticket=ticket, name="approve", actor=Actor.staff(role_users["reviewer"]))
    assert callbacks  # effects wait for the commit …
    assert not Delivery.objects.exists() and not mail.outbox  # … and nothing went out before it


def test_once_per_event_even_if_jobs_run_twice(status_ticket, role_users, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="in_review")
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket, name="approve", actor=Actor.staff(role_users["reviewer"]))
    first = set(Delivery.objects.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        jobs.notify_transition(ticket.pk, Event.APPROVED, "approve", "approved")  # the job again
    with django_capture_on_commit_callbacks(execute=True):
        for delivery_id in first:
            jobs.send_delivery(delivery_id)  # and every send job again
    assert set(Delivery.objects.values_list("pk", flat=True)) == first
    assert len(mail.outbox) == 3  # approved + payout sent + refunded (sandbox confirms at once), each once


def test_a_new_occurrence_of_the_same_event_is_sent(status_ticket, role_users, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="in_review")
    reviewer = Actor.staff(role_users["reviewer"])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            perform_transition(ticket=ticket, name="request_info", actor=reviewer, needed=["customer_phone"])
        with django_capture_on_commit_callbacks(execute=True):
            perform_transition(ticket=ticket, name="provide_info", actor=Actor.customer(ticket),
                               data={"customer_phone": "+8613800138000"})
    assert Delivery.objects.filter(event=Event.INFO_NEEDED, channel="email").count() == 2


def test_retry_after_a_failing_backend(status_ticket, monkeypatch, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="approved")
    calls = []

    def flaky(delivery):
        calls.append(delivery.pk)
        if len(calls) == 1:
            raise ConnectionError("SMTP down")
        mail.send_mail(delivery.subject, delivery.body, None, [delivery.recipient])

    monkeypatch.setitem(channels.SENDERS, "email", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.APPROVED, "test:1")
    delivery = Delivery.objects.get(ticket=ticket, channel="email")
    assert delivery.status == DeliveryStatus.RETRYING
    assert delivery.attempts == 1 and "SMTP down" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()
    assert services.retry_due() == 0  # not due yet
    assert services.send_delivery(delivery.pk) == "not due"
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert services.retry_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 2 and delivery.last_error == ""
    assert len(mail.outbox) == 1


def test_backoff_grows_and_gives_up(status_ticket, monkeypatch, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    assert services.backoff(1) < services.backoff(2) < services.backoff(3)
    ticket, _ = status_ticket(state="approved")

    def down(delivery):
        raise OSError("unreachable")

    monkeypatch.setitem(channels.SENDERS, "email", down)
    services.notify(ticket.pk, Event.APPROVED, "test:2", only_channels=["email"])
    delivery = Delivery.objects.get(ticket=ticket)
    for _ in range(3):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=None)
        services.send_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3


def test_customer_language_selects_the_template(status_ticket, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="approved", customer_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.APPROVED, "t")
    assert mail.outbox[0].subject.startswith("您的退款")
    assert Delivery.objects.get(ticket=ticket, channel="email").language == "zh-hans"


def test_falls_back_to_english_without_a_template(status_ticket, django_capture_on_commit_callbacks):
    NotificationTemplate.objects.filter(event=Event.APPROVED, language="zh-hans").update(active=False)
    ticket, _ = status_ticket(state="approved", customer_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.APPROVED, "t")
    assert mail.outbox[0].subject.startswith("Your refund")


@override_settings(NOTIFICATIONS_SMS_BACKEND=SMS_LOCMEM)
def test_opt_out_is_honoured(status_ticket, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="processing", customer_email="Opt@Example.com", customer_phone="+8613800138000")
    services.opt_out(channel="email", address="opt@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.PAYOUT_FAILED, "t")
    email = Delivery.objects.get(ticket=ticket, channel="email")
    assert email.status == DeliveryStatus.SKIPPED and email.last_error == "opted out"
    assert not mail.outbox
    assert len(LocmemSmsBackend.outbox) == 1  # SMS was not opted out
    assert OptOut.objects.count() == 1


@override_settings(NOTIFICATIONS_SMS_BACKEND=SMS_LOCMEM)
def test_sms_for_events_that_need_it(status_ticket, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="processing", customer_phone="+8613800138000", customer_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.PAYOUT_SENT, "t")
        services.notify(ticket.pk, Event.APPROVED, "t")  # no SMS for this one
    assert [m["to"] for m in LocmemSmsBackend.outbox] == ["+8613800138000"]
    assert "已发出" in LocmemSmsBackend.outbox[0]["text"]


def test_file_sms_backend(tmp_path):
    from notifications.channels.sms import FileSmsBackend

    FileSmsBackend(str(tmp_path / "sms.jsonl")).send("+15550100", "你好")
    assert "你好" in (tmp_path / "sms.jsonl").read_text(encoding="utf-8")


def test_in_app_messages_show_on_the_status_page(client, status_ticket, django_capture_on_commit_callbacks):
    ticket, token = status_ticket(state="processing", customer_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.PAYOUT_SENT, "t")
    body = client.get(f"/status/{token}/").content.decode()
    assert f"Refund {ticket.reference} sent" in body


def test_payout_sent_carries_the_expected_arrival(status_ticket, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="processing", customer_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.PAYOUT_SENT, "t")
    assert "Expected arrival:" in mail.outbox[0].body


def test_notify_staff_once(make_user, status_ticket, django_capture_on_commit_callbacks):
    make_user("ops_lead", username="lead1")
    make_user("ops_lead", "finance", username="lead2")
    make_user("agent", username="agent1")
    ticket, _ = status_ticket()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            services.notify_staff(["ops_lead", "finance"], "SLA breached", "Review is late.", ticket=ticket)
    assert sorted(m.to[0] for m in mail.outbox) == ["lead1@staff.example.com", "lead2@staff.example.com"]
    assert Delivery.objects.filter(event=Event.STAFF, status="sent").count() == 2
    with django_capture_on_commit_callbacks(execute=True):
        services.notify_staff("ops_lead", "SLA breached", "Review is late.", ticket=ticket, key="visit-2")
    assert len(mail.outbox) == 4


def test_delay_apology_once_per_ticket(status_ticket, django_capture_on_commit_callbacks):
    ticket, _ = status_ticket(state="in_review", customer_language="en", sla_status="breached")
    status_ticket(state="in_review", sla_status="on_track")
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            jobs.send_delay_apologies()
    assert [m.subject for m in mail.outbox] == [f"Refund {ticket.reference} is taking longer than planned"]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_template_renders_in_both_languages(status_ticket, language):
    from notifications.render import render, ticket_context

    ticket, _ = status_ticket(state="awaiting_customer", info_requested=["iban"], customer_language=language)
    context = ticket_context(ticket, language)
    rows = NotificationTemplate.objects.filter(language=language)
    assert rows.count() == 28
    for template in rows:
        rendered = render(template, context, language)
        assert ticket.reference in rendered.body + rendered.subject, template
        assert "{{" not in rendered.body and "{%" not in rendered.body
        if template.channel == "email":
            assert rendered.subject and rendered.body_html
        if language == "zh-hans":
            assert any("\u4e00" <= ch <= "\u9fff" for ch in rendered.body), template


def test_html_email_escapes_customer_data(status_ticket):
    from types import SimpleNamespace

    from notifications.render import render

    template = SimpleNamespace(channel="email", subject="x", body="{{ needed }}", body_html="<p>{{ needed }}</p>")
    rendered = render(template, {"needed": "<script>x</script>"}, "en")
    assert "<script>" not in rendered.body_html and "&lt;script&gt;" in rendered.body_html


def test_approval_requested_and_hold_notify_staff(status_ticket, make_user, django_capture_on_commit_callbacks):
    from decimal import Decimal

    reviewer = make_user("reviewer", username="rev")
    make_user("ops_lead", username="lead")
    make_user("finance", username="fin")
    make_user("risk", username="risky")
    ticket, _ = status_ticket(state="in_review", amount=Decimal("1500.00"), payment__amount=Decimal("2000.00"))
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=ticket, name="request_approval", actor=Actor.staff(reviewer))
    staff_mail = [m for m in mail.outbox if "approval is requested" in m.subject]
    assert sorted(m.to[0] for m in staff_mail) == ["fin@staff.example.com", "lead@staff.example.com"]
    other, _ = status_ticket(state="in_review")
    with django_capture_on_commit_callbacks(execute=True):
        perform_transition(ticket=other, name="hold", actor=Actor.staff(make_user("risk", username="risk2")),
                           hold_type="fraud", comment="Velocity rule")
    held = [m for m in mail.outbox if "hold" in m.subject]
    assert sorted(m.to[0] for m in held) == ["risk2@staff.example.com", "risky@staff.example.com"]
    assert "Velocity rule" in held[0].body
