"""The staff-editable fields of procedures (with their submission channels and documents),
FAQs and units, declared once.

Each field has its Vietnamese name, its kind and its limits. The edit forms' validation, the
spreadsheet columns (header, width, drop-down list), the YAML keys, the audit log's wording
and the revert of one change all read these declarations, so adding a field is one line here
(a test checks that every stored channel/document field is declared)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from knowledge.errors import UsageError
from knowledge.money import MoneyError, format_amount, parse_amount
from knowledge.text import fold
from knowledge.types import Channel, DocumentGroup

LIST_SEPARATOR = "|"
"""Separates the items of a list in one spreadsheet cell ("gks | giấy khai sinh")."""
CELL_LIMIT = 32_000
"""Excel keeps at most 32,767 characters in a cell: no text field may hold more."""

GROUP_LABELS = {
    DocumentGroup.SUBMIT: "Phải nộp",
    DocumentGroup.PRESENT: "Phải xuất trình",
    DocumentGroup.NOTE: "Lưu ý",
}
"""The Vietnamese words for a document's group, as staff read and type them."""

YES, NO = "Có", "Không"
_YES = {"có", "co", "x", "1", "true", "yes"}
_NO = {"không", "khong", "0", "false", "no"}


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    NUMBER = "number"
    """A decimal number (processing time: "1,5" ngày)."""
    MONEY = "money"
    """Đồng, read by knowledge.money."""
    BOOL = "bool"
    CHOICE = "choice"
    LIST = "list"
    """Several short texts: one per line in a form, separated by "|" in a cell."""
    DATA = "data"
    """A structured value (a mapping or a list), written as JSON in a spreadsheet cell."""


class FieldError(UsageError):
    """One field with a value that cannot be saved. `reason` says why without saying where,
    so the same mistake on many spreadsheet rows can be reported once."""

    def __init__(self, label: str, reason: str, where: str = "") -> None:
        self.label = label
        self.reason = reason
        self.where = where
        super().__init__(self.text())

    def text(self) -> str:
        return f"{self.where} — {self.label}: {self.reason}" if self.where else f"{self.label}: {self.reason}"

    def at(self, where: str) -> FieldError:
        return FieldError(self.label, self.reason, where)


class InvalidRecord(UsageError):
    """Every problem found in one record, so staff fix them all in one go."""

    def __init__(self, problems: Sequence[FieldError]) -> None:
        self.problems = list(problems)
        super().__init__(" ".join(p.text() for p in self.problems))


