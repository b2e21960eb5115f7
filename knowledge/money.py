"""Amounts of money typed by staff (the edit form, a spreadsheet's fee column), read strictly.

Vietnamese writes thousands with a dot ("5.000"), English-language software with a comma
("5,000"), and staff add the currency ("5.000 đồng", "5.000đ"). All of these mean 5000 đồng.
Đồng has no subunit in use, so anything that reads as a fraction ("5000.5", "5,5") or is not
a number at all is refused with a message naming the field — never saved as 5 or 0."""

from __future__ import annotations

import math
import re
import unicodedata

from knowledge.errors import UsageError

MAX_AMOUNT = 100_000_000_000
"""No fee of an administrative procedure comes near 100 billion đồng: more is a typing slip."""

_CURRENCY = re.compile(r"\s*(?:đồng|dong|vnđ|vnd|đ|₫)\s*$")
_FREE = {"miễn phí", "mien phi", "không thu", "khong thu", "miễn lệ phí", "mien le phi"}
"""Words that mean an amount of 0, as staff write it in the fee column."""
_PLAIN = re.compile(r"\d+")
_GROUPED = re.compile(r"\d{1,3}(?:(?P<sep>[., \u00a0])\d{3})(?:(?P=sep)\d{3})*")
"""Thousands in groups of three, one separator throughout: 5.000, 1.250.000, 5,000, 5 000."""


class MoneyError(UsageError):
    """An amount of money that cannot be read without guessing; `reason` says why, without
    the field's name, so a caller can group the same mistake made on many rows."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_amount(value: object, field: str) -> int | None:
    """The amount in đồng, or None for an empty value (no amount stated).

    `value` is what staff typed (a string) or what a spreadsheet cell holds (int, float);
    `field` is the field's Vietnamese name, used in the message when the value is refused."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MoneyError(field, _reason(str(value)))
    if isinstance(value, int):
        return _checked(value, field, str(value))
    if isinstance(value, float):
        # A number cell: 5000.0 is 5000; 5000.5 is not an amount of đồng.
        if not math.isfinite(value) or value != int(value):
            raise MoneyError(field, _reason(_shown(value)))
        return _checked(int(value), field, _shown(value))
    if not isinstance(value, str):
        raise MoneyError(field, _reason(str(value)))
    raw = value
    text = unicodedata.normalize("NFC", value).strip().lower()
    if not text:
        return None
    if text in _FREE:
        return 0
    if text.startswith(("-", "−")):
        raise MoneyError(field, f"số tiền không được âm (đang ghi “{raw.strip()}”).")
    text = _CURRENCY.sub("", text).strip()
    if _PLAIN.fullmatch(text):
        return _checked(int(text), field, raw)
    if _GROUPED.fullmatch(text):
        return _checked(int(re.sub(r"[., \u00a0]", "", text)), field, raw)
    raise MoneyError(field, _reason(raw.strip()))


def format_amount(amount: int | None) -> str:
    """5000 -> "5.000", the way the edit form shows an amount (empty for None)."""
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".")


def _checked(amount: int, field: str, raw: str) -> int:
    if amount < 0:
        raise MoneyError(field, f"số tiền không được âm (đang ghi “{raw.strip()}”).")
    if amount > MAX_AMOUNT:
        raise MoneyError(field, f"số tiền quá lớn (đang ghi “{raw.strip()}”).")
    return amount


def _shown(value: float) -> str:
    return f"{value:g}" if math.isfinite(value) else str(value)


def _reason(raw: str) -> str:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    return (
        f"“{shown}” không phải một số tiền hợp lệ. Hãy ghi số đồng, không có phần lẻ, "
        "ví dụ 5.000 hoặc 5000 hoặc 5.000 đồng (để trống nếu văn bản không ghi số tiền)."
    )
