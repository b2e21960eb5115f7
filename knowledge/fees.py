"""Fee cells of the national records read clause by clause.

A fee cell is the portal's "Phí, lệ phí" column flattened into one string: the cell's own value,
then its explanation in brackets ("Miễn phí(- Lệ phí cấp giấy phép lái xe: 135.000 đồng/lần…)").
The cell and its explanation often disagree — 41 records say "Miễn phí" and then state an amount
— and the explanation carries what a citizen needs: amounts per page or per copy, temporary
reductions with their dates, exemptions, "do Hội đồng nhân dân tỉnh quyết định", the circular
the amount follows. This module keeps every clause in the record's own words (bullets, stray
brackets and glued currency signs cleaned) and notes what each one states, so an answer can
show all of it and say whether a dated reduction is still in force. Nothing is computed that
the record does not state: a 50% reduction stays "bằng 50%", never a derived amount.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Any

from knowledge.text import fold
from knowledge.types import FeeAmount, FeeClause, FeeInfo, FeeKind

NO_INFO = "Không có thông tin"

_CURRENCIES = {
    "việt nam đồng": "VND",
    "vnđ": "VND",
    "vnd": "VND",
    "đồng": "VND",
    "đ": "VND",
    "usd": "USD",
}
# Longest first, so "Việt Nam Đồng" wins over "đồng" and "đồng" over "đ".
_CURRENCY = r"(?:Việt Nam Đồng|VNĐ|VND|vnđ|vnd|[Đđ]ồng|USD|usd|đ(?![\w]))"
_NUMBER = r"\d{1,3}(?:[.,]\d{3})+|\d+"
_PER = r"(?:\s*/\s*(?!\d)[\w\-]+(?:\s+[\w\-]+){0,3}?(?:\s*/\s*[\w\-]+(?:\s+[\w\-]+){0,2}?)*)"
_AMOUNT_RE = re.compile(
    rf"(?<![\d.,/])(?P<value>{_NUMBER})(?:\s*(?P<mult>triệu|nghìn|ngàn))?\s*(?P<cur>{_CURRENCY})"
    rf"(?P<per>{_PER}(?=[\s.;,:)(]|$))?"
)
# A bare number followed by a unit ("8.000.000/lần"): an amount the record gives no currency for.
_BARE_AMOUNT_RE = re.compile(rf"(?<![\d.,/])(?P<value>\d{{1,3}}(?:\.\d{{3}})+)(?P<per>{_PER}(?=[\s.;,:)(]|$))")
_MULTIPLIERS = {"triệu": 1_000_000, "nghìn": 1_000, "ngàn": 1_000}
_CELL_RE = re.compile(
    rf"^(?:(?P<free>Miễn phí|Miễn lệ phí|Không thu phí|Không thu lệ phí)"
    rf"|(?P<none>{NO_INFO})"
    rf"|(?P<value>{_NUMBER})\s*(?P<cur>{_CURRENCY}))",
    re.IGNORECASE,
)

_DATE = r"(?P<{0}>\d{{1,2}}/\d{{1,2}}/\d{{4}}|\d{{1,2}} tháng \d{{1,2}} năm \d{{4}})"
_RANGE_RE = re.compile(
    r"(?:kể\s+)?từ\s+(?:ngày\s+)?"
    + _DATE.format("start")
    + r"\s*(?:đến|tới)\s*(?:hết\s+)?(?:ngày\s+)?"
    + _DATE.format("end"),
    re.IGNORECASE,
)
_UNTIL_RE = re.compile(r"(?:đến|tới)\s+hết\s+(?:ngày\s+)?" + _DATE.format("end"), re.IGNORECASE)
_SINCE_RE = re.compile(r"(?:kể\s+)?từ\s+ngày\s+" + _DATE.format("start"), re.IGNORECASE)
_PERCENT_RE = re.compile(r"(?P<n>\d{1,3})\s*%")
_REGULATION_RE = re.compile(
    r"(?P<doc>(?:Thông tư liên tịch|Thông tư|Nghị định|Nghị quyết|Quyết định|Luật)"
    r"(?:\s+số)?\s*\d+[\d.]*/\d{4}/[\wĐđ\-]+"
    r"|Luật [Pp]hí và lệ phí)"
)
_AUTHORITY_RE = re.compile(
    r"(?P<who>Hội đồng nhân dân(?: cấp)? tỉnh(?:, thành phố trực thuộc Trung ương)?|HĐND(?: cấp)? tỉnh"
    r"|Ủy ban nhân dân(?: cấp)? tỉnh|Uỷ ban nhân dân(?: cấp)? tỉnh|UBND(?: cấp)? tỉnh|chính quyền địa phương)",
    re.IGNORECASE,
)
# Folded clauses that only say there is nothing to pay.
_FREE_CLAUSES = frozenset(
    {
        "khong",
        "khong co",
        "khong quy dinh",
        "chua quy dinh",
        "mien phi",
        "mien le phi",
        "khong thu phi",
        "khong thu le phi",
        "khong phai nop phi",
        "khong co thong tin",
        "mien",
    }
)
_FREE_START = re.compile(r"^(miễn (lệ )?phí|không thu (lệ )?phí|miễn)\b", re.IGNORECASE)
_REDUCTION_WORDS = ("giảm", "bằng 50", "mức thu bằng", "áp dụng mức")
_BULLET_RE = re.compile(r"^(?:[\-+*•–]+\s*|\(?\d+(?:\.\d+)*\)\s*|\(?[a-zđ]\)\s*|\([ivx]+\)\s*|[ivx]+\)\s*)+")
_SPLIT_RE = re.compile(r"\s*(?:;\s+|;(?=[A-ZĐ+\-])|\.\s+(?=[-+*•(]|[A-ZĐÀ-Ỹ])|\s[-+•]\s+|\s\*\s*|\n+)\s*")


def _money(value: str, mult: str | None) -> int:
    digits = int(re.sub(r"[.,]", "", value))
    return digits * _MULTIPLIERS.get((mult or "").lower(), 1)


def _currency(word: str) -> str:
    return _CURRENCIES.get(word.lower(), "VND")


def _date(text: str | None) -> date | None:
    if not text:
        return None
    m = re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})$", text) or re.match(r"(\d{1,2}) tháng (\d{1,2}) năm (\d{4})$", text)
    if not m:
        return None
    day, month, year = (int(g) for g in m.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def tidy(text: str) -> str:
    """A clause as a citizen can read it: no bullets or enumerators, no stray or wrapping
    brackets, currency signs apart from the digits ("4.000.000đ/lần" -> "4.000.000 đồng/lần")."""
    text = _balance(re.sub(r"\s+", " ", text).strip())
    for _ in range(3):
        text = _BULLET_RE.sub("", text).strip()
        while text.startswith("(") and _closing(text, 0) == len(text) - 1:
            text = text[1:-1].strip()
        text = text.strip(" ;,:")
    text = _balance(text)
    text = re.sub(r"(\d)\s*đ(?:ồng)?(?=[/\s.,;)]|$)", r"\1 đồng", text)
    text = re.sub(r"(\d)(USD|VNĐ)\b", r"\1 \2", text)
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"\s+([.,;:)])", r"\1", text)
    text = re.sub(r"\(\s+", "(", text)
    text = text.strip(" ;,:")
    return text[:1].upper() + text[1:] if text else text


def _closing(text: str, start: int) -> int:
    """Index of the bracket closing the one at `start`, or -1."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _balance(text: str) -> str:
    """Drop brackets that open or close nothing (the flattened table leaves them behind)."""
    out: list[str] = []
    opened: list[int] = []
    for ch in text:
        if ch == "(":
            opened.append(len(out))
            out.append(ch)
        elif ch == ")":
            if opened:
                opened.pop()
                out.append(ch)
        else:
            out.append(ch)
    for i in reversed(opened):
        out.pop(i)
    return re.sub(r"\s{2,}", " ", "".join(out)).strip()


