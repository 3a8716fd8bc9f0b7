"""Stripe balance transactions export (CSV): one row per balance movement, decimals in major units.

Columns used: id, type, source, amount, fee, net, currency, created, payment_intent, refund_reference
(our reference, from refund metadata). Refunds are negative amounts; `fee` is what Stripe kept
(shown positive, so it is subtracted).
"""

from .base import ParsedLine, currency, headered_csv, minor, run_rows, when

TYPES = {
    "refund": "refund", "payment_refund": "refund",
    "refund_failure": "reversal", "payment_failure_refund": "reversal",
    "adjustment": "chargeback", "dispute": "chargeback",
    "payout": "payout", "stripe_fee": "fee", "application_fee": "fee",
}
REQUIRED = ["id", "type", "amount", "fee", "currency", "created"]


def parse(data: bytes, **options):
    rows, table = headered_csv(data, REQUIRED)
    if table is None:
        return rows
    header, get = table.header, table.get

    def parse_row(line_no, row):
        if not table.has_data(row):
            return None
        cur = currency(get(row, "currency"))
        return _line(line_no, row, header, get, cur)

    return run_rows(rows, parse_row, header=header)


def _line(line_no, row, header, get, cur):
    line_type = TYPES.get(get(row, "type"), "other")
    return ParsedLine(
        line_no=line_no, external_id=get(row, "id"), line_type=line_type,
        gross=minor(get(row, "amount"), cur), fee=-abs(minor(get(row, "fee"), cur, required=False)),
        currency=cur, booked_at=when(get(row, "created")),
        reference=get(row, "refund_reference"),
        gateway_refund_id=get(row, "source") if line_type in ("refund", "reversal") else "",
        payment_ref=get(row, "payment_intent"), raw=row,
    )
