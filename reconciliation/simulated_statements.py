"""The simulated gateway's settlement files: a day's statement for a channel, written from our
succeeded PayoutAttempts in that channel's own file format, plus the matching ledger export —
with optional injected discrepancies so demos and tests see every exception type.

`build_rows` gives the normalised rows; `render(format, rows)` writes them as a file.
"""

import csv
import io
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from refunds.money import currency_exponent, to_minor_units

CHANNEL_FORMATS = {"card": "stripe", "paypal": "paypal_stl", "alipay": "alipay", "wechat_pay": "wechat_pay"}
DISCREPANCIES = ("missing", "amount_mismatch", "duplicate", "unexpected", "currency_mismatch", "fee_difference",
                 "reversal", "chargeback")


@dataclass
class Row:
    external_id: str
    line_type: str
    gross: int  # signed minor units, merchant's view (refund < 0)
    fee: int
    currency: str
    at: datetime
    gateway_refund_id: str = ""
    reference: str = ""
    payment_ref: str = ""


def _decimal(minor: int, currency: str) -> str:
    return str(Decimal(minor).scaleb(-currency_exponent(currency)))


def attempts_for(channel, day=None, *, before=None):
    """Succeeded payout attempts of a channel (optionally confirmed on one day, or before an instant:
    refunds confirmed later are not on the gateway's files yet), with ticket and payment."""
    from refunds.models import PayoutAttempt

    qs = PayoutAttempt.objects.filter(channel=channel, status="succeeded").exclude(gateway_refund_id="")
    if before is not None:
        qs = qs.filter(updated_at__lt=before)
    if day is not None:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        qs = qs.filter(updated_at__gte=start, updated_at__lt=start + timedelta(days=1))
    return qs.select_related("ticket__payment").order_by("pk")


def build_rows(attempts, *, discrepancies: dict | None = None, seed: int = 7) -> tuple[list[Row], list[Row], dict]:
    """(statement rows, ledger rows, injected) where injected maps a discrepancy to the affected refs."""
    rng = random.Random(seed)
    wanted = {k: int(v) for k, v in (discrepancies or {}).items() if k in DISCREPANCIES and v}
    statement: list[Row] = []
    ledger: list[Row] = []
    injected: dict[str, list[str]] = {k: [] for k in wanted}
    attempts = list(attempts)
    pool = list(range(len(attempts)))
    rng.shuffle(pool)
    chosen: dict[int, str] = {}
    for kind in ("missing", "amount_mismatch", "duplicate", "currency_mismatch", "fee_difference", "reversal",
                 "chargeback"):
        for _ in range(wanted.get(kind, 0)):
            if pool:
                chosen[pool.pop()] = kind
    for index, attempt in enumerate(attempts):
        ticket = attempt.ticket
        cur = attempt.currency
        amount = to_minor_units(Decimal(attempt.amount), cur)
        at = attempt.updated_at + timedelta(hours=1)
        base = Row(external_id=f"txn_{attempt.gateway_refund_id}", line_type="refund", gross=-amount, fee=0,
                   currency=cur, at=at, gateway_refund_id=attempt.gateway_refund_id, reference=ticket.reference,
                   payment_ref=ticket.payment.payment_ref)
        ledger.append(replace(base, external_id=f"je_{attempt.pk}"))
        kind = chosen.get(index)
        if kind:
            injected[kind].append(ticket.reference)
        if kind == "missing":
            continue
        if kind == "amount_mismatch":
            base.gross -= 500 if amount > 1000 else 100
        elif kind == "currency_mismatch":
            base.currency = "EUR" if cur != "EUR" else "USD"
        elif kind == "fee_difference":
            base.fee = -30
            base.gross += 30
        statement.append(base)
        if kind == "duplicate":
            statement.append(replace(base, external_id=base.external_id + "_dup"))
        elif kind == "reversal":
            statement.append(replace(base, external_id=base.external_id + "_rev", line_type="reversal",
                                     gross=amount, at=at + timedelta(hours=2)))
        elif kind == "chargeback":
            statement.append(replace(base, external_id=f"dp_{attempt.pk}", line_type="chargeback",
                                     gateway_refund_id="", gross=-amount, at=at + timedelta(hours=3)))
    day_at = attempts[0].updated_at if attempts else datetime.now(UTC)
    for n in range(wanted.get("unexpected", 0)):
        ref = f"re_unexpected_{seed}_{n}"
        statement.append(Row(external_id=f"txn_{ref}", line_type="refund", gross=-(9_000_000 + 7 * n), fee=0,
                             currency=attempts[0].currency if attempts else "USD", at=day_at,
                             gateway_refund_id=ref, reference="", payment_ref=f"pay_unknown_{n}"))
        injected["unexpected"].append(ref)
    return statement, ledger, injected


