"""Each format parser on small synthetic files, encoding quirks, and all-or-nothing imports."""

import pytest

from reconciliation.importers import FORMATS
from reconciliation.models import ColumnMapping, ImportStatus, StatementImport, StatementLine
from reconciliation.services import import_file

pytestmark = pytest.mark.django_db


def parse(fmt, data, **options):
    stream = FORMATS[fmt].parse(data, **options)
    lines = list(stream)
    return lines, stream.errors


STRIPE = (
    b"id,type,source,amount,fee,net,currency,created,description,payment_intent,refund_reference\n"
    b"txn_1,refund,re_1,-20.50,0.00,-20.50,usd,2026-01-02 10:00:00,,pi_1,RF-AAAA\n"
    b"txn_2,charge,ch_2,100.00,3.20,96.80,usd,2026-01-02 11:00:00,,pi_2,\n"
    b"txn_3,refund_failure,re_1,20.50,0.00,20.50,usd,2026-01-03 10:00:00,,pi_1,RF-AAAA\n"
    b"txn_4,refund,re_4,-1000,0,-1000,jpy,2026-01-02T10:00:00Z,,pi_4,RF-JPY\n"
)


def test_stripe_balance_transactions():
    lines, errors = parse("stripe", STRIPE)
    assert errors == []
    refund, charge, failure, yen = lines
    assert (refund.line_type, refund.gross, refund.fee, refund.currency) == ("refund", -2050, 0, "USD")
    assert refund.gateway_refund_id == "re_1" and refund.reference == "RF-AAAA" and refund.payment_ref == "pi_1"
    assert (charge.line_type, charge.gross, charge.fee, charge.net) == ("other", 10000, -320, 9680)
    assert failure.line_type == "reversal" and failure.gross == 2050
    assert yen.gross == -1000 and yen.currency == "JPY"
    assert refund.raw[0] == "txn_1"


def test_adyen_settlement_details():
    header = ("Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,"
              "TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,"
              "Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),"
              "Interchange (NC),Payment Method Variant,Modification Merchant Reference,Batch Number\n")
    rows = ("Acme,AcmeEU,8815000000000001,SO-1,visa,2026-01-02 10:00:00,CET,Refunded,8825000000000009,EUR,"
            "15.00,,1,EUR,15.12,,0.12,,,,visa,RF-BBBB,42\n"
            "Acme,AcmeEU,8815000000000002,SO-2,visa,2026-01-02 11:00:00,CET,Chargeback,8825000000000010,EUR,"
            "30.00,,1,EUR,30.00,,,,,,visa,,42\n")
    lines, errors = parse("adyen", (header + rows).encode())
    assert errors == []
    refund, chargeback = lines
    assert (refund.line_type, refund.gross, refund.fee) == ("refund", -1500, -12)
    assert refund.gateway_refund_id == "8825000000000009" and refund.payment_ref == "8815000000000001"
    assert refund.reference == "RF-BBBB"
    assert chargeback.line_type == "chargeback" and chargeback.gross == -3000 and chargeback.gateway_refund_id == ""


PAYPAL = (
    '"RH","2026/01/03 02:00:00 +0000","R","MERCH","001"\n"FH","01"\n"SH","2026/01/02","2026/01/02","MERCH",""\n'
    '"CH","Transaction ID","Invoice ID","PayPal Reference ID","PayPal Reference ID Type","Transaction Event Code",'
    '"Transaction Initiation Date","Transaction Completion Date","Transaction Debit or Credit",'
    '"Gross Transaction Amount","Gross Transaction Currency","Fee Debit or Credit","Fee Amount","Fee Currency",'
    '"Custom Field","Consumer ID"\n'
    '"SB","7RF1","RF-CCCC","9PAY1","TXN","T1107","2026/01/02 10:00:00 +0000","2026/01/02 10:00:00 +0000","DR",'
    '"2599","USD","CR","45","USD","",""\n'
    '"SB","7PY2","SO-9","","","T0006","2026/01/02 11:00:00 +0000","2026/01/02 11:00:00 +0000","CR","10000","USD",'
    '"DR","320","USD","",""\n'
    '"SF","2"\n"SC","2"\n"RF","2"\n"RC","2"\n"FF","2"\n'
)