def _amounts(text: str) -> tuple[FeeAmount, ...]:
    found: list[FeeAmount] = []
    taken: list[tuple[int, int]] = []
    for m in _AMOUNT_RE.finditer(text):
        value = _money(m.group("value"), m.group("mult"))
        if value == 0:
            continue
        per = (m.group("per") or "").strip().lstrip("/").strip() or None
        found.append(FeeAmount(value, _currency(m.group("cur")), per, m.group(0).strip()))
        taken.append(m.span())
    for m in _BARE_AMOUNT_RE.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        per = m.group("per").strip().lstrip("/").strip() or None
        found.append(FeeAmount(_money(m.group("value"), None), None, per, m.group(0).strip()))
    return tuple(found)


def _validity(text: str) -> tuple[date | None, date | None]:
    m = _RANGE_RE.search(text)
    if m:
        return _date(m.group("start")), _date(m.group("end"))
    until = _UNTIL_RE.search(text)
    since = _SINCE_RE.search(text)
    return (_date(since.group("start")) if since else None, _date(until.group("end")) if until else None)


def _is_reduction(clean: str, dated: bool, percent: int | None, amounts: tuple[FeeAmount, ...]) -> bool:
    """A temporary rate: dated with a rate, an amount or a waiver, or a rate below the norm."""
    low = clean.lower()
    if dated and (percent is not None or amounts or _FREE_START.match(clean) or " miễn" in low):
        return True
    return percent is not None and any(w in low for w in _REDUCTION_WORDS)