# --- Writers, one per format ------------------------------------------------------------------------

def render(format: str, rows: list[Row]) -> bytes:
    return WRITERS[format](rows)


def _csv(header, body) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue()


STRIPE_TYPES = {"refund": "refund", "reversal": "refund_failure", "chargeback": "adjustment", "fee": "stripe_fee",
                "payout": "payout", "other": "charge"}


def write_stripe(rows) -> bytes:
    header = ["id", "type", "source", "amount", "fee", "net", "currency", "created", "description",
              "payment_intent", "refund_reference"]
    body = [[r.external_id, STRIPE_TYPES[r.line_type], r.gateway_refund_id, _decimal(r.gross, r.currency),
             _decimal(-r.fee, r.currency), _decimal(r.gross + r.fee, r.currency), r.currency.lower(),
             r.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), "", r.payment_ref, r.reference] for r in rows]
    return _csv(header, body).encode()


PAYPAL_CODES = {"refund": "T1107", "reversal": "T1108", "chargeback": "T1201", "payout": "T0400", "other": "T0006",
                "fee": "T0106"}


def _refund_id(r: Row) -> str:
    """Formats whose line id *is* the refund id: an injected copy gets its own id, like a real second refund."""
    if r.line_type == "refund" and r.external_id == f"txn_{r.gateway_refund_id}":
        return r.gateway_refund_id
    return r.external_id