def test_paypal_stl_unsigned_minor_units_with_cr_dr():
    lines, errors = parse("paypal_stl", PAYPAL.encode())
    assert errors == []
    refund, payment = lines
    assert (refund.line_type, refund.gross, refund.fee) == ("refund", -2599, 45)
    assert refund.gateway_refund_id == "7RF1" and refund.reference == "RF-CCCC" and refund.payment_ref == "9PAY1"
    assert (payment.line_type, payment.gross, payment.fee) == ("other", 10000, -320)


def test_paypal_signed_amount_is_an_error():
    bad = PAYPAL.replace('"DR","2599"', '"DR","-2599"')
    lines, errors = parse("paypal_stl", bad.encode())
    assert errors and errors[0]["line"] == 5 and "unsigned" in errors[0]["error"]


ALIPAY = (
    "#支付宝账务明细查询\n#账号：[20880000000000000156]\n#起始日期：[2026年01月02日 00:00:00]\n"
    "账务流水号,业务流水号,商户订单号,商品名称,发生时间,对方账号,收入金额（+元）,支出金额（-元）,账户余额（元）,交易渠道,业务类型,备注\n"
    "20260102001\t,2026010222001\t,RF-DDDD\t,退款,2026-01-02 18:00:00,buyer@example.com,,12.30,100.00,"
    "支付宝,交易退款,pay_1\n"
    "20260102002\t,2026010222002\t,SO-1\t,订单,2026-01-02 19:00:00,buyer@example.com,50.00,,150.00,支付宝,在线支付,\n"
    "#-----------------------------------------账务明细列表结束------------------------------------\n"
    "#支出合计：1笔，共12.30元\n#收入合计：1笔，共50.00元\n#导出时间：[2026年01月03日 08:00:00]\n"
)


def test_alipay_bill_gbk_comments_and_summary():
    lines, errors = parse("alipay", ALIPAY.encode("gbk"))
    assert errors == []
    refund, payment = lines
    assert (refund.line_type, refund.gross, refund.currency) == ("refund", -1230, "CNY")
    assert refund.external_id == "20260102001" and refund.gateway_refund_id == "2026010222001"
    assert refund.reference == "RF-DDDD"
    assert refund.booked_at.utcoffset().total_seconds() == 8 * 3600  # China Standard Time
    assert payment.line_type == "other" and payment.gross == 5000


def test_alipay_utf8_file_is_refused_with_line_number():
    stream = FORMATS["alipay"].parse(ALIPAY.encode("utf-8"))
    list(stream)
    assert stream.errors and "gbk" in stream.errors[0]["error"]


WECHAT = (
    "交易时间,公众账号ID,商户号,微信订单号,商户订单号,用户标识,交易类型,交易状态,货币种类,应结订单金额,微信退款单号,商户退款单号,"
    "退款金额,退款类型,退款状态,手续费\n"
    "`2026-01-02 10:00:00,`wx01,`1900000109,`4200000001,`SO-1,`oU1,`JSAPI,`SUCCESS,`CNY,`88.00,`0,`0,`0.00,`,`,`0.53\n"
    "`2026-01-02 12:00:00,`wx01,`1900000109,`4200000001,`SO-1,`oU1,`JSAPI,`REFUND,`CNY,`0.00,`5030000001,`RF-EEEE,"
    "`8.80,`ORIGINAL,`SUCCESS,`-0.05\n"
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额\n"
    "`2,`88.00,`8.80,`0.00,`0.48\n"
)


def test_wechat_bill_backticks_and_trailing_summary():
    lines, errors = parse("wechat_pay", ("\ufeff" + WECHAT).encode())
    assert errors == []
    payment, refund = lines
    assert payment.line_type == "other" and payment.gross == 8800 and payment.fee == -53
    assert (refund.line_type, refund.gross, refund.fee) == ("refund", -880, 5)
    assert refund.gateway_refund_id == "5030000001" and refund.reference == "RF-EEEE"
    assert refund.payment_ref == "4200000001"


def test_ledger_export():
    data = (b"entry_id,booked_at,account,reference,gateway_refund_id,payment_ref,type,currency,debit,credit,memo\n"
            b"je_1,2026-01-02 10:00:00,2100,RF-FFFF,re_9,pi_9,refund,KWD,,1.234,refund\n")
    (line,), errors = parse("ledger", data)
    assert errors == [] and line.gross == -1234 and line.currency == "KWD"


