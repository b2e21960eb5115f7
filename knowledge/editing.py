"""Staff edits of procedures, FAQs and units: version-checked, audited, revertible, and visible
to every worker at once (each change bumps the knowledge revision)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from knowledge.db import Database, bump_revision
from knowledge.errors import ConflictError, NotFoundError, UsageError
from knowledge.models import (
    Alias,
    AuditEntry,
    Document,
    Faq,
    FaqQuestion,
    Procedure,
    SubmissionChannel,
    Unit,
)
from knowledge.parsing import parse_fee
from knowledge.types import Channel, DocumentGroup, channel_row, document_row

CHANNELS = {c.value for c in Channel}
GROUPS = {g.value for g in DocumentGroup}


# --- snapshots: the editable part of a record, as plain JSON ------------------------------


def procedure_snapshot(p: Procedure) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "active": p.active,
        "popularity": p.popularity,
        "aliases": [a.text for a in p.aliases],
        "channels": [channel_row(c) for c in p.channels],
        "documents": [document_row(d) for d in p.documents],
    }


def faq_snapshot(f: Faq) -> dict[str, Any]:
    return {
        "id": f.id,
        "questions": [q.text for q in f.questions],
        "answer": f.answer,
        "procedure": f.procedure_code,
        "active": f.active,
    }


def unit_snapshot(u: Unit) -> dict[str, Any]:
    return {
        "code": u.code,
        "name": u.name,
        "address": u.address,
        "hours": u.hours,
        "hotline": u.hotline,
        "email": u.email,
        "website": u.website,
    }


# --- validation ---------------------------------------------------------------------------


def _text(value: Any, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise UsageError(f"{field}: cần văn bản.")
    value = value.strip()
    if required and not value:
        raise UsageError(f"{field}: không được để trống.")
    if len(value) > limit:
        raise UsageError(f"{field}: quá dài (tối đa {limit} ký tự).")
    return value


def _int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise UsageError(f"{field}: cần một số nguyên.")
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError as exc:
        raise UsageError(f"{field}: cần một số nguyên.") from exc
    if not low <= number <= high:
        raise UsageError(f"{field}: phải từ {low} đến {high}.")
    return number


def _optional_number(value: Any, field: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).replace(",", "."))
    except ValueError as exc:
        raise UsageError(f"{field}: cần một số.") from exc
    if number < 0 or number > 10_000_000_000:
        raise UsageError(f"{field}: số không hợp lệ.")
    return number


def clean_procedure(data: dict[str, Any]) -> dict[str, Any]:
    """Validate an edited procedure; raises UsageError naming the field."""
    aliases: list[str] = []
    for a in data.get("aliases") or []:
        text = _text(a, "Tên gọi", 300)
        if text and text not in aliases:
            aliases.append(text)
    channels = []
    for i, c in enumerate(data.get("channels") or [], start=1):
        if c.get("channel") not in CHANNELS:
            raise UsageError(f"Cách thức dòng {i}: hình thức nộp không hợp lệ.")
        fee_text = _text(c.get("fee_text"), f"Cách thức dòng {i}: phí, lệ phí", 4000)
        fee_amount = _optional_number(c.get("fee_amount"), f"Cách thức dòng {i}: số tiền")
        time_value = _optional_number(c.get("time_value"), f"Cách thức dòng {i}: thời hạn")
        channels.append(
            {
                "channel": c["channel"],
                "time_value": time_value,
                "time_unit": _text(c.get("time_unit"), f"Cách thức dòng {i}: đơn vị thời hạn", 40) or None,
                "time_text": _text(c.get("time_text"), f"Cách thức dòng {i}: thời hạn (văn bản)", 400),
                "fee_amount": int(fee_amount) if fee_amount is not None else parse_fee(fee_text),
                "fee_text": fee_text,
                "description": _text(c.get("description"), f"Cách thức dòng {i}: mô tả", 50000),
            }
        )
    documents = []
    for i, d in enumerate(data.get("documents") or [], start=1):
        group = d.get("group") or DocumentGroup.SUBMIT.value
        if group not in GROUPS:
            raise UsageError(f"Giấy tờ dòng {i}: nhóm không hợp lệ.")
        forms = d.get("forms") or []
        if isinstance(forms, str):
            forms = [f.strip() for f in forms.split("|") if f.strip()]
        documents.append(
            {
                "name": _text(d.get("name"), f"Giấy tờ dòng {i}: tên", 20000, required=True),
                "originals": _int(d.get("originals", 0) or 0, f"Giấy tờ dòng {i}: bản chính", 0, 10000),
                "copies": _int(d.get("copies", 0) or 0, f"Giấy tờ dòng {i}: bản sao", 0, 10000),
                "group": group,
                "condition": _text(d.get("condition"), f"Giấy tờ dòng {i}: điều kiện", 20000) or None,
                "forms": [_text(f, f"Giấy tờ dòng {i}: mẫu", 2000) for f in forms],
            }
        )
    return {
        "name": _text(data.get("name"), "Tên thủ tục", 2000, required=True),
        "active": bool(data.get("active", True)),
        "popularity": _int(data.get("popularity", 0) or 0, "Mức phổ biến", 0, 100),
        "aliases": aliases,
        "channels": channels,
        "documents": documents,
    }


def clean_faq(data: dict[str, Any]) -> dict[str, Any]:
    questions = []
    for q in data.get("questions") or []:
        text = _text(q, "Câu hỏi", 1000)
        if text and text not in questions:
            questions.append(text)
    if not questions:
        raise UsageError("Cần ít nhất một cách hỏi.")
    procedure = _text(data.get("procedure"), "Mã thủ tục", 20) or None
    return {
        "questions": questions,
        "answer": _text(data.get("answer"), "Câu trả lời", 8000, required=True),
        "procedure": procedure,
        "active": bool(data.get("active", True)),
    }


def clean_unit(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": _text(data.get("name"), "Tên đơn vị", 300, required=True),
        "address": _text(data.get("address"), "Địa chỉ", 500, required=True),
        "hours": _text(data.get("hours"), "Giờ làm việc", 500, required=True),
        "hotline": _text(data.get("hotline"), "Đường dây nóng", 60, required=True),
        "email": _text(data.get("email"), "Email", 200) or None,
        "website": _text(data.get("website"), "Trang web", 300) or None,
    }


# --- applying -----------------------------------------------------------------------------


def _apply_procedure(s: Session, p: Procedure, data: dict[str, Any]) -> None:
    p.name = data["name"]
    p.active = data["active"]
    p.popularity = data["popularity"]
    p.updated_at = datetime.now(UTC)  # touches the row, so its version moves on
    have = {a.text: a for a in p.aliases}
    for text, alias in have.items():
        if text not in data["aliases"]:
            p.aliases.remove(alias)
    for text in data["aliases"]:
        if text not in have:
            p.aliases.append(Alias(text=text, origin="staff"))
    p.channels.clear()
    p.documents.clear()
    s.flush()
    for i, c in enumerate(data["channels"]):
        p.channels.append(SubmissionChannel(position=i, **c))
    for i, d in enumerate(data["documents"]):
        p.documents.append(Document(position=i, section=None, source_text="", **d))


def _apply_faq(f: Faq, data: dict[str, Any]) -> None:
    f.answer = data["answer"]
    f.procedure_code = data["procedure"]
    f.active = data["active"]
    f.updated_at = datetime.now(UTC)
    f.questions.clear()
    for q in data["questions"]:
        f.questions.append(FaqQuestion(text=q))


def _audit(
    s: Session,
    username: str,
    entity: str,
    key: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    entry = AuditEntry(username=username, entity=entity, entity_key=key, action=action, before=before, after=after)
    s.add(entry)
    s.flush()
    return entry


def _check_version(found: int, expected: int | None, what: str, s: Session, entity: str, key: str) -> None:
    if expected is not None and found != expected:
        last = s.scalar(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_key == key)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        who = f" bởi {last.username} lúc {last.at:%H:%M %d/%m/%Y}" if last else ""
        raise ConflictError(
            f"{what} vừa được sửa{who} trong khi anh/chị đang sửa. Thay đổi của anh/chị chưa được lưu; "
            "hãy tải lại trang để xem bản mới rồi sửa lại."
        )


EDITABLE = (selectinload(Procedure.aliases), selectinload(Procedure.channels), selectinload(Procedure.documents))
"""What a procedure snapshot reads, loaded with the procedure."""


def _load_procedure(s: Session, code: str) -> Procedure:
    p = s.scalar(select(Procedure).where(Procedure.code == code).options(*EDITABLE))
    if p is None:
        raise NotFoundError(f"Không có thủ tục mã {code}.")
    return p


def _load_faq(s: Session, faq_id: int) -> Faq:
    f = s.scalar(select(Faq).where(Faq.id == faq_id).options(selectinload(Faq.questions)))
    if f is None:
        raise NotFoundError(f"Không có câu hỏi thường gặp mã {faq_id}.")
    return f


def _create_faq(s: Session, data: dict[str, Any], username: str) -> Faq:
    """A new FAQ from cleaned data, audited as a creation."""
    f = Faq(answer=data["answer"])
    s.add(f)
    _apply_faq(f, data)
    s.flush()
    _audit(s, username, "faq", str(f.id), "create", None, faq_snapshot(f))
    return f


def get_procedure_snapshot(db: Database, code: str) -> tuple[dict[str, Any], int]:
    with db.sessions() as s:
        p = _load_procedure(s, code)
        return procedure_snapshot(p), p.version


def update_procedure(db: Database, code: str, data: dict[str, Any], username: str, expected_version: int | None) -> int:
    """Save an edited procedure; refuses when someone saved it since `expected_version`."""
    clean = clean_procedure(data)
    with db.session() as s:
        p = _load_procedure(s, code)
        _check_version(p.version, expected_version, f"Thủ tục {code}", s, "procedure", code)
        before = procedure_snapshot(p)
        _apply_procedure(s, p, clean)
        s.flush()
        after = procedure_snapshot(p)
        if after != before:
            _audit(s, username, "procedure", code, "update", before, after)
        bump_revision(s)
        return p.version


def add_alias(db: Database, code: str, alias: str, username: str) -> None:
    snapshot, version = get_procedure_snapshot(db, code)
    if alias.strip() and alias.strip() not in snapshot["aliases"]:
        snapshot["aliases"].append(alias.strip())
        update_procedure(db, code, snapshot, username, version)


def save_faq(
    db: Database, faq_id: int | None, data: dict[str, Any], username: str, expected_version: int | None = None
) -> int:
    clean = clean_faq(data)
    with db.session() as s:
        if faq_id is None:
            f = _create_faq(s, clean, username)
        else:
            f = _load_faq(s, faq_id)
            _check_version(f.version, expected_version, "Câu hỏi thường gặp", s, "faq", str(faq_id))
            before = faq_snapshot(f)
            _apply_faq(f, clean)
            s.flush()
            _audit(s, username, "faq", str(f.id), "update", before, faq_snapshot(f))
        bump_revision(s)
        return f.id


def get_faq(db: Database, faq_id: int) -> tuple[dict[str, Any], int]:
    with db.sessions() as s:
        f = _load_faq(s, faq_id)
        return faq_snapshot(f), f.version


def save_unit(db: Database, code: str, data: dict[str, Any], username: str, expected_version: int | None) -> None:
    clean = clean_unit(data)
    with db.session() as s:
        u = s.scalar(select(Unit).where(Unit.code == code))
        if u is None:
            raise NotFoundError(f"Không có đơn vị {code}.")
        _check_version(u.version, expected_version, "Thông tin đơn vị", s, "unit", code)
        before = unit_snapshot(u)
        for k, v in clean.items():
            setattr(u, k, v)
        s.flush()
        _audit(s, username, "unit", code, "update", before, unit_snapshot(u))
        bump_revision(s)


# --- audit log and revert -----------------------------------------------------------------


def audit_log(db: Database, limit: int = 200, entity: str | None = None, key: str | None = None) -> list[AuditEntry]:
    with db.sessions() as s:
        q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
        if entity:
            q = q.where(AuditEntry.entity == entity)
        if key:
            q = q.where(AuditEntry.entity_key == key)
        return list(s.scalars(q))


def revert(db: Database, entry_id: int, username: str) -> AuditEntry:
    """Put a record back as it was before an audited change; the revert is audited too."""
    with db.session() as s:
        entry = s.get(AuditEntry, entry_id)
        if entry is None:
            raise NotFoundError("Không có mục nhật ký này.")
        if entry.reverted_by:
            raise UsageError("Thay đổi này đã được hoàn tác.")
        if entry.entity == "procedure" and entry.before:
            p = _load_procedure(s, entry.entity_key)
            current = procedure_snapshot(p)
            _apply_procedure(s, p, clean_procedure(entry.before))
            s.flush()
            new = _audit(s, username, "procedure", entry.entity_key, "revert", current, procedure_snapshot(p))
        elif entry.entity == "faq":
            f = _load_faq(s, int(entry.entity_key))
            current = faq_snapshot(f)
            if entry.before is None:  # undo a creation: switch it off
                f.active = False
                f.updated_at = datetime.now(UTC)
            else:
                _apply_faq(f, clean_faq(entry.before))
            s.flush()
            new = _audit(s, username, "faq", entry.entity_key, "revert", current, faq_snapshot(f))
        elif entry.entity == "unit" and entry.before:
            u = s.scalar(select(Unit).where(Unit.code == entry.entity_key))
            if u is None:
                raise NotFoundError("Đơn vị này không còn.")
            current = unit_snapshot(u)
            for k, v in clean_unit(entry.before).items():
                setattr(u, k, v)
            s.flush()
            new = _audit(s, username, "unit", entry.entity_key, "revert", current, unit_snapshot(u))
        else:
            raise UsageError("Không hoàn tác được loại thay đổi này.")
        entry.reverted_by = new.id
        bump_revision(s)
        return new