def write_paypal(rows) -> bytes:
    header = ["CH", "Transaction ID", "Invoice ID", "PayPal Reference ID", "PayPal Reference ID Type",
              "Transaction Event Code", "Transaction Initiation Date", "Transaction Completion Date",
              "Transaction Debit or Credit", "Gross Transaction Amount", "Gross Transaction Currency",
              "Fee Debit or Credit", "Fee Amount", "Fee Currency", "Custom Field", "Consumer ID"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["RH", datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S +0000"), "R", "MERCHANT", "001"])
    writer.writerow(["FH", "01"])
    writer.writerow(["SH", "", "", "MERCHANT", ""])
    writer.writerow(header)
    for r in rows:
        stamp = r.at.astimezone(UTC).strftime("%Y/%m/%d %H:%M:%S +0000")
        writer.writerow(["SB", _refund_id(r), r.reference,
                         r.payment_ref, "TXN", PAYPAL_CODES[r.line_type], stamp, stamp,
                         "CR" if r.gross >= 0 else "DR", abs(r.gross), r.currency, "CR" if r.fee >= 0 else "DR",
                         abs(r.fee), r.currency, "", ""])
    writer.writerow(["SF", len(rows)])
    writer.writerow(["SC", len(rows)])
    writer.writerow(["RF", len(rows)])
    writer.writerow(["RC", len(rows)])
    writer.writerow(["FF", len(rows)])
    return out.getvalue().encode()


ALIPAY_TYPES = {"refund": "交易退款", "reversal": "退票", "chargeback": "其他", "fee": "服务费", "payout": "提现",
                "other": "在线支付"}
CST = timedelta(hours=8)


def write_alipay(rows) -> bytes:
    header = ["账务流水号", "业务流水号", "商户订单号", "商品名称", "发生时间", "对方账号", "收入金额（+元）",
              "支出金额（-元）", "账户余额（元）", "交易渠道", "业务类型", "备注"]
    lines = ["#支付宝账务明细查询", "#账号：[20880000000000000156]",
             "#起始日期：[2026年01月01日 00:00:00]   终止日期：[2026年01月02日 00:00:00]"]
    body = []
    for r in rows:
        local = (r.at.astimezone(UTC) + CST).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
        income = _decimal(r.gross, "CNY") if r.gross > 0 else ""
        expense = _decimal(-r.gross, "CNY") if r.gross < 0 else ""
        body.append([r.external_id + "\t", (r.gateway_refund_id or r.external_id) + "\t", r.reference + "\t",
                     "退款", local, "buyer@example.com", income, expense, "0.00", "支付宝", ALIPAY_TYPES[r.line_type],
                     r.payment_ref])
    text = "\n".join(lines) + "\n" + _csv(header, body)
    text += "#-----------------------------------------账务明细列表结束------------------------------------\n"
    text += f"#支出合计：{len(rows)}笔\n#导出时间：[2026年01月02日 08:00:00]\n"
    return text.encode("gbk")


def write_wechat(rows) -> bytes:
    header = ["交易时间", "公众账号ID", "商户号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态",
              "货币种类", "应结订单金额", "微信退款单号", "商户退款单号", "退款金额", "退款类型", "退款状态", "手续费"]
    body = []
    for r in rows:
        local = (r.at.astimezone(UTC) + CST).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S")
        if r.line_type == "refund":
            values = [local, "wx0000", "1900000109", r.payment_ref, "SO-" + r.payment_ref, "oUser", "JSAPI", "REFUND",
                      r.currency, "0.00", _refund_id(r), r.reference, _decimal(-r.gross, r.currency),
                      "ORIGINAL", "SUCCESS", _decimal(r.fee, r.currency)]
        else:
            values = [local, "wx0000", "1900000109", r.payment_ref or r.external_id, "", "oUser", "JSAPI", "SUCCESS",
                      r.currency, _decimal(r.gross, r.currency), "0", "0", "0.00", "", "", "0.00"]
        body.append(["`" + str(v) for v in values])
    total = sum(-r.gross for r in rows if r.line_type == "refund")
    text = _csv(header, body)
    text += "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额\n"
    text += f"`{len(rows)},`0.00,`{_decimal(total, 'CNY')},`0.00,`0.00\n"
    return text.encode("utf-8")


def write_ledger(rows) -> bytes:
    header = ["entry_id", "booked_at", "account", "reference", "gateway_refund_id", "payment_ref", "type",
              "currency", "debit", "credit", "memo"]
    body = [[r.external_id, r.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), "2100-refunds-payable", r.reference,
             r.gateway_refund_id, r.payment_ref, r.line_type, r.currency,
             _decimal(r.gross, r.currency) if r.gross > 0 else "",
             _decimal(-r.gross, r.currency) if r.gross < 0 else "", "refund paid"] for r in rows]
    return _csv(header, body).encode()


WRITERS = {"stripe": write_stripe, "paypal_stl": write_paypal, "alipay": write_alipay, "wechat_pay": write_wechat,
           "ledger": write_ledger}


def statement_for(channel, day=None, *, discrepancies: dict | None = None, seed: int = 7, before=None):
    """(statement bytes, format, ledger bytes, injected) for one channel and day."""
    fmt = CHANNEL_FORMATS.get(channel.code, "stripe")
    statement, ledger, injected = build_rows(attempts_for(channel, day, before=before), discrepancies=discrepancies,
                                             seed=seed)
    return render(fmt, statement), fmt, render("ledger", ledger), injected
