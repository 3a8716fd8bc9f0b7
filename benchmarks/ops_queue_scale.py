"""Ops queue and ticket page at scale on PostgreSQL (SPEC §14: 1,000,000 tickets, 100,000 open).

`python -m benchmarks.ops_queue_scale` (env: BENCH_TICKETS, default 1,000,000; OPS_BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/refundloop_ops_bench, created and dropped here).
Prints median server time and query count per page: the page goes through the full Django stack
(test client, middleware, templates), so figures include rendering.
"""

import os
import random
import statistics
import time
from datetime import timedelta
from decimal import Decimal

DB_URL = os.environ.get("OPS_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/refundloop_ops_bench")


def _recreate_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


OPEN_MIX = [("in_review", 40), ("pending_approval", 10), ("awaiting_customer", 15), ("on_hold", 5),
            ("approved", 5), ("processing", 15), ("failed", 10)]
CLOSED_MIX = [("reconciled", 80), ("rejected", 12), ("cancelled", 8)]


def _populate(total: int, open_count: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from refunds.models import Channel, Payment, Policy, RefundTicket
    from refunds.models.tickets import new_reference

    rng = random.Random(7)
    card, policy, now = Channel.objects.get(code="card"), Policy.objects.get(is_default=True), timezone.now()
    payments = Payment.objects.bulk_create(
        Payment(payment_ref=f"pay_{i:07d}", order_ref=f"SO-{i:07d}", channel=card, amount=Decimal("500.00"),
                currency="USD", captured_at=now - timedelta(days=3), customer_email=f"c{i}@example.com",
                region=rng.choice(["US", "DE", "CN"])) for i in range(2000))
    open_states = [s for s, w in OPEN_MIX for _ in range(w)]
    closed_states = [s for s, w in CLOSED_MIX for _ in range(w)]
    batch, made = [], 0
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE refunds_refundticket SET (autovacuum_enabled = false)")
    for i in range(total):
        is_open = i < open_count
        payment = payments[i % len(payments)]
        ticket = RefundTicket(
            reference=new_reference(), payment=payment, amount=Decimal("20.00"), currency="USD", reason="damaged",
            customer_email=f"t{i}@example.com", region=payment.region, channel=card, policy=policy,
            refund_to={"method": "original"},
            stage_due_at=now + timedelta(minutes=rng.randint(-600, 3000)) if is_open else None,
            due_at=now + timedelta(minutes=rng.randint(0, 9000)) if is_open else None,
            sla_status=(rng.choices(["on_track", "at_risk", "breached"], [85, 10, 5])[0] if is_open else "on_track"),
        )
        ticket.__dict__["state"] = rng.choice(open_states if is_open else closed_states)
        batch.append(ticket)
        if len(batch) == 10000:
            RefundTicket.objects.bulk_create(batch)
            made += len(batch)
            batch = []
    if batch:
        RefundTicket.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(client, url: str, runs: int = 15) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return {"min_ms": round(min(times), 1), "median_ms": round(statistics.median(times), 1),
            "p90_ms": round(sorted(times)[int(runs * 0.9)], 1), "queries": len(queries)}


def main() -> dict:
    total = int(os.environ.get("BENCH_TICKETS", "1000000"))
    open_count = total // 10
    _recreate_database()
    os.environ["DATABASE_URL"] = DB_URL
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    from refunds.models import RefundTicket
    from tests.factories import UserFactory

    started = time.perf_counter()
    _populate(total, open_count)
    populate_s = round(time.perf_counter() - started, 1)
    reviewer = UserFactory(username="reviewer", roles=["reviewer"])
    client = Client()
    client.force_login(reviewer)
    sample = RefundTicket.objects.filter(state="in_review").order_by("pk").first()
    results = {"tickets": total, "open": open_count, "populate_seconds": populate_s}
    pages = {
        "team queue (in_review, sort by due)": "/ops/",
        "at risk": "/ops/?queue=at_risk",
        "breached, region filter": "/ops/?queue=breached&region=US",
        "all, page 20": "/ops/?queue=all&page=20",
        "search by reference": f"/ops/?queue=all&q={sample.reference}",
        "ticket page": f"/ops/tickets/{sample.reference}/",
    }
    for label, url in pages.items():
        results[label] = _measure(client, url)
        print(label, results[label], flush=True)
    from django.db import connections

    connections.close_all()
    _drop_database()
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
