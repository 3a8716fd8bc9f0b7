"""Two schedulers firing the same escalation at once: exactly one event and one notification."""

import threading
from datetime import timedelta

import pytest
from django.db import connection

from refunds import sla
from refunds.models import SlaClock, SlaEvent

pytestmark = pytest.mark.django_db(transaction=True)


def test_parallel_checks_escalate_once(postgres, defaults, new_ticket, monkeypatch):
    ticket = new_ticket()
    due = SlaClock.objects.get(ticket=ticket, kind="stage", stage="review").due_at
    monkeypatch.setattr(sla, "_now", lambda: due + timedelta(minutes=1))
    sent = []
    monkeypatch.setattr(sla.notify, "staff", lambda **kw: sent.append(kw["subject"]))
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(sla.check_ticket(ticket.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r["breached"] for r in results) == [0, 1]
    assert SlaEvent.objects.filter(ticket=ticket, kind="breach", clock__kind="stage").count() == 1
    assert len([s for s in sent if "breached" in s and "Review" in s]) == 1
