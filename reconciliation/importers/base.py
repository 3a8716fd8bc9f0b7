"""What every parser produces (ParsedLine) and the shared helpers for money and dates.

A parser reads the whole file and returns (lines, errors). Errors carry the file's line number;
any error refuses the whole file (the service imports nothing).
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from refunds.money import ISO_CURRENCIES, currency_exponent


class LineError(ValueError):
    """A problem with one line; the message is shown to finance with the line number."""


@dataclass(slots=True)
class ParsedLine:
    line_no: int
    external_id: str
    line_type: str
    gross: int
    fee: int
    currency: str
    booked_at: datetime
    reference: str = ""
    gateway_refund_id: str = ""
    payment_ref: str = ""
    raw: list = field(default_factory=list)  # the row's cells, in the order of the file's header

    @property
    def net(self) -> int:
        return self.gross + self.fee


def currency(value: str) -> str:
    code = (value or "").strip().upper()
    if code not in ISO_CURRENCIES:
        raise LineError(f"unknown currency {value!r}")
    return code


def minor(value: str, cur: str, *, required: bool = True) -> int:
    """Decimal text (e.g. "-12.50", "1,234.00") → integer minor units; more decimals than the currency has
    is an error, never rounded."""
    text = (value or "").strip()
    exponent = currency_exponent(cur)
    # Fast path for plain "-123.45" (the bulk of every statement); anything else goes through Decimal.
    digits = text[1:] if text[:1] == "-" else text
    whole, dot, frac = digits.partition(".")
    if whole.isdigit() and (not dot or (frac.isdigit() and len(frac) <= exponent)) and whole.isascii() \
            and frac.isascii():
        number = int(whole) * 10**exponent + (int(frac) * 10 ** (exponent - len(frac)) if frac else 0)
        return -number if text[:1] == "-" else number
    text = text.replace(",", "").replace("\t", "")
    if not text:
        if required:
            raise LineError("amount is empty")
        return 0
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise LineError(f"amount {value!r} is not a number")
    if not amount.is_finite():
        raise LineError(f"amount {value!r} is not a number")
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise LineError(f"amount {value!r} has more decimals than {cur} allows")
    return int(scaled)


def integer(value: str) -> int:
    text = (value or "").strip()
    if not text.lstrip("-").isdigit():
        raise LineError(f"{value!r} is not a whole number")
    return int(text)


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d",
                 "%Y/%m/%d", "%d.%m.%Y %H:%M:%S")


def when(value: str, fmt: str = "") -> datetime:
    """A timestamp; naive values are taken as UTC (statement files are exported in UTC or say so)."""
    return _when((value or "").strip().replace("\t", ""), fmt)


@lru_cache(maxsize=65536)
def _when(text: str, fmt: str) -> datetime:
    value = text
    if not text:
        raise LineError("date is empty")
    parsed = None
    if fmt:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            raise LineError(f"date {value!r} does not match {fmt}")
    else:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            for candidate in _DATE_FORMATS:
                try:
                    parsed = datetime.strptime(text, candidate)
                    break
                except ValueError:
                    continue
    if parsed is None:
        raise LineError(f"date {value!r} is not a date")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def decode(data: bytes, encoding: str):
    """A streaming text view of the bytes (no second full copy of a large file in memory)."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")


def csv_rows(text, delimiter: str = ","):
    """(line number, row) pairs; the line number is the physical line where the row starts.
    A decoding error surfaces as a LineError on the line where it happens."""
    reader = csv.reader(text, delimiter=delimiter)
    line_no = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise LineError(f"line {reader.line_num + 1}: the file is not valid {exc.encoding} text")
        except csv.Error as exc:
            raise LineError(f"line {reader.line_num}: {exc}")
        yield line_no, row
        line_no = reader.line_num + 1


class RowStream:
    """Parsed lines, produced lazily so a million-line file is never held in memory twice.

    Iterate once; afterwards `errors` holds every line-numbered problem (any → refuse the file)
    and `count` the number of data lines seen.
    """

    MAX_ERRORS = 200

    def __init__(self, rows=(), parse_row=None, *, errors=None, on_end=None, header=None):
        self.rows, self.parse_row, self.on_end = rows, parse_row, on_end
        self._header = header
        self.errors: list[dict] = list(errors or [])
        self.count = 0
        self.matchable = 0  # refund, reversal and chargeback lines (what runs work on)

    @property
    def header(self) -> list[str]:
        """Column names of the file (each line's raw cells are stored in this order)."""
        value = self._header() if callable(self._header) else self._header
        return [str(h) for h in (value or [])]

    @classmethod
    def failed(cls, line: int, message: str) -> "RowStream":
        return cls(errors=[{"line": line, "error": message}])

    def _error(self, line: int, message: str) -> None:
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append({"line": line, "error": message})

    def __iter__(self):
        if self.parse_row is None:
            return
        line_no = 0
        try:
            for line_no, row in self.rows:
                try:
                    parsed = self.parse_row(line_no, row)
                except LineError as exc:
                    self.count += 1
                    self._error(line_no, str(exc))
                    continue
                except (KeyError, IndexError):
                    self.count += 1
                    self._error(line_no, "missing columns")
                    continue
                if parsed is not None:
                    self.count += 1
                    if parsed.line_type in ("refund", "reversal", "chargeback"):
                        self.matchable += 1
                    yield parsed
        except LineError as exc:
            self._error(line_no + 1, str(exc))
        if self.on_end is not None and not self.errors:
            problem = self.on_end()
            if problem:
                self._error(1, problem)


def run_rows(rows, parse_row, on_end=None, header=None) -> RowStream:
    return RowStream(rows, parse_row, on_end=on_end, header=header)


def header_index(header: list[str], required: list[str], line_no: int = 1) -> dict[str, int]:
    cleaned = [h.strip().lstrip("\ufeff").strip("`").strip() for h in header]
    missing = [name for name in required if name not in cleaned]
    if missing:
        raise LineError(f"header is missing the columns: {', '.join(missing)}")
    return {name: i for i, name in enumerate(cleaned)}


class HeaderedCsv:
    """A CSV whose first row names its columns: `get(row, name)` by column name and the width check."""

    def __init__(self, header_row: list[str], required: list[str]):
        self.col = header_index(header_row, required)
        self.header = [h.strip().lstrip("\ufeff") for h in header_row]

    def get(self, row: list[str], name: str | None) -> str:
        i = self.col.get(name) if name else None
        return row[i].strip() if i is not None and i < len(row) else ""

    def has_data(self, row: list[str]) -> bool:
        """False for a blank row (skipped); a row of the wrong width is an error for its line."""
        if len(row) == len(self.header):
            return True
        if not row or not any(cell.strip() for cell in row):
            return False
        raise LineError(f"expected {len(self.header)} columns, found {len(row)}")


def headered_csv(data: bytes, required: list[str], *, encoding: str = "utf-8-sig", delimiter: str = ","):
    """(remaining rows, HeaderedCsv) — or (a failed RowStream, None) for an empty file."""
    rows = csv_rows(decode(data, encoding), delimiter)
    first = next(rows, None)
    if first is None:
        return RowStream.failed(1, "the file is empty"), None
    return rows, HeaderedCsv(first[1], required)
