"""Finance ledger export (CSV): one journal line per refund paid, debit/credit in major units.

Columns: entry_id, booked_at, account, reference, gateway_refund_id, payment_ref, type, currency,
debit, credit, memo. A refund paid out is a credit to cash (money out: negative); a correction the
other way is a debit.
"""

from .base import LineError, ParsedLine, currency, headered_csv, minor, run_rows, when

REQUIRED = ["entry_id", "booked_at", "reference", "currency", "debit", "credit"]
TYPES = {"refund", "reversal", "chargeback", "fee", "payout", "other"}


def parse(data: bytes, **options):
    rows, table = headered_csv(data, REQUIRED)
    if table is None:
        return rows
    header, get = table.header, table.get

    def parse_row(line_no, row):
        if not table.has_data(row):
            return None
        cur = currency(get(row, "currency"))
        line_type = get(row, "type") or "refund"
        if line_type not in TYPES:
            raise LineError(f"unknown type {line_type!r}")
        gross = minor(get(row, "debit"), cur, required=False) - minor(get(row, "credit"), cur, required=False)
        return ParsedLine(
            line_no=line_no, external_id=get(row, "entry_id"), line_type=line_type, gross=gross, fee=0,
            currency=cur, booked_at=when(get(row, "booked_at")), reference=get(row, "reference"),
            gateway_refund_id=get(row, "gateway_refund_id"), payment_ref=get(row, "payment_ref"),
            raw=row,
        )

    return run_rows(rows, parse_row, header=header)