@dataclass(frozen=True, slots=True)
class Field:
    """One staff-editable field."""

    key: str
    """The key in a record's snapshot, the YAML file and the database column."""
    label: str
    """The Vietnamese name: the spreadsheet header, the form label, the audit log's wording."""
    kind: Kind = Kind.TEXT
    limit: int = 4000
    """Most characters of a text (or of each item of a list); the largest integer."""
    required: bool = False
    """A text that may not be empty; a list that needs at least one item."""
    optional: bool = False
    """An empty text is stored as None (no value) rather than ""."""
    choices: tuple[tuple[str, str], ...] = ()
    """(stored code, Vietnamese word) for a choice."""
    default: Any = None
    """A choice's value when a form leaves it empty."""
    width: int = 14
    """Spreadsheet column width, in characters."""
    unique: bool = False
    """A list whose items are kept once each (aliases, question phrasings)."""

    def clean(self, value: Any) -> Any:
        """The value to store, or FieldError saying what is wrong with it."""
        if self.kind is Kind.TEXT:
            return self._text(value)
        if self.kind is Kind.INT:
            return self._int(value)
        if self.kind is Kind.NUMBER:
            return self._number(value)
        if self.kind is Kind.MONEY:
            try:
                return parse_amount(value, self.label)
            except MoneyError as exc:
                raise FieldError(self.label, exc.reason) from exc
        if self.kind is Kind.BOOL:
            return self._bool(value)
        if self.kind is Kind.CHOICE:
            return self._choice(value)
        if self.kind is Kind.DATA:
            return self._data(value)
        return self._list(value)

    # --- kinds ----------------------------------------------------------------------------

    def _text(self, value: Any) -> str | None:
        if value is None:
            value = ""
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise FieldError(self.label, "cần văn bản.")
        text = str(value).strip() if not isinstance(value, str) else value.strip()
        if self.required and not text:
            raise FieldError(self.label, "không được để trống.")
        if len(text) > self.limit:
            raise FieldError(self.label, f"quá dài ({len(text):,} ký tự; tối đa {self.limit:,}).".replace(",", "."))
        return text or (None if self.optional else "")

    def _int(self, value: Any) -> int:
        shown = _shown_raw(value)
        if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
            raise FieldError(self.label, f"cần một số nguyên từ 0 đến {self.limit} (ghi 0 nếu không có).")
        if isinstance(value, float):
            if not math.isfinite(value) or value != int(value):
                raise FieldError(self.label, f"cần một số nguyên (đang ghi “{shown}”).")
            value = int(value)
        if isinstance(value, str):
            if not re.fullmatch(r"\d+", value.strip()):
                raise FieldError(self.label, f"cần một số nguyên (đang ghi “{shown}”).")
            value = int(value.strip())
        if not isinstance(value, int):
            raise FieldError(self.label, "cần một số nguyên.")
        if not 0 <= value <= self.limit:
            raise FieldError(self.label, f"phải từ 0 đến {self.limit} (đang ghi {value}).")
        return value

    def _number(self, value: Any) -> float | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        shown = _shown_raw(value)
        if isinstance(value, bool):
            raise FieldError(self.label, "cần một số.")
        if isinstance(value, str):
            text = value.strip()
            if not re.fullmatch(r"\d+(?:[.,]\d+)?", text):
                raise FieldError(self.label, f"cần một số, ví dụ 5 hoặc 1,5 (đang ghi “{shown}”).")
            value = float(text.replace(",", "."))
        if not isinstance(value, int | float) or not math.isfinite(value) or not 0 <= value <= self.limit:
            raise FieldError(self.label, f"phải là số từ 0 đến {self.limit} (đang ghi “{shown}”).")
        return float(value)

    def _bool(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = fold(str(value)) if value is not None else ""
        if text in {fold(w) for w in _YES}:
            return True
        if text in {fold(w) for w in _NO}:
            return False
        raise FieldError(self.label, f"cần “{YES}” hoặc “{NO}” (đang ghi “{_shown_raw(value)}”).")

    def _choice(self, value: Any) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            if self.default is not None:
                return str(self.default)
            raise FieldError(self.label, f"cần chọn một trong: {self.words()}.")
        key = fold(str(value))
        for code, word in self.choices:
            if key in (fold(code), fold(word)):
                return code
        raise FieldError(self.label, f"“{_shown_raw(value)}” không phải một lựa chọn; cần một trong: {self.words()}.")

    def _data(self, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise FieldError(self.label, "cần dữ liệu dạng JSON như tệp xuất ra.") from exc
        if not isinstance(value, dict | list):
            raise FieldError(self.label, "cần dữ liệu dạng JSON như tệp xuất ra.")
        if len(json.dumps(value, ensure_ascii=False)) > self.limit:
            raise FieldError(self.label, f"quá dài (tối đa {self.limit} ký tự).")
        return value

    def _list(self, value: Any) -> list[str]:
        if value is None:
            items: list[Any] = []
        elif isinstance(value, str):
            items = [part for line in value.splitlines() for part in line.split(LIST_SEPARATOR)]
        elif isinstance(value, list | tuple):
            items = list(value)
        else:
            raise FieldError(self.label, "cần một danh sách.")
        out: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise FieldError(self.label, "mỗi mục cần là văn bản.")
            text = item.strip()
            if not text:
                continue
            if LIST_SEPARATOR in text:
                raise FieldError(self.label, f"“{text[:40]}” không được chứa dấu {LIST_SEPARATOR}.")
            if len(text) > self.limit:
                raise FieldError(self.label, f"có mục quá dài (tối đa {self.limit} ký tự): “{text[:40]}…”.")
            if not (self.unique and text in out):
                out.append(text)
        if self.required and not out:
            raise FieldError(self.label, "cần ít nhất một mục.")
        return out

    # --- showing ----------------------------------------------------------------------------

    def words(self) -> str:
        """The choices as staff read them: "Trực tiếp, Trực tuyến, Dịch vụ bưu chính"."""
        return ", ".join(word for _, word in self.choices)

    def word(self, code: Any) -> str:
        return next((w for c, w in self.choices if c == code), str(code))

    def to_cell(self, value: Any) -> Any:
        """The value as a spreadsheet cell holds it (Vietnamese words, not codes)."""
        if self.kind is Kind.BOOL:
            return YES if value else NO
        if self.kind is Kind.CHOICE:
            return self.word(value)
        if self.kind is Kind.LIST:
            return f" {LIST_SEPARATOR} ".join(value or [])
        if self.kind is Kind.NUMBER and isinstance(value, float) and value == int(value):
            return int(value)
        if self.kind is Kind.DATA:
            return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else None
        return value

    def shown(self, value: Any) -> str:
        """The value as the audit log and the edit form show it."""
        if value is None or value == "" or value == []:
            return "(trống)"
        if self.kind is Kind.BOOL:
            return YES if value else NO
        if self.kind is Kind.CHOICE:
            return self.word(value)
        if self.kind is Kind.MONEY:
            return f"{format_amount(int(value))} đồng"
        if self.kind is Kind.NUMBER:
            return number_text(value)
        if self.kind is Kind.LIST:
            return f" {LIST_SEPARATOR} ".join(value)
        if self.kind is Kind.DATA:
            return json.dumps(value, ensure_ascii=False, sort_keys=True)
        return str(value)


def number_text(value: Any) -> str:
    """1.0 -> "1", 1.5 -> "1,5": a number as Vietnamese writes it, never "1.0"."""
    if value is None:
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).replace(".", ",") if isinstance(value, float) else str(value)


def _shown_raw(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) and math.isfinite(value) else str(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _choices(enum: type[StrEnum], labels: dict[Any, str]) -> tuple[tuple[str, str], ...]:
    return tuple((member.value, labels[member]) for member in enum)


@dataclass(frozen=True, slots=True)
class Rows:
    """A list of sub-records inside a record (a procedure's channels, its documents)."""

    key: str
    label: str
    """Singular Vietnamese name of one row ("Cách thức", "Giấy tờ")."""
    fields: tuple[Field, ...]
    title: str
    """The field that names a row in messages (a channel's kind, a document's name)."""

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)


@dataclass(frozen=True, slots=True)
class Record:
    """A kind of record staff edit: its own fields and its lists of rows."""

    entity: str
    """The audit log's entity name."""
    label: str
    fields: tuple[Field, ...]
    rows: tuple[Rows, ...] = ()

    def field(self, key: str) -> Field | None:
        return next((f for f in self.fields if f.key == key), None)

    def field_named(self, key: str) -> Field:
        """A declared field; KeyError for a key the record does not have (a programming slip)."""
        found = self.field(key)
        if found is None:
            raise KeyError(key)
        return found

    def row_list(self, key: str) -> Rows | None:
        return next((r for r in self.rows if r.key == key), None)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields) + tuple(r.key for r in self.rows)


