"""The same send job through a real RQ queue (Redis): delivered twice, it sends once."""

import pytest
from django.core import mail

from notifications import services
from notifications.models import Delivery, Event
from refunds import jobqueue


@pytest.mark.services
def test_duplicate_rq_jobs_send_once(redis_url, settings, status_ticket, django_capture_on_commit_callbacks):
    import django_rq
    from rq import SimpleWorker

    settings.JOBS_INLINE = False
    queue = django_rq.get_queue("notifications")
    queue.empty()
    ticket, _ = status_ticket(state="approved", customer_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        services.notify(ticket.pk, Event.APPROVED, "rq", only_channels=["email"])
    delivery = Delivery.objects.get(ticket=ticket)
    with django_capture_on_commit_callbacks(execute=True):  # django-rq publishes on commit
        jobqueue.enqueue("notifications", services.SEND_JOB, delivery.pk)  # a duplicate, e.g. a redelivery
    assert queue.count == 2 and not mail.outbox
    django_rq.get_worker("notifications", worker_class=SimpleWorker).work(burst=True)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 1
    assert len(mail.outbox) == 1
