"""Generic CSV through a ColumnMapping (the "data map" edited in admin)."""

from .base import (
    ParsedLine,
    RowStream,
    currency,
    headered_csv,
    integer,
    minor,
    run_rows,
    when,
)

LINE_TYPES = {"refund", "reversal", "chargeback", "fee", "payout", "other"}


def parse(data: bytes, *, mapping=None, **options):
    if mapping is None:
        return RowStream.failed(0, "the generic CSV format needs a column mapping")
    cols = mapping.columns or {}
    missing = [name for name in ("external_id", "gross", "booked_at") if not cols.get(name)]
    if missing or not (cols.get("currency") or mapping.default_currency):
        missing += [] if cols.get("currency") or mapping.default_currency else ["currency"]
        return RowStream.failed(0, f"the mapping lacks: {', '.join(missing)}")
    rows, table = headered_csv(data, [c for c in cols.values() if c], encoding=mapping.encoding or "utf-8-sig",
                               delimiter=mapping.delimiter or ",")
    if table is None:
        return rows
    header = table.header
    type_map = {str(k): v for k, v in (mapping.type_map or {}).items()}

    def get(row, target):
        return table.get(row, cols.get(target))

    def amount(text, cur):
        return integer(text) if mapping.amounts_in_minor_units else minor(text, cur)

    def parse_row(line_no, row):
        if not table.has_data(row):
            return None
        cur = currency(get(row, "currency") or mapping.default_currency)
        raw_type = get(row, "type")
        default = raw_type if raw_type in LINE_TYPES else ("refund" if not raw_type else "other")
        line_type = type_map.get(raw_type, default)
        gross = amount(get(row, "gross"), cur)
        fee = amount(get(row, "fee"), cur) if get(row, "fee") else 0
        if mapping.refunds_positive and line_type == "refund":
            gross, fee = -abs(gross), -abs(fee)
        return ParsedLine(
            line_no=line_no, external_id=get(row, "external_id"), line_type=line_type, gross=gross, fee=fee,
            currency=cur, booked_at=when(get(row, "booked_at"), mapping.date_format),
            reference=get(row, "reference"), gateway_refund_id=get(row, "gateway_refund_id"),
            payment_ref=get(row, "payment_ref"), raw=row,
        )

    return run_rows(rows, parse_row, header=header)
