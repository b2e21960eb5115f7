"""Staff import/export of procedures and FAQs as Excel (.xlsx) or YAML.

The spreadsheet speaks the staff's words: Vietnamese headers, "Trực tiếp" / "Phải nộp" / "Có"
as values with drop-down lists, a frozen header row with filters. An import is strict and all
or nothing: every sheet must have exactly the exported columns (a renamed, deleted or doubled
column refuses the file, naming the column), every row is checked, errors give the sheet and
the Excel row number, and the same mistake on many rows is reported once. Each procedure and
FAQ carries its version, so a file exported before a colleague's edit cannot silently undo it.
An exported file imported unchanged changes nothing."""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from knowledge.db import Database, bump_revision
from knowledge.editing import (
    EDITABLE,
    LOCAL_TIME,
    AuditAction,
    _apply_faq,
    _apply_procedure,
    _audit,
    _create_faq,
    _load_faq,
    _load_procedure,
    audit_log,
    clean_faq,
    clean_procedure,
    faq_snapshot,
    local,
    procedure_snapshot,
)
from knowledge.errors import ConflictError, UsageError
from knowledge.fields import (
    CHANNEL_FIELDS,
    DOCUMENT_FIELDS,
    FAQ,
    NO,
    PROCEDURE,
    YES,
    Field,
    FieldError,
    InvalidRecord,
    Kind,
    Rows,
)
from knowledge.models import Faq, Procedure
from knowledge.text import fold

log = logging.getLogger(__name__)

MAX_UNPACKED = 200 * 1024 * 1024
"""Most bytes a spreadsheet may unpack to (all its zip members). The whole catalog exports
to about 15 MB unpacked; a few kilobytes that unpack to gigabytes are a zip bomb."""
MAX_MEMBERS = 500
MAX_YAML_DEPTH = 12
"""The exported YAML nests 5 deep (file, list, procedure, documents, document, forms)."""
ROWS_SHOWN = 8
"""Row numbers listed for one mistake before "và N dòng khác"."""

CODE = Field("code", "Mã thủ tục", limit=20, required=True, width=12)
VERSION = Field("version", "Phiên bản (không sửa)", Kind.INT, limit=10**9, width=12)
"""The record's version when it was exported: an import refuses to overwrite a later edit."""
FAQ_ID = Field("id", "Mã số", limit=12, optional=True, width=8)


@dataclass(frozen=True, slots=True)
class Sheet:
    """One sheet of the workbook: its columns, in order."""

    name: str
    columns: tuple[Field, ...]


SHEETS = (
    Sheet(PROCEDURE.label, (CODE, *PROCEDURE.fields, VERSION)),
    Sheet(CHANNEL_FIELDS.label, (CODE, *CHANNEL_FIELDS.fields)),
    Sheet(DOCUMENT_FIELDS.label, (CODE, *DOCUMENT_FIELDS.fields)),
    Sheet("Hỏi đáp", (FAQ_ID, *FAQ.fields, VERSION)),
)
PROCEDURES, CHANNELS, DOCUMENTS, FAQS = SHEETS
CHILD_SHEETS: tuple[tuple[Sheet, Rows], ...] = ((CHANNELS, CHANNEL_FIELDS), (DOCUMENTS, DOCUMENT_FIELDS))
"""The sheets that hold a procedure's rows, with the rows they hold."""
BY_NAME = {s.name: s for s in SHEETS}
_CODE_SHAPE = re.compile(r"\d\.\d{6}")


