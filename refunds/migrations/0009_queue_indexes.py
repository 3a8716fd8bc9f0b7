"""Indexes that let the ops queues sort and search with index scans at a million tickets.

Raw SQL (expression and mixed-direction indexes), kept out of the model state so it merges cleanly.
"""

from django.db import migrations

INDEXES = [
    ("ticket_due_id", "(stage_due_at, id)"),
    ("ticket_statutory_id", "(statutory_due_at, id)"),
    ("ticket_priority_due", "(priority DESC, stage_due_at, id)"),
    ("ticket_reference_upper", "(UPPER(reference))"),
    ("ticket_email_upper", "(UPPER(customer_email))"),
]


def forwards_sql() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {name} ON refunds_refundticket {columns}" for name, columns in INDEXES]


def backwards_sql() -> list[str]:
    return [f"DROP INDEX IF EXISTS {name}" for name, _ in INDEXES]


class Migration(migrations.Migration):
    dependencies = [('refunds', '0008_sla_clocks')]

    operations = [migrations.RunSQL(forwards_sql(), backwards_sql())]