def read_clause(text: str, *, from_description: bool = False) -> FeeClause | None:
    """One clause tidied and classified; None when nothing readable is left."""
    clean = tidy(text)
    if not clean or not re.search(r"[\wÀ-ỹ]", clean):
        return None
    amounts = _amounts(clean)
    valid_from, valid_to = _validity(clean)
    percent_m = _PERCENT_RE.search(clean)
    percent = int(percent_m.group("n")) if percent_m else None
    regulation_m = _REGULATION_RE.search(clean)
    authority_m = _AUTHORITY_RE.search(clean)
    key = fold(clean)
    low = clean.lower()
    dated = valid_from is not None or valid_to is not None
    if key in _FREE_CLAUSES or (len(key) <= 2 and not amounts):
        kind = FeeKind.FREE
    elif _is_reduction(clean, dated, percent, amounts):
        kind = FeeKind.REDUCTION
    elif _FREE_START.match(clean) and not amounts:
        kind = FeeKind.EXEMPTION if re.search(r"\b(cho|đối với|trường hợp)\b", low) else FeeKind.FREE
    elif amounts:
        kind = FeeKind.AMOUNT
    elif authority_m and re.search(r"\b(quy định|quyết định)\b", low):
        kind = FeeKind.AUTHORITY
    elif regulation_m:
        kind = FeeKind.REGULATION
    elif percent is not None:
        kind = FeeKind.AMOUNT
    else:
        kind = FeeKind.OTHER
    return FeeClause(
        text=clean,
        kind=kind,
        amounts=amounts,
        percent=percent,
        valid_from=valid_from,
        valid_to=valid_to,
        authority=authority_m.group("who") if authority_m and kind is FeeKind.AUTHORITY else None,
        regulation=regulation_m.group("doc") if regulation_m else None,
        from_description=from_description,
    )


_MARK_RE = re.compile(r"(?:^|(?<=\s))(?P<mark>[-+•*–])\s*(?=\S)|(?P<semi>;)\s*|(?P<dot>\.)\s+(?=[A-ZĐÀ-Ỹ(])|\n+")


def _items(text: str) -> list[tuple[str | None, str]]:
    """(bullet, text) pieces of an explanation, in order; bullet is "-", "+", "*" or None."""
    items: list[tuple[str | None, str]] = []
    mark: str | None = None
    pos = 0
    for m in _MARK_RE.finditer(text):
        if m.group("mark") and m.start() > 0 and not text[: m.start()].rstrip().endswith((":", ".", ";", ")")):
            continue  # a dash inside a sentence ("GT-lần", "01 - 02 năm"), not a bullet
        following = text[m.end() : m.end() + 1]
        if (m.group("semi") or m.group("dot")) and following.islower():
            continue  # "…cho người có công; người thuộc hộ nghèo; …": one list, one clause
        piece = text[pos : m.start()] + (m.group("dot") or "")
        if piece.strip():
            items.append((mark, piece.strip()))
        mark = m.group("mark")
        pos = m.end()
    if text[pos:].strip():
        items.append((mark, text[pos:].strip()))
    return items


def _groups(explanation: str) -> list[str]:
    """The bracketed groups a cell's explanation is made of: "(A)(B)rest" -> [A, B, rest]."""
    groups: list[str] = []
    rest = explanation.strip()
    while rest.startswith("("):
        end = _closing(rest, 0)
        if end < 0:
            break
        groups.append(rest[1:end])
        rest = rest[end + 1 :].strip()
    if rest:
        groups.append(rest)
    return groups