@dataclass(slots=True)
class ImportPlan:
    """What a file would change, or why it cannot be applied."""

    procedures: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int | None] = field(default_factory=dict)
    faqs: list[tuple[int | None, dict[str, Any], int | None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the file leaves as it is (a sheet it does not have)."""
    unchanged: set[str] = field(default_factory=set)
    """Codes of the procedures the file leaves exactly as they are (nothing to write)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    procedures_changed: int
    faqs_changed: int
    faqs_created: int = 0
    notes: tuple[str, ...] = ()


class _Problems:
    """Import errors, the same mistake on many rows told once with its row numbers."""

    def __init__(self) -> None:
        self._grouped: dict[tuple[str, str, str], list[int]] = {}
        self._plain: list[str] = []

    def add(self, place: str, label: str, reason: str, row: int) -> None:
        self._grouped.setdefault((place, label, reason), []).append(row)

    def note(self, text: str) -> None:
        if text not in self._plain:
            self._plain.append(text)

    def __bool__(self) -> bool:
        return bool(self._grouped or self._plain)

    def messages(self, row_word: str) -> list[str]:
        out = list(self._plain)
        for (place, label, reason), rows in self._grouped.items():
            shown = ", ".join(str(n) for n in rows[:ROWS_SHOWN])
            if len(rows) > ROWS_SHOWN:
                shown += f" và {len(rows) - ROWS_SHOWN} {row_word} khác"
            out.append(f"{place}, {row_word} {shown} — {label}: {reason}")
        return out


# --- export -------------------------------------------------------------------------------


def snapshots(
    db: Database, codes: list[str] | None = None
) -> tuple[list[tuple[dict[str, Any], int]], list[tuple[dict[str, Any], int]]]:
    """(snapshot, version) of the procedures (all, or those of `codes`) and of every FAQ."""
    with db.sessions() as s:
        q = select(Procedure).order_by(Procedure.code).options(*EDITABLE)
        if codes:
            q = q.where(Procedure.code.in_(codes))
        procs = [(procedure_snapshot(p), p.version) for p in s.scalars(q)]
        faqs = [
            (faq_snapshot(f), f.version)
            for f in s.scalars(select(Faq).order_by(Faq.id).options(selectinload(Faq.questions)))
        ]
    return procs, faqs


def export_yaml(db: Database, codes: list[str] | None = None) -> bytes:
    procs, faqs = snapshots(db, codes)
    data = {
        "procedures": [{**p, "version": v} for p, v in procs],
        "faqs": [{**f, "version": v} for f, v in faqs],
    }
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's writer is ~10 times faster
    return yaml.dump(data, Dumper=dumper, allow_unicode=True, sort_keys=False, width=120).encode("utf-8")


_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="0B3D91")


def _setup_sheet(ws: Worksheet, sheet: Sheet) -> None:
    ws.append([c.label for c in sheet.columns])
    for i, column in enumerate(sheet.columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = column.width
        cell = ws.cell(row=1, column=i)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        words = [YES, NO] if column.kind is Kind.BOOL else [w for _, w in column.choices]
        if words:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(words) + '"',
                allow_blank=False,
                showErrorMessage=True,
                errorTitle="Giá trị không hợp lệ",
                error=f"{column.label}: chọn một trong {', '.join(words)}.",
                promptTitle=column.label,
                prompt="Chọn trong danh sách.",
                showInputMessage=True,
            )
            dv.add(f"{letter}2:{letter}1048576")
            ws.add_data_validation(dv)
    ws.freeze_panes = "B2"


def _append(ws: Worksheet, sheet: Sheet, row: int, values: list[Any]) -> None:
    """Write `values` on `row` (counted by the caller: ws.max_row scans every cell)."""
    for i, (column, value) in enumerate(zip(sheet.columns, values, strict=True), start=1):
        cell = ws.cell(row=row, column=i, value=value)
        if isinstance(value, str):
            cell.data_type = "s"  # text that starts with "=" stays text, never a formula
        if column is CODE:
            cell.number_format = "@"  # a code typed by hand stays text (1.001190, not 1.00119)
        elif column.kind is Kind.MONEY and value is not None:
            cell.number_format = "#,##0"


def export_xlsx(db: Database, codes: list[str] | None = None) -> bytes:
    procs, faqs = snapshots(db, codes)
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    sheets = {sheet.name: wb.create_sheet(sheet.name) for sheet in SHEETS}
    for sheet in SHEETS:
        _setup_sheet(sheets[sheet.name], sheet)
    rows = {sheet.name: 1 for sheet in SHEETS}

    def add(sheet: Sheet, values: list[Any]) -> None:
        rows[sheet.name] += 1
        _append(sheets[sheet.name], sheet, rows[sheet.name], values)

    for p, version in procs:
        values = {**p, "version": version}
        add(PROCEDURES, [c.to_cell(values.get(c.key)) for c in PROCEDURES.columns])
        for sheet, kind in CHILD_SHEETS:
            for row in p[kind.key]:
                add(sheet, [p["code"] if c is CODE else c.to_cell(row.get(c.key)) for c in sheet.columns])
    for f, version in faqs:
        values = {**f, "version": version}
        add(FAQS, [c.to_cell(values.get(c.key)) for c in FAQS.columns])
    for sheet in SHEETS:
        sheets[sheet.name].auto_filter.ref = f"A1:{get_column_letter(len(sheet.columns))}{max(rows[sheet.name], 2)}"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- reading a file -----------------------------------------------------------------------

RawRows = dict[str, list[tuple[int, dict[str, Any]]]]
"""Sheet name -> (row number, {key: value}) as read, before any checking."""


def _check_zip(content: bytes) -> None:
    """Refuse a zip bomb before any XML is parsed: the sizes a zip declares bound what
    Python's zipfile will unpack (it stops and fails on a member that unpacks to more)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise UsageError("Không đọc được tệp Excel (.xlsx): tệp hỏng hoặc không phải tệp Excel.") from exc
    if len(members) > MAX_MEMBERS:
        raise UsageError(f"Tệp Excel có quá nhiều thành phần ({len(members)}); đây không phải tệp xuất từ trang này.")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED:
        raise UsageError(
            f"Tệp Excel khi giải nén lớn {unpacked // (1024 * 1024):,} MB (tối đa {MAX_UNPACKED // (1024 * 1024)} MB). "
            "Hãy xuất lại tệp từ trang này hoặc chia nhỏ tệp.".replace(",", ".")
        )


def _header_key(value: Any) -> str:
    return fold(unicodedata.normalize("NFC", str(value))) if value is not None else ""


def _check_header(sheet: Sheet, header: tuple[Any, ...], problems: _Problems) -> list[Field | None] | None:
    """The column each position holds; None (with problems) when the columns are not exactly
    the exported ones."""
    wanted = {_header_key(c.label): c for c in sheet.columns}
    found: list[Field | None] = []
    seen: dict[str, list[str]] = {}
    ok = True
    for i, value in enumerate(header, start=1):
        key = _header_key(value)
        letter = get_column_letter(i)
        if not key:
            found.append(None)
            continue
        column = wanted.get(key)
        if column is None:
            problems.note(
                f"Trang “{sheet.name}”: cột {letter} “{str(value).strip()[:60]}” không có trong mẫu. "
                f"Các cột của trang này: {', '.join(c.label for c in sheet.columns)}. Hãy đặt lại đúng tên cột."
            )
            ok = False
            found.append(None)
            continue
        seen.setdefault(column.key, []).append(letter)
        found.append(column)
    for column in sheet.columns:
        letters = seen.get(column.key, [])
        if not letters:
            problems.note(
                f"Trang “{sheet.name}”: thiếu cột “{column.label}”. Mỗi trang cần đủ các cột như tệp xuất ra."
            )
            ok = False
        elif len(letters) > 1:
            problems.note(
                f"Trang “{sheet.name}”: cột “{column.label}” có {len(letters)} lần (cột {', '.join(letters)}); "
                "chỉ giữ một cột."
            )
            ok = False
    return found if ok else None


def _rows_from_xlsx(content: bytes, problems: _Problems) -> RawRows:
    _check_zip(content)
    rows: RawRows = {}
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            names = list(wb.sheetnames)
            unknown = [n for n in names if n.strip() not in BY_NAME]
            for name in unknown:
                problems.note(
                    f"Trang “{name[:60]}” không có trong mẫu (các trang: {', '.join(BY_NAME)}). "
                    "Hãy đổi tên trang hoặc xóa trang này."
                )
            for name in names:
                sheet = BY_NAME.get(name.strip())
                if sheet is None:
                    continue
                it = wb[name].iter_rows(values_only=True)
                header = next(it, None)
                if header is None:
                    problems.note(f"Trang “{sheet.name}” trống: cần dòng tiêu đề như tệp xuất ra.")
                    continue
                columns = _check_header(sheet, tuple(header), problems)
                if columns is None:
                    continue
                found = []
                for n, values in enumerate(it, start=2):
                    if values is None or all(v is None or str(v).strip() == "" for v in values):
                        continue
                    row: dict[str, Any] = {}
                    for i, value in enumerate(values):
                        column = columns[i] if i < len(columns) else None
                        if column is not None:
                            row[column.key] = value
                        elif value is not None and str(value).strip():
                            problems.add(
                                f"Trang “{sheet.name}”",
                                f"cột {get_column_letter(i + 1)}",
                                "có dữ liệu nhưng không có tiêu đề cột.",
                                n,
                            )
                    found.append((n, row))
                rows[sheet.name] = found
        finally:
            wb.close()
    except UsageError:
        raise
    except Exception as exc:
        # openpyxl over a hostile or damaged file can fail in many ways (truncated XML, a
        # forbidden entity, a missing part, a wrong type); each means the file cannot be read.
        log.info("unreadable spreadsheet: %s: %s", type(exc).__name__, str(exc)[:200])
        raise UsageError(
            "Không đọc được tệp Excel (.xlsx): nội dung tệp bị hỏng hoặc không đúng định dạng. "
            "Hãy mở tệp bằng Excel, lưu lại, hoặc xuất lại tệp từ trang này."
        ) from exc
    return rows


def _yaml_loader() -> Any:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _check_yaml_shape(text: str) -> None:
    """Refuse deep nesting and anchors before building any object: events come from a
    parser with a stack of its own, so 20,000 nested brackets cannot exhaust Python's."""
    depth = 0
    for event in yaml.parse(text, Loader=_yaml_loader()):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise UsageError(
                    f"Tệp YAML lồng nhau quá sâu (hơn {MAX_YAML_DEPTH} tầng); đây không phải tệp xuất từ trang này."
                )
            if event.anchor:
                raise UsageError("Tệp YAML không được dùng tham chiếu (&, *).")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent) or (isinstance(event, yaml.ScalarEvent) and event.anchor):
            raise UsageError("Tệp YAML không được dùng tham chiếu (&, *).")


