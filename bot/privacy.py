"""Mask personal numbers before a transcript reaches the database, and pseudonymise sender ids
that are personal numbers themselves.

Citizens write an ID or a phone number in many ways: "001203004567", "001 203 004 567",
"001.203.004.567", "(+84) 912-345-678", "84912345678", full-width "０９１２３４５６７８". Detection
runs on a copy of the text where every character is replaced by its NFKC compatibility form
(full-width digits and punctuation, no-break spaces) and every decimal digit by its ASCII one,
character for character, so a match's position in the copy is its position in the original.

A run of digits joined by single separators (space, dot, comma, hyphen) with nine digits or
more is masked, unless it is an amount of money (thousands grouped and followed by a currency
word, or grouped and shaped like no personal number). Shorter numbers are never masked: fees
("135.000 đồng", "5.000.000"), dates ("01/07/2025"), procedure codes ("1.001193"), years.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import unicodedata

ID_CARD = "[số định danh]"
"""A 12-digit personal ID (căn cước công dân / số định danh cá nhân); these always start with 0."""
PHONE = "[số điện thoại]"
OLD_ID = "[số CMND]"
"""The 9-digit identity card number (chứng minh nhân dân) still written on older papers."""
EMAIL = "[email]"
NUMBER = "[dãy số]"
"""Any other run of nine digits or more: a bank account, a tax code, a dossier number."""

MIN_DIGITS = 9
"""The shortest personal number (old ID card); a shorter run is an ordinary number."""

_MAYBE = re.compile(r"\d(?:[^\w\n]{0,3}\d){8}")
"""Cheap first look on the original text: no number to mask without nine digits close together."""
_AT = ("@", "＠", "﹫")
_PLAIN = re.compile(r"[^\x00-\x9f\xa1-\u024f\u0300-\u036f\u1e00-\u1eff]")
"""A character outside ASCII and Vietnamese letters: the text needs its detection form."""

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PROTECTED = re.compile(
    # A date (01.07.2025, 1-7-2025) or a procedure's national code (1.001193), standing alone:
    # never part of a personal number, and they would otherwise join the digits around them.
    # (Each pattern starts with what it matches, its look-behind after: the scan is faster.)
    r"\d(?<![\d.,-]\d)(?:\d?([./-])\d{1,2}\1(?:19|20)\d{2}|\.\d{6})(?![\d]|[.,-]\d)"
)
_RUN = re.compile(r"\d(?<!\d\d)\d*(?:[ .,-]\d+)*")
"""Digits joined by single separators (each pattern starts with what it matches and looks
behind after that: Python's scan is much faster so)."""
_PREFIX = re.compile(r"(?:\(\s?\+\s?\d{1,3}\s?\)\s?|\+\s?\d{1,3}[ .-]?|\+\s?)$")
"""A country code just before a run: "(+84) ", "+84 ", or the "+" of "+84912345678"."""
_MONEY_AFTER = re.compile(
    r"\s?(?:đồng|dong|đ|vnđ|vnd|₫|triệu|trieu|tr|tỷ|tỉ|ty|ti|nghìn|nghin|ngàn|ngan|k|usd)(?![^\W\d_])",
    re.IGNORECASE,
)
_SEPARATORS = re.compile(r"[ .,-]")
_NOT_DIGIT = re.compile(r"\D")


class _DetectTable(dict[int, str]):
    """A `str.translate` table from a character to its detection form, learnt on first sight."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out = str(digit)
        else:
            compat = unicodedata.normalize("NFKC", ch)
            out = compat if len(compat) == 1 else ch
            if out.isspace() and out not in "\n\r\t":
                out = " "
            elif unicodedata.category(out) == "Pd":  # every dash a hyphen
                out = "-"
        if code < 0x10000:  # the table stays bounded whatever the input
            self[code] = out
        return out


_TABLE = _DetectTable()


def _detection_form(text: str) -> str:
    return text.translate(_TABLE) if _PLAIN.search(text) else text


def _grouped(body: str) -> bool:
    """Thousands grouped like an amount: "135.000", "5.000.000", "1,500,000,000", "100 000 000"."""
    seps = set(_SEPARATORS.findall(body))
    if len(seps) != 1 or seps == {"-"}:
        return False
    groups = _SEPARATORS.split(body)
    first = groups[0]
    return 1 <= len(first) <= 3 and not first.startswith("0") and all(len(g) == 3 for g in groups[1:])


def _label(digits: str, prefixed: bool) -> str | None:
    """What a personal number of these digits is, or None when it is shaped like none."""
    n = len(digits)
    if prefixed or (n == 10 and digits.startswith("0")) or (n == 11 and digits.startswith(("0", "84"))):
        return PHONE
    if n == 12 and digits.startswith("0"):
        return ID_CARD
    if n == 9:
        return OLD_ID
    return None


def _kept(body: str, after: str, prefixed: bool = False) -> tuple[bool, str | None]:
    """Whether a run of digits is an ordinary number, and the label it is masked by if not."""
    digits = _NOT_DIGIT.sub("", body)
    if len(digits) < MIN_DIGITS:
        return True, None
    label = _label(digits, prefixed)
    if prefixed:
        return False, label
    if _grouped(body):
        return label is None or bool(_MONEY_AFTER.match(after)), label
    seps = set(_SEPARATORS.findall(body))
    if label is None and len(seps) > 1:
        # Two numbers side by side ("100.000 200.000", a range "50.000-100.000"): each is judged
        # on its own; a run shaped like a phone or an ID is masked whole ("0912 345.678").
        for outer in (" ", "-"):
            if outer in seps:
                pieces = body.split(outer)
                if all(_kept(p, after if i == len(pieces) - 1 else "")[0] for i, p in enumerate(pieces)):
                    return True, None
    return False, label


def _mask_run(detect: str, m: re.Match[str]) -> tuple[int, str] | None:
    """Where the masked span starts (a country code before the run included) and the label it
    is replaced by; None to keep the run."""
    start, body = m.start(), m.group()
    prefix = _PREFIX.search(detect, max(0, start - 8), start)
    if prefix is not None:
        start = prefix.start()
        body = detect[start : m.end()]
    after = unicodedata.normalize("NFC", detect[m.end() : m.end() + 8])
    kept, label = _kept(body, after, prefix is not None)
    return None if kept else (start, label or NUMBER)


def mask(text: str) -> str:
    """ "CCCD 001 203 004 567, sđt (+84) 912-345-678" -> "CCCD [số định danh], sđt [số điện thoại]"."""
    email = any(at in text for at in _AT)
    if not email and not _MAYBE.search(text):
        return text
    detect = _detection_form(text)
    spans: list[tuple[int, int, str]] = [(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(detect)] if email else []
    blanked = detect
    for start, end, _label_text in spans:
        blanked = blanked[:start] + "#" * (end - start) + blanked[end:]
    blanked = _PROTECTED.sub(lambda m: "#" * len(m.group()), blanked)
    for m in _RUN.finditer(blanked):
        found = _mask_run(blanked, m)
        if found is not None:
            spans.append((found[0], m.end(), found[1]))
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end, label in sorted(spans):
        if end <= last:
            continue
        out += [text[last : max(start, last)], label]
        last = end
    out.append(text[last:])
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def mask_reply(text: str) -> str:
    """`mask` for the assistant's own answers, which repeat (the same procedure's answer to many
    citizens) and are long: each is scanned once (the cache holds at most 1,024 of them)."""
    return mask(text)


def has_personal_number(text: str) -> bool:
    """True when `mask` would change the text."""
    return mask(text) != text


_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def pseudonym(sender: str, key: str) -> str:
    """A sender id that is (or contains) a personal number -- a phone number as a REST sender, a
    numeric chat id -- is stored as a keyed hash: the same sender always gets the same
    pseudonym, so the conversation goes on, but the number cannot be read back or found by
    hashing every phone number without the key. Any other id is kept as it is."""
    if not has_personal_number(sender):
        return sender
    digest = hmac.new(key.encode(), sender.encode(), hashlib.sha256).hexdigest()[:32]
    return "anon-" + digest.translate(_LETTERS)  # letters only: a pseudonym is no number
