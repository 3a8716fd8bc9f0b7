"""Statement and ledger parsers, one module per file format. `FORMATS` maps a format name to its
parser, its side (statement or ledger) and the default source name of its lines."""

from dataclasses import dataclass

from . import adyen, alipay, generic, ledger, paypal, stripe, wechat
from .base import LineError, ParsedLine


@dataclass(frozen=True)
class Format:
    name: str
    kind: str
    source: str
    channel: str
    parse: object


FORMATS = {
    "stripe": Format("stripe", "statement", "stripe", "card", stripe.parse),
    "adyen": Format("adyen", "statement", "adyen", "card", adyen.parse),
    "paypal_stl": Format("paypal_stl", "statement", "paypal", "paypal", paypal.parse),
    "alipay": Format("alipay", "statement", "alipay", "alipay", alipay.parse),
    "wechat_pay": Format("wechat_pay", "statement", "wechat_pay", "wechat_pay", wechat.parse),
    "generic_csv": Format("generic_csv", "", "", "", generic.parse),
    "ledger": Format("ledger", "ledger", "ledger", "", ledger.parse),
}

__all__ = ["FORMATS", "Format", "LineError", "ParsedLine"]