def _load_yaml(content: bytes) -> Any:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError("Không đọc được tệp YAML: tệp không phải UTF-8.") from exc
    try:
        _check_yaml_shape(text)
        return yaml.load(text, Loader=_yaml_loader())  # a safe loader (C or Python)
    except yaml.MarkedYAMLError as exc:
        where = f" (dòng {exc.problem_mark.line + 1})" if exc.problem_mark else ""
        raise UsageError(f"Không đọc được tệp YAML{where}: cú pháp không đúng.") from exc
    except yaml.YAMLError as exc:
        raise UsageError("Không đọc được tệp YAML: cú pháp không đúng.") from exc


def _strict_keys(item: Any, allowed: Iterable[str], where: str, problems: _Problems) -> dict[str, Any] | None:
    allowed = list(allowed)
    if not isinstance(item, dict):
        problems.note(f"{where}: cần các trường {', '.join(allowed)}.")
        return None
    unknown = [str(k) for k in item if k not in allowed]
    missing = [k for k in allowed if k not in item]
    if unknown:
        problems.note(f"{where}: trường không có trong mẫu: {', '.join(unknown)}.")
    if missing:
        problems.note(f"{where}: thiếu trường {', '.join(missing)}.")
    return None if unknown or missing else item


def _rows_from_yaml(content: bytes, problems: _Problems) -> RawRows:
    data = _load_yaml(content)
    if not isinstance(data, dict) or not set(data) <= {"procedures", "faqs"} or not data:
        raise UsageError("Tệp YAML cần các khóa “procedures” và/hoặc “faqs” (như tệp xuất ra).")
    rows: RawRows = {}
    if "procedures" in data:
        rows[PROCEDURES.name], rows[CHANNELS.name], rows[DOCUMENTS.name] = [], [], []
        items = data["procedures"] or []
        if not isinstance(items, list):
            raise UsageError("Tệp YAML: “procedures” cần là một danh sách.")
        for n, p in enumerate(items, start=1):
            where = f"Thủ tục mục {n}"
            checked = _strict_keys(p, [c.key for c in PROCEDURES.columns] + ["channels", "documents"], where, problems)
            if checked is None:
                continue
            code = checked.get("code")
            rows[PROCEDURES.name].append((n, {c.key: checked.get(c.key) for c in PROCEDURES.columns}))
            for sheet, kind in CHILD_SHEETS:
                sub = checked.get(kind.key) or []
                if not isinstance(sub, list):
                    problems.note(f"{where}: “{kind.key}” cần là một danh sách.")
                    continue
                for m, row in enumerate(sub, start=1):
                    item = _strict_keys(row, [f.key for f in kind.fields], f"{where}, {kind.label} {m}", problems)
                    if item is not None:
                        rows[sheet.name].append((n, {**item, "code": code}))
    if "faqs" in data:
        items = data["faqs"] or []
        if not isinstance(items, list):
            raise UsageError("Tệp YAML: “faqs” cần là một danh sách.")
        rows[FAQS.name] = []
        for n, f in enumerate(items, start=1):
            checked = _strict_keys(f, [c.key for c in FAQS.columns], f"Hỏi đáp mục {n}", problems)
            if checked is not None:
                rows[FAQS.name].append((n, checked))
    return rows


