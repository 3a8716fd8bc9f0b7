"""Generic CSV through a ColumnMapping (the "data map" edited in admin)."""

from .base import (
    LineError,
    ParsedLine,
    RowStream,
    csv_rows,
    currency,
    decode,
    header_index,
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
    rows = csv_rows(decode(data, mapping.encoding or "utf-8-sig"), mapping.delimiter or ",")
    first = next(rows, None)
    if first is None:
        return RowStream.failed(1, "the file is empty")
    col = header_index(first[1], [c for c in cols.values() if c])
    header = [h.strip().lstrip("\ufeff") for h in first[1]]
    type_map = {str(k): v for k, v in (mapping.type_map or {}).items()}

    def get(row, target):
        name = cols.get(target)
        return row[col[name]].strip() if name and col[name] < len(row) else ""

    def amount(text, cur):
        return integer(text) if mapping.amounts_in_minor_units else minor(text, cur)

    def parse_row(line_no, row):
        if len(row) != len(header):
            if not row or not any(cell.strip() for cell in row):
                return None
            raise LineError(f"expected {len(header)} columns, found {len(row)}")
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