def test_generic_csv_with_column_mapping(defaults):
    mapping = ColumnMapping.objects.create(
        name="acme-psp", source="acme", columns={"external_id": "Txn", "gross": "Amt", "currency": "Cur",
                                                 "booked_at": "Date", "type": "Kind", "gateway_refund_id": "RefundId",
                                                 "reference": "Ours"},
        type_map={"RFND": "refund", "SALE": "other"}, refunds_positive=True, date_format="%d/%m/%Y",
        delimiter=";")
    data = ("Txn;Amt;Cur;Date;Kind;RefundId;Ours\nT1;12.00;EUR;02/01/2026;RFND;R1;RF-GGGG\n"
            "T2;40.00;EUR;02/01/2026;SALE;;\n")
    record = import_file(data=data.encode(), format="generic_csv", mapping="acme-psp")
    assert record.status == ImportStatus.IMPORTED, record.errors
    refund = StatementLine.objects.get(external_id="T1")
    assert (refund.source, refund.line_type, refund.gross, refund.gateway_refund_id) == ("acme", "refund", -1200, "R1")
    assert mapping.kind == record.kind == "statement"


def test_more_decimals_than_the_currency_allows_is_refused():
    bad = STRIPE.replace(b"-1000,0,-1000,jpy", b"-1000.5,0,-1000.5,jpy")
    lines, errors = parse("stripe", bad)
    assert errors == [{"line": 5, "error": "amount '-1000.5' has more decimals than JPY allows"}]


def test_malformed_line_refuses_the_whole_file(defaults):
    bad = STRIPE.replace(b"txn_2,charge,ch_2,100.00", b"txn_2,charge,ch_2,abc")
    record = import_file(data=bad, format="stripe")
    assert record.status == ImportStatus.REFUSED
    assert record.errors == [{"line": 3, "error": "amount 'abc' is not a number"}]
    assert StatementLine.objects.count() == 0


def test_short_row_reports_its_line(defaults):
    bad = STRIPE + b"txn_9,refund,re_9\n"
    record = import_file(data=bad, format="stripe")
    assert record.status == ImportStatus.REFUSED and record.errors[0]["line"] == 6
    assert StatementLine.objects.count() == 0


def test_same_file_twice_is_refused_and_known_lines_are_ignored(defaults):
    first = import_file(data=STRIPE, format="stripe")
    assert first.status == ImportStatus.IMPORTED and first.imported_count == 4
    again = import_file(data=STRIPE, format="stripe")
    assert again.status == ImportStatus.REFUSED and "already imported" in again.errors[0]["error"]
    # A different file repeating a line id: the known line is skipped, the new one imported.
    overlap = STRIPE + b"txn_5,refund,re_5,-1.00,0.00,-1.00,usd,2026-01-04 10:00:00,,pi_5,RF-HHHH\n"
    third = import_file(data=overlap, format="stripe")
    assert (third.status, third.imported_count, third.duplicate_count) == (ImportStatus.IMPORTED, 1, 4)
    assert StatementLine.objects.count() == 5


def test_upload_size_limit(defaults, settings):
    settings.RECON_MAX_UPLOAD_BYTES = 100
    record = import_file(data=STRIPE, format="stripe")
    assert record.status == ImportStatus.REFUSED and "larger than" in record.errors[0]["error"]


def test_unknown_format_and_empty_file(defaults):
    assert import_file(data=STRIPE, format="nope").status == ImportStatus.REFUSED
    assert import_file(data=b"", format="stripe").status == ImportStatus.REFUSED
    header_only = STRIPE.split(b"\n")[0] + b"\n"
    assert import_file(data=header_only, format="stripe").status == ImportStatus.REFUSED


def test_crash_mid_import_leaves_nothing(defaults, monkeypatch):
    """A worker killed mid-import: the transaction never commits, so nothing is half-loaded."""
    from reconciliation import imports

    real = imports._values
    calls = {"n": 0}

    def dying(record, line):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # what a SIGTERM/SIGINT looks like inside the job
        return real(record, line)

    monkeypatch.setattr(imports, "_values", dying)
    with pytest.raises(KeyboardInterrupt):
        import_file(data=STRIPE, format="stripe")
    assert StatementLine.objects.count() == 0
    assert not StatementImport.objects.filter(status=ImportStatus.IMPORTED).exists()