# --- checking -----------------------------------------------------------------------------


def _code(value: Any) -> str:
    """A procedure code as typed; Excel turns "1.001190" typed by hand into 1.00119."""
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value).strip() if value is not None else ""


def _clean_row(
    columns: Iterable[Field], row: dict[str, Any], n: int, place: str, problems: _Problems
) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    ok = True
    for column in columns:
        try:
            out[column.key] = column.clean(row.get(column.key))
        except FieldError as exc:
            problems.add(place, exc.label, exc.reason, n)
            ok = False
    return out if ok else None


def _version(value: Any, n: int, place: str, problems: _Problems) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return int(VERSION.clean(value))
    except FieldError as exc:
        problems.add(place, exc.label, exc.reason, n)
        return None


def plan_import(db: Database, content: bytes, filename: str, tz: tzinfo = LOCAL_TIME) -> ImportPlan:
    """Read and check every row; nothing is written."""
    plan = ImportPlan()
    if not content:
        raise UsageError("Tệp rỗng.")
    problems = _Problems()
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    rows = _rows_from_xlsx(content, problems) if is_xlsx else _rows_from_yaml(content, problems)
    row_word = "dòng" if is_xlsx else "mục"
    if problems:
        plan.errors = problems.messages(row_word)
        return plan
    if not rows:
        raise UsageError(f"Tệp cần trang “{PROCEDURES.name}” và/hoặc “{FAQS.name}” (như tệp xuất ra).")
    procs, faqs = snapshots(db)
    current = {p["code"]: (p, v) for p, v in procs}
    if PROCEDURES.name not in rows and (CHANNELS.name in rows or DOCUMENTS.name in rows):
        problems.note(f"Trang “{CHANNELS.name}” và “{DOCUMENTS.name}” cần trang “{PROCEDURES.name}” đi kèm.")
    # procedures
    place = f"Trang “{PROCEDURES.name}”" if is_xlsx else "Thủ tục"
    first_row: dict[str, int] = {}
    listed = {_code(row.get("code")) for _, row in rows.get(PROCEDURES.name, [])}
    for n, row in rows.get(PROCEDURES.name, []):
        code = _code(row.get("code"))
        if code not in current:
            problems.add(place, CODE.label, f"không có thủ tục mã “{code[:30]}” (tệp nhập không tạo thủ tục mới).", n)
            continue
        if code in first_row:
            problems.add(place, CODE.label, f"thủ tục {code} đã có ở {row_word} {first_row[code]}.", n)
            continue
        first_row[code] = n
        cleaned = _clean_row(PROCEDURE.fields, row, n, place, problems)
        version = _version(row.get("version"), n, place, problems)
        if cleaned is None:
            continue
        snapshot, _ = current[code]
        plan.procedures[code] = {
            **cleaned,
            "channels": snapshot["channels"] if CHANNELS.name not in rows else [],
            "documents": snapshot["documents"] if DOCUMENTS.name not in rows else [],
        }
        plan.versions[code] = version
    # their channels and documents
    for sheet, kind in CHILD_SHEETS:
        place = f"Trang “{sheet.name}”" if is_xlsx else f"Thủ tục — {kind.label}"
        for n, row in rows.get(sheet.name, []):
            code = _code(row.get("code"))
            cleaned = _clean_row(kind.fields, row, n, place, problems)
            if code not in listed:
                problems.add(place, CODE.label, f"mã “{code[:30]}” không có trong trang “{PROCEDURES.name}”.", n)
                continue
            if cleaned is not None and code in plan.procedures:
                plan.procedures[code][kind.key].append(cleaned)
    for name in (CHANNELS.name, DOCUMENTS.name):
        if PROCEDURES.name in rows and name not in rows:
            plan.notes.append(f"Tệp không có trang “{name}”: phần này của các thủ tục được giữ nguyên.")
    if FAQS.name not in rows and is_xlsx:
        plan.notes.append(f"Tệp không có trang “{FAQS.name}”: câu hỏi thường gặp được giữ nguyên.")
    for code, data in list(plan.procedures.items()):
        try:
            plan.procedures[code] = clean_procedure(data)
        except InvalidRecord as exc:
            for p in exc.problems:
                problems.note(f"Thủ tục {code}: {p.text()}")
    # FAQs
    current_faqs = {f["id"]: (f, v) for f, v in faqs}
    place = f"Trang “{FAQS.name}”" if is_xlsx else "Hỏi đáp"
    seen_ids: dict[int, int] = {}
    for n, row in rows.get(FAQS.name, []):
        raw_id = row.get("id")
        faq_id: int | None = None
        if raw_id not in (None, ""):
            try:
                faq_id = int(float(str(raw_id).strip()))
            except ValueError:
                problems.add(place, FAQ_ID.label, f"cần một số (đang ghi “{str(raw_id)[:30]}”).", n)
                continue
            if faq_id not in current_faqs:
                problems.add(place, FAQ_ID.label, f"không có câu hỏi thường gặp mã số {faq_id}.", n)
                continue
            if faq_id in seen_ids:
                problems.add(place, FAQ_ID.label, f"mã số {faq_id} đã có ở {row_word} {seen_ids[faq_id]}.", n)
                continue
            seen_ids[faq_id] = n
        cleaned = _clean_row(FAQ.fields, row, n, place, problems)
        version = _version(row.get("version"), n, place, problems)
        if cleaned is None:
            continue
        if cleaned["procedure"] and cleaned["procedure"] not in current:
            problems.add(place, "Mã thủ tục", f"không có thủ tục mã “{cleaned['procedure']}”.", n)
            continue
        plan.faqs.append((faq_id, cleaned, version))
    # Only what the file changes is kept, and refused when a colleague edited it since the
    # file was exported.
    for code, data in plan.procedures.items():
        snapshot, version = current[code]
        if _cleaned(clean_procedure, snapshot) == data:
            plan.unchanged.add(code)
            continue
        wanted = plan.versions.get(code)
        if wanted is not None and wanted != version:
            problems.note(_since_export("Thủ tục " + code, db, "procedure", code, tz))
    changed_faqs = []
    for faq_id, data, wanted in plan.faqs:
        if faq_id is not None:
            snapshot, version = current_faqs[faq_id]
            if _cleaned(clean_faq, snapshot) == data:
                continue
            if wanted is not None and wanted != version:
                problems.note(_since_export(f"Câu hỏi thường gặp mã số {faq_id}", db, "faq", str(faq_id), tz))
        changed_faqs.append((faq_id, data, wanted))
    plan.faqs = changed_faqs
    plan.errors = problems.messages(row_word)
    return plan


