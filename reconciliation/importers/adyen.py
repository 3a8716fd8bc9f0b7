"""Adyen "Settlement details" report (CSV). Debit/credit columns instead of signed amounts.

Psp Reference is the payment, Modification Reference the refund (gateway refund id),
Modification Merchant Reference our refund reference.
"""

from .base import ParsedLine, currency, headered_csv, minor, run_rows, when

TYPES = {
    "Refunded": "refund", "RefundedExternally": "refund", "RefundedReversed": "reversal",
    "RefundedBulk": "refund", "Chargeback": "chargeback", "SecondChargeback": "chargeback",
    "MerchantPayout": "payout", "Fee": "fee", "InvoiceDeduction": "fee",
}
REQUIRED = ["Psp Reference", "Type", "Creation Date", "Gross Currency", "Gross Debit (GC)", "Gross Credit (GC)",
            "Modification Reference", "Batch Number"]


def parse(data: bytes, **options):
    rows, table = headered_csv(data, REQUIRED)
    if table is None:
        return rows
    header, get = table.header, table.get

    def parse_row(line_no, row):
        if not table.has_data(row):
            return None
        cur = currency(get(row, "Gross Currency"))
        kind = get(row, "Type")
        gross = minor(get(row, "Gross Credit (GC)"), cur, required=False) - minor(
            get(row, "Gross Debit (GC)"), cur, required=False)
        fee = -sum(minor(get(row, name), cur, required=False)
                   for name in ("Commission (NC)", "Markup (NC)", "Scheme Fees (NC)", "Interchange (NC)"))
        line_type = TYPES.get(kind, "other")
        mod_ref = get(row, "Modification Reference")
        return ParsedLine(
            line_no=line_no, external_id=f"{get(row, 'Batch Number')}:{mod_ref or get(row, 'Psp Reference')}:{kind}",
            line_type=line_type, gross=gross, fee=fee, currency=cur, booked_at=when(get(row, "Creation Date")),
            reference=get(row, "Modification Merchant Reference"),
            gateway_refund_id=mod_ref if line_type in ("refund", "reversal") else "",
            payment_ref=get(row, "Psp Reference"), raw=row,
        )

    return run_rows(rows, parse_row, header=header)
