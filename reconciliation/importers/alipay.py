"""Alipay account bill (账务明细) as downloaded from the merchant portal: GBK text, '#' comment lines
before and after the table (title, account, period, "end of list", totals), fields padded with
tabs. Income and expense are separate columns in yuan.
"""

from .base import LineError, ParsedLine, csv_rows, decode, header_index, minor, run_rows, when

TYPES = {"交易退款": "refund", "退款": "refund", "退票": "reversal", "退款退票": "reversal",
         "服务费": "fee", "提现": "payout", "在线支付": "other", "交易付款": "other"}
REQUIRED = ["账务流水号", "业务流水号", "商户订单号", "发生时间", "收入金额（+元）", "支出金额（-元）", "业务类型"]


def parse(data: bytes, **options):
    text = decode(data, options.get("encoding") or "gbk")
    state = {"col": None, "header": None}

    def get(row, name):
        i = state["col"].get(name)
        return row[i].strip().strip("\t").strip() if i is not None and i < len(row) else ""

    def parse_row(line_no, row):
        if not row or not any(cell.strip() for cell in row):
            return None
        if row[0].lstrip().startswith("#"):
            return None  # comment, "end of list" and summary lines
        if state["col"] is None:
            state["col"] = header_index([c.strip() for c in row], REQUIRED, line_no)
            state["header"] = [c.strip() for c in row]
            return None
        if len(row) < len(state["header"]):
            raise LineError(f"expected {len(state['header'])} columns, found {len(row)}")
        income = minor(get(row, "收入金额（+元）"), "CNY", required=False)
        expense = minor(get(row, "支出金额（-元）"), "CNY", required=False)
        kind = get(row, "业务类型")
        line_type = TYPES.get(kind, "other")
        return ParsedLine(
            line_no=line_no, external_id=get(row, "账务流水号"), line_type=line_type,
            gross=income - abs(expense), fee=0, currency="CNY", booked_at=_cst(get(row, "发生时间")),
            reference=get(row, "商户订单号"),
            gateway_refund_id=get(row, "业务流水号") if line_type in ("refund", "reversal") else "",
            payment_ref=get(row, "备注") if "备注" in state["col"] else "",
            raw=[c.strip() for c in row],
        )

    missing_header = "no header row found"
    return run_rows(csv_rows(text), parse_row,
                    on_end=lambda: None if state["col"] is not None else missing_header,
                    header=lambda: state["header"] or [])


def _cst(value: str):
    """Alipay times are China Standard Time (UTC+8) without an offset."""
    from datetime import timedelta, timezone

    parsed = when(value)
    return parsed.replace(tzinfo=timezone(timedelta(hours=8)))
