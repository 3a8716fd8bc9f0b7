"""WeChat Pay transaction bill (交易账单): every field prefixed with a backtick (so spreadsheets keep
long ids as text), a header row, data rows, then a summary header ("总交易单数,…") and one summary
row. Amounts in yuan; refund rows carry 微信退款单号 / 商户退款单号 / 退款金额.
"""

from .base import LineError, ParsedLine, csv_rows, currency, decode, header_index, minor, run_rows, when

REQUIRED = ["交易时间", "微信订单号", "商户订单号", "交易状态", "货币种类", "微信退款单号", "商户退款单号",
            "退款金额", "应结订单金额", "手续费"]


def _clean(cell: str) -> str:
    cell = cell.strip()
    return cell[1:].strip() if cell.startswith("`") else cell


def parse(data: bytes, **options):
    text = decode(data, "utf-8-sig")
    state = {"col": None, "header": None, "summary": False}

    def get(row, name):
        i = state["col"].get(name)
        return _clean(row[i]) if i is not None and i < len(row) else ""

    def parse_row(line_no, row):
        if not row or not any(cell.strip() for cell in row):
            return None
        if state["summary"]:
            return None
        if state["col"] is None:
            state["col"] = header_index(row, REQUIRED, line_no)
            state["header"] = [_clean(c) for c in row]
            return None
        if _clean(row[0]).startswith("总交易单数"):
            state["summary"] = True  # trailing totals
            return None
        if len(row) != len(state["header"]):
            raise LineError(f"expected {len(state['header'])} columns, found {len(row)}")
        cur = currency({"CNY": "CNY", "": "CNY"}.get(get(row, "货币种类"), get(row, "货币种类")))
        status = get(row, "交易状态").upper()
        fee = minor(get(row, "手续费") or "0", cur)
        if status == "REFUND":
            refund_id = get(row, "微信退款单号")
            return ParsedLine(
                line_no=line_no, external_id=f"refund:{refund_id}", line_type="refund",
                gross=-abs(minor(get(row, "退款金额"), cur)), fee=-fee if fee > 0 else abs(fee), currency=cur,
                booked_at=_cst(get(row, "交易时间")), reference=get(row, "商户退款单号"),
                gateway_refund_id=refund_id, payment_ref=get(row, "微信订单号"),
                raw=[_clean(c) for c in row],
            )
        return ParsedLine(
            line_no=line_no, external_id=f"pay:{get(row, '微信订单号')}", line_type="other",
            gross=minor(get(row, "应结订单金额"), cur), fee=-abs(fee), currency=cur,
            booked_at=_cst(get(row, "交易时间")), reference=get(row, "商户订单号"),
            payment_ref=get(row, "微信订单号"),
            raw=[_clean(c) for c in row],
        )

    missing_header = "no header row found"
    return run_rows(csv_rows(text), parse_row,
                    on_end=lambda: None if state["col"] is not None else missing_header,
                    header=lambda: state["header"] or [])


def _cst(value: str):
    from datetime import timedelta, timezone

    return when(value).replace(tzinfo=timezone(timedelta(hours=8)))
