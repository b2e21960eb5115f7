"""Helpers of the fidelity tests: what a record states (amounts, times, papers) and whether an
answer's words come from it."""

from __future__ import annotations

import html
import re

from knowledge.fees import reduced_amount
from knowledge.text import fold
from knowledge.types import Channel, ProcedureInfo

_NUMBER_RE = re.compile(r"(?<![\d/])(\d{1,3}(?:[.,]\d{3})+|\d+)(?:\s*(triệu|nghìn|ngàn))?")
_MULT = {"triệu": 1_000_000, "nghìn": 1_000, "ngàn": 1_000}
_CHANNEL_WORDS = {"trực tiếp": Channel.IN_PERSON, "trực tuyến": Channel.ONLINE, "bưu chính": Channel.POST}
_MONEY_RE = re.compile(r"(?<![\d/])(\d{1,3}(?:[.,]\d{3})+|\d+)\s*(triệu\s*)?(đồng|Đồng|VNĐ|VND|USD|đ\b)", re.IGNORECASE)
# Words the templates add around a paper's own words.
_ADDED = re.compile(
    r"\((?:nộp [^()]*|xuất trình|\d+ bản (?:chính|sao)[^()]*|ghi ở [^()]*|dữ liệu quốc gia không ghi cụ thể[^()]*)\)"
    r"|— xuất trình|…|\.\s*$"
)


def numbers(text: str) -> set[int]:
    """Every number a text states, separators read as thousands, "02 triệu" as 2000000; a
    date's parts ("01/7/2025") count as numbers too."""
    found: set[int] = set()
    for m in _NUMBER_RE.finditer(text.replace("/", " / ")):
        value = int(re.sub(r"[.,]", "", m.group(1)))
        found.add(value * _MULT.get(m.group(2) or "", 1))
        found.add(value)
    return found


def money(text: str) -> set[int]:
    """The amounts of money a text states (a number followed by a currency)."""
    out = set()
    for m in _MONEY_RE.finditer(text):
        value = int(re.sub(r"[.,]", "", m.group(1)))
        out.add(value * (1_000_000 if m.group(2) else 1))
    return out


def record_numbers(p: ProcedureInfo) -> set[int]:
    """Every number the record's fee, time and description cells and its steps state (a time
    the cell leaves empty is answered from the steps' words), and the amounts a rate makes."""
    found: set[int] = set()
    for c in p.channels:
        found |= numbers(f"{c.fee_text} {c.description} {c.time_text}")
        if c.time_value is not None:
            found.add(int(c.time_value))
    for step in p.steps:
        found |= numbers(step)
    return found | reduced_money(p)


def reduced_money(p: ProcedureInfo) -> set[int]:
    """What a rate clause makes of an amount the same cell states ("bằng 50% mức thu" of
    70.000 đồng): derived from the record, not added to it."""
    found: set[int] = set()
    for c in p.channels:
        bases = [a.value for a in ([c.fee.cell_amount] if c.fee.cell_amount else [])]
        bases += [a.value for clause in c.fee.clauses for a in clause.amounts]
        for clause in c.fee.clauses:
            found |= {v for b in bases if (v := reduced_amount(b, clause)) is not None}
    return found


def record_money(p: ProcedureInfo) -> set[int]:
    """Every amount the record's fee and description cells state."""
    found: set[int] = set()
    for c in p.channels:
        found |= money(f"{c.fee_text} {c.description}")
        if c.fee.cell_amount is not None:
            found.add(c.fee.cell_amount.value)
        for clause in c.fee.clauses:
            found |= {a.value for a in clause.amounts}
    return found


def channels_of(label: str) -> set[Channel]:
    low = label.lower()
    return {c for w, c in _CHANNEL_WORDS.items() if w in low}


def words_from(text: str, sources: list[str]) -> bool:
    """True when every stretch of the text's own words (what the templates add left out)
    is a run of words of one of the sources: a short form cuts, never rewrites."""
    body = _ADDED.sub(" ", text)
    pieces = [fold(x) for x in re.split(r"[():;]|—", body)]
    keys = [fold(s) for s in sources]
    for piece in pieces:
        if len(piece.split()) < 2 and not (piece and len(pieces) == 1):
            continue
        # Substrings, not whole words: the flattened table glues words ("thì nộpVăn bản").
        if not any(piece in k for k in keys):
            # "Giấy tờ tùy thân (hộ chiếu, thẻ căn cước…)": each comma part on its own.
            parts = [q.strip() for q in piece.split(",") if q.strip()]
            if not parts or not all(any(q in k for k in keys) for q in parts):
                return False
    return True


def page_text(page_html: str) -> str:
    """The words of a rendered page."""
    text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", page_html, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())