def _cleaned(clean: Any, snapshot: dict[str, Any]) -> dict[str, Any] | None:
    """A stored record as an import would write it; None if it no longer passes the checks."""
    try:
        return dict(clean(snapshot))
    except InvalidRecord:
        return None


def _since_export(what: str, db: Database, entity: str, key: str, tz: tzinfo) -> str:
    last = audit_log(db, 1, entity, key)
    who = f" ({last[0].username}, {local(last[0].at, tz):%H:%M %d/%m/%Y})" if last else ""
    return (
        f"{what} đã được sửa{who} sau khi tệp này được xuất: nhập tệp sẽ xóa mất thay đổi đó. "
        "Hãy xuất tệp mới rồi sửa lại, hoặc xóa các dòng của thủ tục này khỏi tệp."
    )


def apply_import(db: Database, plan: ImportPlan, username: str) -> ImportResult:
    """Apply a checked plan, all of it or (on any error) none of it."""
    if plan.errors:
        raise UsageError("Tệp còn lỗi; chưa áp dụng gì.")
    changed_p = changed_f = created_f = 0
    with db.session() as s:
        for code, data in plan.procedures.items():
            if code in plan.unchanged:
                continue
            p = _load_procedure(s, code)
            before = procedure_snapshot(p)
            if clean_procedure(before) == data:
                continue
            wanted = plan.versions.get(code)
            if wanted is not None and wanted != p.version:
                raise ConflictError(f"Thủ tục {code} vừa được người khác sửa trong lúc nhập tệp; chưa áp dụng gì.")
            _apply_procedure(p, data)
            s.flush()
            _audit(s, username, "procedure", code, AuditAction.IMPORT, before, procedure_snapshot(p))
            changed_p += 1
        for faq_id, data, wanted in plan.faqs:
            if faq_id is None:
                _create_faq(s, data, username)
                created_f += 1
                continue
            found = _load_faq(s, faq_id)
            before = faq_snapshot(found)
            if clean_faq(before) == data:
                continue
            if wanted is not None and wanted != found.version:
                raise ConflictError(f"Câu hỏi thường gặp {faq_id} vừa được người khác sửa; chưa áp dụng gì.")
            _apply_faq(found, data)
            s.flush()
            _audit(s, username, "faq", str(found.id), AuditAction.IMPORT, before, faq_snapshot(found))
            changed_f += 1
        if changed_p or changed_f or created_f:
            bump_revision(s)
    return ImportResult(changed_p, changed_f, created_f, tuple(plan.notes))