CHANNEL_FIELDS = Rows(
    "channels",
    "Cách thức",
    (
        Field(
            "channel", "Hình thức nộp", Kind.CHOICE, choices=_choices(Channel, {c: c.label for c in Channel}), width=18
        ),
        Field("time_value", "Thời hạn", Kind.NUMBER, limit=100_000, width=10),
        Field("time_unit", "Đơn vị thời hạn", limit=40, optional=True, width=16),
        Field("time_text", "Thời hạn (nguyên văn)", limit=400, width=30),
        Field("fee_amount", "Lệ phí (đồng)", Kind.MONEY, width=14),
        Field("fee_text", "Phí, lệ phí (nguyên văn)", limit=4000, width=40),
        Field("description", "Mô tả", limit=CELL_LIMIT, width=40),
    ),
    title="channel",
)
DOCUMENT_FIELDS = Rows(
    "documents",
    "Giấy tờ",
    (
        Field("name", "Tên giấy tờ", limit=20_000, required=True, width=60),
        Field("originals", "Bản chính", Kind.INT, limit=10_000, width=10),
        Field("copies", "Bản sao", Kind.INT, limit=10_000, width=10),
        Field(
            "group",
            "Nhóm",
            Kind.CHOICE,
            choices=_choices(DocumentGroup, GROUP_LABELS),
            default=DocumentGroup.SUBMIT.value,
            width=16,
        ),
        Field("condition", "Điều kiện", limit=20_000, optional=True, width=30),
        Field("forms", "Mẫu đơn, tờ khai", Kind.LIST, limit=2000, width=30),
    ),
    title="name",
)
PROCEDURE = Record(
    "procedure",
    "Thủ tục",
    (
        Field("name", "Tên thủ tục", limit=2000, required=True, width=60),
        Field("active", "Đang hướng dẫn", Kind.BOOL, width=14),
        Field("popularity", "Mức phổ biến", Kind.INT, limit=100, width=12),
        Field("aliases", "Tên gọi thường dùng", Kind.LIST, limit=300, unique=True, width=50),
    ),
    (CHANNEL_FIELDS, DOCUMENT_FIELDS),
)
FAQ = Record(
    "faq",
    "Câu hỏi thường gặp",
    (
        Field("questions", "Các cách hỏi", Kind.LIST, limit=1000, required=True, unique=True, width=50),
        Field("answer", "Câu trả lời", limit=8000, required=True, width=60),
        Field("procedure", "Mã thủ tục", limit=20, optional=True, width=12),
        Field("active", "Đang dùng", Kind.BOOL, width=10),
    ),
)
UNIT = Record(
    "unit",
    "Đơn vị",
    (
        Field("name", "Tên đơn vị", limit=300, required=True),
        Field("address", "Địa chỉ", limit=500, required=True),
        Field("hours", "Giờ làm việc", limit=500, required=True),
        Field("hotline", "Đường dây nóng", limit=60, required=True),
        Field("email", "Thư điện tử", limit=200, optional=True),
        Field("website", "Trang web", limit=300, optional=True),
    ),
)
RECORDS = {r.entity: r for r in (PROCEDURE, FAQ, UNIT)}