def _split(text: str) -> list[str]:
    """Clauses of an explanation: bullets, semicolons and sentences; a heading ending in ":"
    ("- Đăng ký tạm trú theo danh sách: + Trường hợp… thu 10.000 đồng") is put in front of
    the clauses it introduces; a bracket closing a clause with a statement of its own
    ("Hệ thống 4.000.000đ/lần(Miễn kể từ ngày 07/4/2026…)") becomes a clause of its own."""
    out: list[str] = []
    for group in _groups(text):
        heading: str | None = None
        child: str | None = None
        first = False
        for mark, piece in _items(group):
            for part in _peel_brackets(piece):
                head = part.rstrip()
                if head.endswith(":") and not _amounts(head) and len(head) < 160:
                    heading, first = tidy(head), True
                    continue
                if heading is not None and first:
                    child = mark  # the heading's list: this bullet and its siblings
                elif heading is not None and (mark != child or mark is None):
                    heading = None
                if heading is not None:
                    body = tidy(part)
                    part = f"{heading}: {body[:1].lower() + body[1:]}" if body else part
                first = False
                out.append(part)
        if heading is not None and first:
            out.append(heading)
    return [p for p in (p.strip() for p in out) if p]


def _peel_brackets(piece: str) -> list[str]:
    """ "A 4.000.000đ/lần(Miễn từ … đến …)" -> ["A 4.000.000đ/lần", "Miễn từ … đến …"] when a
    bracket ends the piece and is a statement of its own (dates, a waiver, "áp dụng…")."""
    text = piece.rstrip(" .;")
    if not text.endswith(")"):
        return [piece]
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                inner = text[i + 1 : -1]
                head = text[:i].strip()
                statement = (
                    _RANGE_RE.search(inner)
                    or _UNTIL_RE.search(inner)
                    or re.match(r"\s*\(?\s*(Miễn|áp dụng)", inner, re.I)
                )
                if statement and head:
                    return [head, *_split(inner)]
                return [piece]
    return [piece]


def split_cell(fee_text: str) -> tuple[str, str]:
    """(the cell's own value, its explanation) of a fee cell as imported."""
    text = fee_text.strip()
    m = _CELL_RE.match(text)
    head_end = m.end() if m else text.find("(") if "(" in text else len(text)
    if head_end < 0:
        head_end = len(text)
    return text[:head_end].strip(), text[head_end:].strip()


_FEE_SENTENCE_RE = re.compile(r"\b(phí|lệ phí|mức thu|thu\b)|" + _CURRENCY, re.IGNORECASE)


def _description_clauses(description: str, seen: set[str]) -> list[FeeClause]:
    """Fee sentences a description cell adds ("từ trang thứ 3 trở lên thu 1.000 đồng/trang")."""
    found: list[FeeClause] = []
    remarks: list[FeeClause] = []
    for part in _split(description):
        clause = read_clause(part, from_description=True)
        if clause is None or fold(clause.text) in seen:
            continue
        stated = clause.kind in (FeeKind.AMOUNT, FeeKind.REDUCTION, FeeKind.EXEMPTION) and bool(clause.amounts)
        if stated or (clause.kind in (FeeKind.REDUCTION, FeeKind.EXEMPTION) and _FEE_SENTENCE_RE.search(clause.text)):
            found.append(clause)
            seen.add(fold(clause.text))
        elif clause.kind is FeeKind.OTHER and re.search(r"\b(?:phí|lệ phí|thu phí)\b", clause.text, re.IGNORECASE):
            remarks.append(clause)  # "Trang là căn cứ để thu phí…": kept when the description states a fee
    if found:
        found += remarks
    return found


@lru_cache(maxsize=4096)
def parse_fee_info(fee_text: str, description: str = "") -> FeeInfo:
    """What a fee cell (and the fee sentences of its description) states."""
    text = (fee_text or "").strip()
    if not text and not description:
        return FeeInfo()
    head, explanation = split_cell(text)
    m = _CELL_RE.match(head)
    free: bool | None = None
    cell_amount: FeeAmount | None = None
    if m and m.group("free"):
        free = True
    elif m and m.group("value"):
        free = False
        cell_amount = FeeAmount(_money(m.group("value"), None), _currency(m.group("cur")), None, head)
    clauses: list[FeeClause] = []
    if m is None and head:
        # A cell in no portal pattern (staff wrote "Lệ phí 30.000 đồng"): its words are a clause too.
        own = read_clause(head)
        if own is not None:
            clauses.append(own)
    per_suffix: str | None = None
    for part in _split(explanation):
        stripped = tidy(part)
        if cell_amount is not None and re.fullmatch(r"/\s*[\w\- ]+|\d+ lần", part.strip("() .")):
            per_suffix = part.strip("() .").lstrip("/").strip()  # "(/trang)": the cell's unit
            continue
        clause = read_clause(part)
        if clause is not None and stripped:
            clauses.append(clause)
    if cell_amount is not None:
        same = [a for c in clauses for a in c.amounts if a.value == cell_amount.value]
        if same and all(a.currency == "USD" for a in same) and cell_amount.currency != "USD":
            # "155 VNĐ(Thẻ tạm trú… 155 USD/thẻ.)": the explanation names the currency.
            cell_amount = FeeAmount(cell_amount.value, "USD", cell_amount.per, cell_amount.text)
        if per_suffix or (same and same[0].per):
            cell_amount = FeeAmount(
                cell_amount.value, cell_amount.currency, per_suffix or same[0].per, cell_amount.text
            )
    seen = {fold(c.text) for c in clauses}
    clauses += _description_clauses(description or "", seen)
    return FeeInfo(cell=head, free=free, cell_amount=cell_amount, clauses=tuple(clauses))


