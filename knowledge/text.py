"""Text keys shared by every layer: the one place Vietnamese is folded for matching."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")


def storable(text: str) -> str:
    """The text as a database keeps it: without NUL characters (PostgreSQL refuses them in text,
    SQLite keeps them and cuts the text short in many tools) and with lone UTF-16 surrogates,
    which a JSON body can carry as escapes but no UTF-8 can encode, shown as U+FFFD."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    return _SURROGATES.sub("\ufffd", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _strip_slow(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


class _StripTable(dict[int, str]):
    """A `str.translate` table that learns each character's stripped form the first time it
    meets it: one C-level pass per text afterwards."""

    def __missing__(self, code: int) -> str:
        stripped = _strip_slow(chr(code))
        if code < 0x2000:  # Latin, Vietnamese and their marks; other scripts are not kept, so
            self[code] = stripped  # hostile input cannot grow the table
        return stripped


_TABLE = _StripTable()


def strip_diacritics(text: str) -> str:
    """ "Đăng ký khai sinh" -> "Dang ky khai sinh" (đ -> d, tones and hats dropped)."""
    return unicodedata.normalize("NFC", text).translate(_TABLE)


def fold(text: str) -> str:
    """Lower case, no diacritics, punctuation as spaces, single spaces: the matching key."""
    text = strip_diacritics(nfc(text).lower())
    text = re.sub(r"[^\w]+", " ", text)
    return _SPACES.sub(" ", text).strip()
