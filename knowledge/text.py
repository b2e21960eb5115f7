"""Text keys shared by every layer: the one place Vietnamese is folded for matching."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _strip_slow(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


# Precomposed Latin letters (Vietnamese included) and combining marks, stripped in one C pass.
_TABLE = {c: _strip_slow(chr(c)) for c in range(0x00C0, 0x2000) if _strip_slow(chr(c)) != chr(c)}


def strip_diacritics(text: str) -> str:
    """ "Đăng ký khai sinh" -> "Dang ky khai sinh" (đ -> d, tones and hats dropped)."""
    stripped = unicodedata.normalize("NFC", text).translate(_TABLE)
    if stripped.isascii():
        return stripped
    return _strip_slow(stripped)  # letters outside the table (rare scripts, stray marks)


def fold(text: str) -> str:
    """Lower case, no diacritics, punctuation as spaces, single spaces: the matching key."""
    text = strip_diacritics(nfc(text).lower())
    text = re.sub(r"[^\w]+", " ", text)
    return _SPACES.sub(" ", text).strip()
