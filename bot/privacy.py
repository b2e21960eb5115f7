"""Mask personal numbers before a transcript reaches the database."""

from __future__ import annotations

import re

# Order matters: longer numbers first, so a 12-digit ID is not read as a phone number.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"(?<!\d)\d{12}(?!\d)"), "[số định danh]"),
    (re.compile(r"(?<![\d+])(?:\+?84|0)(?:[\s.-]?\d){9,10}(?!\d)"), "[số điện thoại]"),
    (re.compile(r"(?<!\d)\d{9}(?!\d)"), "[số CMND]"),
)


_ANY_NUMBER = re.compile(r"\d(?:[\s.-]?\d){8}")
"""Nine digits or more in a row: without one, only an e-mail address can need masking."""


def mask(text: str) -> str:
    """ "CCCD 001203004567, sđt 0912 345 678" -> "CCCD [số định danh], sđt [số điện thoại]"."""
    email, *numbers = _PATTERNS
    if "@" in text:
        text = email[0].sub(email[1], text)
    if _ANY_NUMBER.search(text):
        for pattern, label in numbers:
            text = pattern.sub(label, text)
    return text