def resolved_amount(fee: FeeInfo) -> int | None:
    """The one amount in VND a row charges, the explanation winning over the cell: the cell's
    amount, 0 when free and nothing is charged, or the single undated amount of an explanation
    whose cell says free; None when there is no single amount in VND."""
    if fee.cell_amount is not None:
        return fee.cell_amount.value if fee.cell_amount.currency == "VND" else None
    if fee.free is None:
        return None
    if not fee.conflict:
        return 0
    base = {a.value for c in fee.clauses if c.kind is FeeKind.AMOUNT and not c.from_description for a in c.amounts}
    currencies = {a.currency for c in fee.clauses if c.kind is FeeKind.AMOUNT for a in c.amounts}
    if len(base) == 1 and currencies == {"VND"}:
        return base.pop()
    return None


# --- storage: FeeInfo <-> the JSON kept beside fee_text -----------------------------------


def to_json(fee: FeeInfo) -> dict[str, Any]:
    def amount(a: FeeAmount | None) -> dict[str, Any] | None:
        return None if a is None else {"value": a.value, "currency": a.currency, "per": a.per, "text": a.text}

    return {
        "cell": fee.cell,
        "free": fee.free,
        "cell_amount": amount(fee.cell_amount),
        "clauses": [
            {
                "text": c.text,
                "kind": c.kind.value,
                "amounts": [amount(a) for a in c.amounts],
                "percent": c.percent,
                "valid_from": c.valid_from.isoformat() if c.valid_from else None,
                "valid_to": c.valid_to.isoformat() if c.valid_to else None,
                "authority": c.authority,
                "regulation": c.regulation,
                "from_description": c.from_description,
            }
            for c in fee.clauses
        ],
    }


def from_json(data: Any) -> FeeInfo:
    """The stored form back; anything unreadable gives an empty FeeInfo (the text stays)."""
    if not isinstance(data, dict):
        return FeeInfo()

    def amount(a: Any) -> FeeAmount | None:
        if not isinstance(a, dict) or not isinstance(a.get("value"), int):
            return None
        return FeeAmount(a["value"], a.get("currency"), a.get("per"), str(a.get("text") or ""))

    clauses = []
    for c in data.get("clauses") or []:
        try:
            kind = FeeKind(c.get("kind"))
        except ValueError:
            kind = FeeKind.OTHER
        clauses.append(
            FeeClause(
                text=str(c.get("text") or ""),
                kind=kind,
                amounts=tuple(a for a in (amount(x) for x in c.get("amounts") or []) if a is not None),
                percent=c.get("percent"),
                valid_from=date.fromisoformat(c["valid_from"]) if c.get("valid_from") else None,
                valid_to=date.fromisoformat(c["valid_to"]) if c.get("valid_to") else None,
                authority=c.get("authority"),
                regulation=c.get("regulation"),
                from_description=bool(c.get("from_description")),
            )
        )
    return FeeInfo(
        cell=str(data.get("cell") or ""),
        free=data.get("free"),
        cell_amount=amount(data.get("cell_amount")),
        clauses=tuple(clauses),
    )


def reduced_amount(base: int, clause: FeeClause) -> int | None:
    """What a rate clause makes of an amount: "bằng 50% mức thu" of 70.000 -> 35.000, "giảm
    30%" of 100.000 -> 70.000; None for a clause that states no rate."""
    if clause.kind is not FeeKind.REDUCTION or clause.percent is None or not 0 < clause.percent <= 100:
        return None
    low = clause.text.lower()
    equal = re.search(rf"\bbằng\s+{clause.percent}\s*%", low)
    share = clause.percent if equal or "giảm" not in low else 100 - clause.percent
    return round(base * share / 100)