def clean_fields(fields: Sequence[Field], data: dict[str, Any], where: str = "") -> dict[str, Any]:
    """Every field of `fields` cleaned from `data`; InvalidRecord lists every problem."""
    out: dict[str, Any] = {}
    problems: list[FieldError] = []
    for f in fields:
        try:
            out[f.key] = f.clean(data.get(f.key))
        except FieldError as exc:
            problems.append(exc.at(where) if where else exc)
    if problems:
        raise InvalidRecord(problems)
    return out


def row_where(rows: Rows, index: int, row: dict[str, Any]) -> str:
    """ "Cách thức 2 (Trực tiếp)", "Giấy tờ 3 (Tờ khai đăng ký…)": a row as staff see it."""
    title_field = rows.field(rows.title)
    raw = row.get(rows.title)
    title = ""
    if title_field is not None and raw not in (None, ""):
        title = title_field.word(raw) if title_field.kind is Kind.CHOICE else str(raw)
        title = title if len(title) <= 40 else title[:40] + "…"
    return f"{rows.label} {index + 1}" + (f" ({title})" if title else "")


def clean_record(record: Record, data: dict[str, Any]) -> dict[str, Any]:
    """A whole record (with its rows) cleaned; InvalidRecord lists every problem found."""
    problems: list[FieldError] = []
    out: dict[str, Any] = {}
    try:
        out.update(clean_fields(record.fields, data))
    except InvalidRecord as exc:
        problems.extend(exc.problems)
    for rows in record.rows:
        cleaned = []
        for i, row in enumerate(data.get(rows.key) or []):
            if not isinstance(row, dict):
                problems.append(FieldError(rows.label, "dòng không hợp lệ.", f"{rows.label} {i + 1}"))
                continue
            try:
                cleaned.append(clean_fields(rows.fields, row, row_where(rows, i, row)))
            except InvalidRecord as exc:
                problems.extend(exc.problems)
        out[rows.key] = cleaned
    if problems:
        raise InvalidRecord(problems)
    return out


# --- what changed: paths into a snapshot ------------------------------------------------------

Path = tuple[str | int, ...]
"""("name",), ("aliases",), ("channels", 0, "fee_amount"), or ("documents",) for the whole list."""


def changed_paths(record: Record, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Path]:
    """The smallest parts of a record that differ: a field, a field of one row when both
    sides have the same rows, else a whole list."""
    before, after = before or {}, after or {}
    paths: list[Path] = []
    for key in _keys(record, before, after):
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        rows = record.row_list(key)
        if rows is not None and isinstance(b, list) and isinstance(a, list) and len(b) == len(a):
            for i, (rb, ra) in enumerate(zip(b, a, strict=True)):
                for sub in _keys_of(rows.fields, rb, ra):
                    if rb.get(sub) != ra.get(sub):
                        paths.append((key, i, sub))
        else:
            paths.append((key,))
    return paths


def _keys(record: Record, *snapshots: dict[str, Any]) -> list[str]:
    """Declared keys first, then any other key a snapshot holds (never hidden), identity out."""
    seen = list(record.keys)
    for snap in snapshots:
        seen.extend(k for k in snap if k not in seen and k not in ("code", "id"))
    return seen


def _keys_of(fields: Sequence[Field], *rows: dict[str, Any]) -> Iterator[str]:
    seen = [f.key for f in fields]
    for row in rows:
        seen.extend(k for k in row if k not in seen)
    yield from seen


