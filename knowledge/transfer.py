"""Staff import/export of procedures and FAQs as Excel (.xlsx) or YAML.

Round-trip safe: an exported file imported unchanged changes nothing. An import checks every
row first and lists the errors by sheet and row; only a file without errors is applied, all of
it in one transaction."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from knowledge.db import Database, bump_revision
from knowledge.editing import (
    EDITABLE,
    _apply_faq,
    _apply_procedure,
    _audit,
    _create_faq,
    _load_faq,
    _load_procedure,
    clean_faq,
    clean_procedure,
    faq_snapshot,
    procedure_snapshot,
)
from knowledge.errors import UsageError
from knowledge.models import Faq, Procedure

SEP = " | "
# sheet -> [(key, Vietnamese header)]
SHEETS: dict[str, list[tuple[str, str]]] = {
    "Thủ tục": [
        ("code", "Mã thủ tục"),
        ("name", "Tên thủ tục"),
        ("active", "Đang hướng dẫn"),
        ("popularity", "Mức phổ biến"),
        ("aliases", "Tên gọi thường dùng"),
    ],
    "Cách thức": [
        ("code", "Mã thủ tục"),
        ("channel", "Hình thức nộp"),
        ("time_value", "Thời hạn"),
        ("time_unit", "Đơn vị thời hạn"),
        ("time_text", "Thời hạn (nguyên văn)"),
        ("fee_amount", "Lệ phí (đồng)"),
        ("fee_text", "Phí, lệ phí (nguyên văn)"),
        ("description", "Mô tả"),
    ],
    "Giấy tờ": [
        ("code", "Mã thủ tục"),
        ("name", "Tên giấy tờ"),
        ("originals", "Bản chính"),
        ("copies", "Bản sao"),
        ("group", "Nhóm"),
        ("condition", "Điều kiện"),
        ("forms", "Mẫu đơn, tờ khai"),
    ],
    "Hỏi đáp": [
        ("id", "Mã"),
        ("questions", "Các cách hỏi"),
        ("answer", "Câu trả lời"),
        ("procedure", "Mã thủ tục"),
        ("active", "Đang dùng"),
    ],
}
REQUIRED = {
    "Thủ tục": {"code"},
    "Cách thức": {"code", "channel"},
    "Giấy tờ": {"code", "name"},
    "Hỏi đáp": {"questions", "answer"},
}
YES = {"có", "co", "yes", "true", "1", "x"}
NO = {"không", "khong", "no", "false", "0", ""}


@dataclass(slots=True)
class ImportPlan:
    """What a file would change, or why it cannot be applied."""

    procedures: dict[str, dict[str, Any]] = field(default_factory=dict)
    faqs: list[tuple[int | None, dict[str, Any]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportResult:
    procedures_changed: int
    faqs_changed: int


# --- export -------------------------------------------------------------------------------


def snapshots(db: Database, codes: list[str] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with db.sessions() as s:
        q = select(Procedure).order_by(Procedure.code).options(*EDITABLE)
        if codes:
            q = q.where(Procedure.code.in_(codes))
        procs = [procedure_snapshot(p) for p in s.scalars(q)]
        faqs = [faq_snapshot(f) for f in s.scalars(select(Faq).order_by(Faq.id).options(selectinload(Faq.questions)))]
    return procs, faqs


def export_yaml(db: Database, codes: list[str] | None = None) -> bytes:
    procs, faqs = snapshots(db, codes)
    return yaml.safe_dump({"procedures": procs, "faqs": faqs}, allow_unicode=True, sort_keys=False, width=120).encode(
        "utf-8"
    )


def export_xlsx(db: Database, codes: list[str] | None = None) -> bytes:
    procs, faqs = snapshots(db, codes)
    wb = Workbook()
    if wb.active is not None:
        wb.remove(wb.active)
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    for name, cols in SHEETS.items():
        sheets[name].append([label for _, label in cols])
    for p in procs:
        sheets["Thủ tục"].append(
            [p["code"], p["name"], "có" if p["active"] else "không", p["popularity"], SEP.join(p["aliases"])]
        )
        for c in p["channels"]:
            sheets["Cách thức"].append(
                [
                    p["code"],
                    c["channel"],
                    c["time_value"],
                    c["time_unit"],
                    c["time_text"],
                    c["fee_amount"],
                    c["fee_text"],
                    c["description"],
                ]
            )
        for d in p["documents"]:
            sheets["Giấy tờ"].append(
                [p["code"], d["name"], d["originals"], d["copies"], d["group"], d["condition"], SEP.join(d["forms"])]
            )
    for f in faqs:
        sheets["Hỏi đáp"].append(
            [f["id"], SEP.join(f["questions"]), f["answer"], f["procedure"], "có" if f["active"] else "không"]
        )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- import -------------------------------------------------------------------------------


def _bool(value: Any, where: str, errors: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    errors.append(f"{where}: cần 'có' hoặc 'không' (đang là {str(value)[:30]!r}).")
    return True


def _rows_from_xlsx(content: bytes, errors: list[str]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise UsageError(f"Không đọc được tệp Excel (.xlsx): {type(exc).__name__}.") from exc
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    if "Thủ tục" not in wb.sheetnames and "Hỏi đáp" not in wb.sheetnames:
        raise UsageError("Tệp Excel cần trang 'Thủ tục' và/hoặc 'Hỏi đáp' (như tệp xuất ra).")
    for name, cols in SHEETS.items():
        if name not in wb.sheetnames:
            continue
        sheet = wb[name]
        it = sheet.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            continue
        by_label = {label: key for key, label in cols} | {key: key for key, _ in cols}
        keys = [by_label.get(str(h).strip()) if h is not None else None for h in header]
        missing = [label for key, label in cols if key in REQUIRED[name] and key not in keys]
        if missing:
            errors.append(f"Trang '{name}': thiếu cột {', '.join(missing)}.")
            continue
        found = []
        for n, values in enumerate(it, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            found.append((n, {k: v for k, v in zip(keys, values, strict=False) if k}))
        rows[name] = found
    return rows


def _rows_from_yaml(content: bytes) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    try:
        data = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"Không đọc được tệp YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise UsageError("Tệp YAML cần các khóa 'procedures' và/hoặc 'faqs'.")
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = {"Thủ tục": [], "Cách thức": [], "Giấy tờ": [], "Hỏi đáp": []}
    for n, p in enumerate(data.get("procedures") or [], start=1):
        if not isinstance(p, dict):
            rows["Thủ tục"].append((n, {"code": None}))
            continue
        rows["Thủ tục"].append((n, {**p, "aliases": p.get("aliases") or []}))
        for c in p.get("channels") or []:
            rows["Cách thức"].append((n, {**(c if isinstance(c, dict) else {}), "code": p.get("code")}))
        for d in p.get("documents") or []:
            rows["Giấy tờ"].append((n, {**(d if isinstance(d, dict) else {}), "code": p.get("code")}))
    for n, f in enumerate(data.get("faqs") or [], start=1):
        rows["Hỏi đáp"].append((n, f if isinstance(f, dict) else {}))
    return rows


def plan_import(db: Database, content: bytes, filename: str) -> ImportPlan:
    """Read and check every row; nothing is written."""
    plan = ImportPlan()
    if not content:
        raise UsageError("Tệp rỗng.")
    is_xlsx = filename.lower().endswith(".xlsx") or content[:2] == b"PK"
    rows = _rows_from_xlsx(content, plan.errors) if is_xlsx else _rows_from_yaml(content)
    row_word = "dòng" if is_xlsx else "mục"
    current, _ = snapshots(db)
    by_code = {p["code"]: p for p in current}
    for n, row in rows.get("Thủ tục", []):
        where = f"Trang 'Thủ tục', {row_word} {n}"
        code = str(row.get("code") or "").strip()
        if code not in by_code:
            plan.errors.append(f"{where}: không có thủ tục mã {code!r}.")
            continue
        aliases = row.get("aliases")
        if isinstance(aliases, str):
            aliases = [a.strip() for a in aliases.split("|") if a.strip()]
        data = {
            **by_code[code],
            "name": row.get("name") or by_code[code]["name"],
            "active": _bool(row.get("active", True), where + ", đang hướng dẫn", plan.errors),
            "popularity": row.get("popularity") if row.get("popularity") not in (None, "") else 0,
            "aliases": aliases or [],
        }
        if "Cách thức" in rows:
            data["channels"] = []
        if "Giấy tờ" in rows:
            data["documents"] = []
        plan.procedures[code] = data
    for sheet, key in (("Cách thức", "channels"), ("Giấy tờ", "documents")):
        for n, row in rows.get(sheet, []):
            code = str(row.get("code") or "").strip()
            if code not in plan.procedures:
                plan.errors.append(f"Trang '{sheet}', {row_word} {n}: mã {code!r} không có trong trang 'Thủ tục'.")
                continue
            plan.procedures[code][key].append(row)
    checked = {}
    for code, data in plan.procedures.items():
        try:
            checked[code] = clean_procedure(data)
        except UsageError as exc:
            plan.errors.append(f"Thủ tục {code}: {exc}")
    plan.procedures = checked
    with db.sessions() as s:
        existing_faqs = set(s.scalars(select(Faq.id)))
    for n, row in rows.get("Hỏi đáp", []):
        where = f"Trang 'Hỏi đáp', {row_word} {n}"
        questions = row.get("questions")
        if isinstance(questions, str):
            questions = [q.strip() for q in questions.split("|") if q.strip()]
        raw_id = row.get("id")
        faq_id: int | None = None
        if raw_id not in (None, ""):
            try:
                faq_id = int(str(raw_id).strip())
            except ValueError:
                plan.errors.append(f"{where}: mã phải là số.")
                continue
            if faq_id not in existing_faqs:
                plan.errors.append(f"{where}: không có câu hỏi thường gặp mã {faq_id}.")
                continue
        try:
            clean = clean_faq(
                {
                    "questions": questions or [],
                    "answer": row.get("answer"),
                    "procedure": row.get("procedure"),
                    "active": _bool(row.get("active", True), where + ", đang dùng", plan.errors),
                }
            )
        except UsageError as exc:
            plan.errors.append(f"{where}: {exc}")
            continue
        if clean["procedure"] and clean["procedure"] not in by_code:
            plan.errors.append(f"{where}: không có thủ tục mã {clean['procedure']!r}.")
            continue
        plan.faqs.append((faq_id, clean))
    return plan


def apply_import(db: Database, plan: ImportPlan, username: str) -> ImportResult:
    """Apply a checked plan, all of it or (on any error) none of it."""
    if plan.errors:
        raise UsageError("Tệp còn lỗi; chưa áp dụng gì.")
    changed_p = changed_f = 0
    with db.session() as s:
        for code, data in plan.procedures.items():
            p = _load_procedure(s, code)
            before = procedure_snapshot(p)
            if clean_procedure(before) == data:
                continue
            _apply_procedure(s, p, data)
            s.flush()
            _audit(s, username, "procedure", code, "import", before, procedure_snapshot(p))
            changed_p += 1
        for faq_id, data in plan.faqs:
            if faq_id is None:
                _create_faq(s, data, username)
                changed_f += 1
                continue
            found = _load_faq(s, faq_id)
            before = faq_snapshot(found)
            if clean_faq(before) == data:
                continue
            _apply_faq(found, data)
            s.flush()
            _audit(s, username, "faq", str(found.id), "import", before, faq_snapshot(found))
            changed_f += 1
        if changed_p or changed_f:
            bump_revision(s)
    return ImportResult(changed_p, changed_f)
