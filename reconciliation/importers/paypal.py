"""PayPal Settlement Report (STL): typed rows ("RH", "FH", "SH", "CH" column header, "SB" body,
"SF"/"SC"/"RF"/"RC"/"FF" footers). Amounts are unsigned integers in minor units with a separate
CR/DR column, for the gross and for the fee.

Event codes: T1107 refund, T1106/T1201/T1202 chargeback or reversal by PayPal, T1108 refund reversal
(fee reversal on refunds is folded into the refund line), T0xxx payments, T04xx payouts.
"""

from .base import LineError, ParsedLine, csv_rows, currency, decode, integer, run_rows, when

TYPES = {"T1107": "refund", "T1108": "reversal", "T1106": "chargeback", "T1201": "chargeback",
         "T1202": "chargeback", "T0400": "payout", "T0401": "payout", "T0403": "payout"}
REQUIRED = ["Transaction ID", "Invoice ID", "PayPal Reference ID", "Transaction Event Code",
            "Transaction Initiation Date", "Transaction Debit or Credit", "Gross Transaction Amount",
            "Gross Transaction Currency", "Fee Debit or Credit", "Fee Amount"]


def _signed(amount: str, direction: str) -> int:
    value = integer(amount)
    if value < 0:
        raise LineError("STL amounts are unsigned; found a sign")
    direction = direction.strip().upper()
    if direction not in ("CR", "DR"):
        raise LineError(f"debit/credit must be CR or DR, found {direction!r}")
    return value if direction == "CR" else -value


def parse(data: bytes, **options):
    state = {"col": None, "header": None}

    def get(row, name):
        i = state["col"].get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    def parse_row(line_no, row):
        if not row or not any(cell.strip() for cell in row):
            return None
        tag = row[0].strip().strip('"')
        if tag == "CH":
            from .base import header_index

            state["col"] = header_index(row, REQUIRED, line_no)
            state["header"] = [h.strip() for h in row]
            return None
        if tag != "SB":
            return None  # report/file/section headers and footers
        if state["col"] is None:
            raise LineError("body row before the column header (CH) row")
        if len(row) != len(state["header"]):
            raise LineError(f"expected {len(state['header'])} columns, found {len(row)}")
        cur = currency(get(row, "Gross Transaction Currency"))
        code = get(row, "Transaction Event Code")
        line_type = TYPES.get(code, "fee" if code.startswith("T01") else "other")
        gross = _signed(get(row, "Gross Transaction Amount"), get(row, "Transaction Debit or Credit"))
        fee = _signed(get(row, "Fee Amount") or "0", get(row, "Fee Debit or Credit") or "DR")
        return ParsedLine(
            line_no=line_no, external_id=get(row, "Transaction ID"), line_type=line_type, gross=gross, fee=fee,
            currency=cur, booked_at=when(get(row, "Transaction Initiation Date").replace(" +0000", "")),
            reference=get(row, "Invoice ID"),
            gateway_refund_id=get(row, "Transaction ID") if line_type in ("refund", "reversal") else "",
            payment_ref=get(row, "PayPal Reference ID"), raw=row,
        )

    missing_header = "no column header (CH) row found"
    return run_rows(csv_rows(decode(data, "utf-8-sig")), parse_row,
                    on_end=lambda: None if state["col"] is not None else missing_header,
                    header=lambda: state["header"] or [])
