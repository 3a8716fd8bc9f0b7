"""Templates are editable in admin with a preview; broken templates are refused, not a 500."""

import pytest

from notifications.models import NotificationTemplate


@pytest.fixture
def admin_client(client, django_user_model, defaults):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(user)
    return client


def test_template_change_page_shows_a_preview(admin_client):
    template = NotificationTemplate.objects.get(event="payout_sent", channel="email", language="zh-hans")
    response = admin_client.get(f"/admin/notifications/notificationtemplate/{template.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "RF-7K2M9Q4X1B" in body and "预计到账" in body and "<iframe sandbox" in body


def test_broken_template_is_refused(admin_client):
    template = NotificationTemplate.objects.get(event="approved", channel="sms", language="en")
    response = admin_client.post(f"/admin/notifications/notificationtemplate/{template.pk}/change/", {
        "event": "approved", "channel": "sms", "language": "en", "active": "on", "subject": "",
        "body": "{% if %}", "body_html": "",
    })
    assert response.status_code == 200
    assert "Template error" in response.content.decode()
    template.refresh_from_db()
    assert template.body != "{% if %}"


def test_delivery_log_lists(admin_client, status_ticket, django_capture_on_commit_callbacks):
    from notifications.services import notify

    ticket, _ = status_ticket(state="approved")
    with django_capture_on_commit_callbacks(execute=True):
        notify(ticket.pk, "approved", "admin")
    response = admin_client.get("/admin/notifications/delivery/")
    assert response.status_code == 200 and ticket.reference in response.content.decode()