def get_path(snapshot: dict[str, Any], path: Path) -> Any:
    value: Any = snapshot
    for part in path:
        if isinstance(part, int):
            if not isinstance(value, list) or part >= len(value):
                return _MISSING
            value = value[part]
        else:
            if not isinstance(value, dict) or part not in value:
                return _MISSING
            value = value[part]
    return value


def set_path(snapshot: dict[str, Any], path: Path, value: Any) -> None:
    target: Any = snapshot
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def path_label(record: Record, path: Path, snapshot: dict[str, Any] | None = None) -> str:
    """ "Cách thức 1 (Trực tiếp) — Lệ phí (đồng)": a path in the words staff use."""
    key = str(path[0])
    rows = record.row_list(key)
    if rows is None:
        f = record.field(key)
        return f.label if f else key
    if len(path) == 1:
        return rows.label
    row = get_path(snapshot or {}, path[:2])
    where = row_where(rows, int(path[1]), row if isinstance(row, dict) else {})
    f = rows.field(str(path[2]))
    return f"{where} — {f.label if f else path[2]}"


def path_field(record: Record, path: Path) -> Field | None:
    rows = record.row_list(str(path[0]))
    if rows is None:
        return record.field(str(path[0]))
    return rows.field(str(path[2])) if len(path) == 3 else None


# --- showing a change ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """One changed part of a record, in words: what, before and after."""

    label: str
    before: str
    after: str


SHOWN_LIMIT = 160
"""Characters of a long text shown around the place where it changed."""


def describe(record: Record, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """The changes between two snapshots, as staff read them (only what changed)."""
    out: list[Change] = []
    for path in changed_paths(record, before, after):
        b, a = get_path(before or {}, path), get_path(after or {}, path)
        rows = record.row_list(str(path[0]))
        if rows is not None and len(path) == 1:
            out.append(_describe_rows(rows, b if isinstance(b, list) else [], a if isinstance(a, list) else []))
            continue
        f = path_field(record, path)
        label = path_label(record, path, after or before)
        if f is not None and f.kind is Kind.LIST and isinstance(b, list) and isinstance(a, list):
            out.append(_describe_list(label, b, a))
            continue
        shown_b = f.shown(b) if f and b is not _MISSING else _plain(b)
        shown_a = f.shown(a) if f and a is not _MISSING else _plain(a)
        shown_b, shown_a = _around_difference(shown_b, shown_a)
        out.append(Change(label, shown_b, shown_a))
    return out


def _plain(value: Any) -> str:
    if value is _MISSING or value is None or value == "":
        return "(trống)"
    return str(value)


def _describe_list(label: str, before: list[Any], after: list[Any]) -> Change:
    removed = [x for x in before if x not in after]
    added = [x for x in after if x not in before]
    if not removed and not added:
        return Change(label, "thứ tự cũ", "thứ tự mới")
    return Change(
        label,
        "bỏ: " + "; ".join(map(str, removed)) if removed else "—",
        "thêm: " + "; ".join(map(str, added)) if added else "—",
    )


def _row_summary(rows: Rows, row: dict[str, Any]) -> str:
    parts = []
    for f in rows.fields:
        value = row.get(f.key)
        if value in (None, "", []) or f.key == "description":
            continue
        parts.append(f.shown(value) if f.kind in (Kind.CHOICE, Kind.MONEY, Kind.LIST) else str(value))
    text = ", ".join(parts)
    return text if len(text) <= SHOWN_LIMIT else text[:SHOWN_LIMIT] + "…"


def _describe_rows(rows: Rows, before: list[Any], after: list[Any]) -> Change:
    removed = [r for r in before if r not in after]
    added = [r for r in after if r not in before]
    label = f"{rows.label} ({len(before)} → {len(after)} dòng)"
    return Change(
        label,
        "bỏ: " + "; ".join(_row_summary(rows, r) for r in removed) if removed else "—",
        "thêm: " + "; ".join(_row_summary(rows, r) for r in added) if added else "—",
    )


def _around_difference(before: str, after: str) -> tuple[str, str]:
    """Long texts cut to the part that changed, with a little context on each side."""
    if len(before) <= SHOWN_LIMIT and len(after) <= SHOWN_LIMIT:
        return before, after
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    context = 40

    def cut(text: str) -> str:
        lo = max(0, start - context)
        hi = min(len(text), len(text) - end + context)
        piece = text[lo:hi]
        if len(piece) > SHOWN_LIMIT:
            piece = piece[:SHOWN_LIMIT] + "…"
        return ("…" if lo > 0 else "") + piece + ("…" if hi < len(text) else "")

    return cut(before), cut(after)
