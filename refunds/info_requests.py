"""What we still need from the customer: a machine-readable list plus a plain-language message.

The list (`ticket.info_requested`) is what the API and the status page's form use; the message is
what the customer reads. The customer-facing wording lives in this explicit en / zh-hans table
(not only in the gettext catalogue) so the message is right in the customer's language even when
the staff member's request runs under another locale.
"""

from refunds.models.tickets import Language

# field code → (English, 简体中文)
FIELD_LABELS: dict[str, tuple[str, str]] = {
    "iban": ("the IBAN of the bank account the refund should go to", "退款收款银行账户的 IBAN 号码"),
    "account_name": ("the account holder's name, exactly as the bank has it", "银行登记的账户持有人姓名"),
    "customer_phone": (
        "a phone number in international form, e.g. +8613800138000",
        "国际格式的电话号码，例如 +8613800138000",
    ),
    "customer_email": ("an e-mail address where we can reach you", "可以联系到您的电子邮箱地址"),
    "fallback_consent": (
        "your consent to receive the refund through another payment method",
        "您同意通过其他支付方式接收退款",
    ),
    "proof_of_return": (
        "proof that the goods were sent back (e.g. a tracking number)",
        "退货凭证（例如物流单号）",
    ),
    "photos": ("photos of the item", "商品照片"),
}
TEMPLATES = {
    Language.EN: (
        "To continue with your refund we need: {items}. Please add this on your refund status page.",
        "; ",
    ),
    Language.ZH_HANS: ("为了继续处理您的退款，我们需要：{items}。请在退款状态页面补充。", "；"),
}


def field_label(code: str, language: str) -> str:
    labels = FIELD_LABELS.get(code)
    zh = language == Language.ZH_HANS
    if labels:
        return labels[1] if zh else labels[0]
    readable = code.split(".")[-1].replace("_", " ")
    return f"“{readable}”信息" if zh else readable


def info_request_message(needed: list[str], language: str = Language.EN) -> str:
    """One plain sentence naming exactly what is needed, in `language` (en or zh-hans)."""
    language = language if language in TEMPLATES else Language.EN
    template, separator = TEMPLATES[language]
    return template.format(items=separator.join(field_label(code, language) for code in needed))


def what_we_need(ticket, language: str | None = None) -> dict:
    """{"needed": [...], "message": "..."} for the status page and the API (empty when nothing is missing)."""
    needed = list(ticket.info_requested or [])
    if not needed:
        return {"needed": [], "message": ""}
    return {"needed": needed, "message": info_request_message(needed, language or ticket.customer_language)}
