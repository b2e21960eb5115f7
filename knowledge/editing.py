"""Staff edits of procedures, FAQs and units: version-checked, audited, revertible, and visible
to every worker at once (each change bumps the knowledge revision).

The audit log keeps, for each change, the parts of the record that changed (before and
after). Reverting an entry puts back only those parts, and only when nobody changed them
since: a colleague's later edit of the same record is never undone silently."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from knowledge.db import Database, bump_revision
from knowledge.errors import ConflictError, NotFoundError, UsageError
from knowledge.fields import (
    FAQ,
    PROCEDURE,
    RECORDS,
    UNIT,
    Change,
    FieldError,
    InvalidRecord,
    Kind,
    Path,
    Record,
    changed_paths,
    clean_fields,
    clean_record,
    describe,
    get_path,
    path_field,
    path_label,
    set_path,
)
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
from knowledge.types import channel_row, document_row

LOCAL_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
"""The time zone staff read times in unless the caller says otherwise."""


class AuditAction(StrEnum):
    """What an audit entry records."""

    UPDATE = "update"
    CREATE = "create"
    REVERT = "revert"
    IMPORT = "import"

    @property
    def label(self) -> str:
        return _ACTION_LABELS[self]


_ACTION_LABELS = {
    AuditAction.UPDATE: "Sửa",
    AuditAction.CREATE: "Tạo mới",
    AuditAction.REVERT: "Hoàn tác",
    AuditAction.IMPORT: "Nhập từ tệp",
}


_VERBS: dict[str, str] = {
    AuditAction.UPDATE: "sửa",
    AuditAction.CREATE: "tạo",
    AuditAction.REVERT: "hoàn tác",
    AuditAction.IMPORT: "nhập tệp sửa",
}
"""What a later entry did, in a sentence ("quan đã sửa “Lệ phí” lúc ...")."""


def action_label(action: str) -> str:
    try:
        return AuditAction(action).label
    except ValueError:
        return action


def local(at: datetime, tz: tzinfo = LOCAL_TIME) -> datetime:
    """A stored time (UTC; SQLite hands it back without a zone) in the staff's time zone."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz)


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


def clean_procedure(data: dict[str, Any]) -> dict[str, Any]:
    """Validate an edited procedure; InvalidRecord names every wrong field and row."""
    return clean_record(PROCEDURE, data)


def clean_faq(data: dict[str, Any]) -> dict[str, Any]:
    return clean_fields(FAQ.fields, data)


def clean_unit(data: dict[str, Any]) -> dict[str, Any]:
    return clean_fields(UNIT.fields, data)


# --- applying -----------------------------------------------------------------------------


def _apply_procedure(p: Procedure, data: dict[str, Any]) -> None:
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
    _apply_rows(p.channels, data["channels"], SubmissionChannel, channel_row)
    _apply_rows(p.documents, data["documents"], Document, document_row)


_KEPT = {Document: ("section", "source_text")}
"""What only the database holds for a row, kept when staff edit the row. Fields derived from
the edited ones (a document's role, a channel's parsed fee) are column defaults computed when
a row is written, so an edited row is written anew rather than updated in place."""


def _apply_rows(rows: list[Any], wanted: list[dict[str, Any]], model: Any, row_of: Any) -> None:
    """Make `rows` hold `wanted`: a row the edit left as it was stays as it is; an edited row
    (same place, same number of rows) is written anew with what only the database held."""

    def same(row: Any, data: dict[str, Any]) -> bool:
        stored = row_of(row)
        return all(stored.get(k) == v for k, v in data.items())

    def fresh(data: dict[str, Any], like: Any = None) -> Any:
        kept = {k: getattr(like, k) for k in _KEPT.get(model, ())} if like is not None else {}
        return model(position=0, **kept, **data)

    if len(rows) == len(wanted):
        kept = [row if same(row, data) else fresh(data, row) for row, data in zip(rows, wanted, strict=True)]
    else:
        pool = list(rows)
        kept = []
        for data in wanted:
            found = next((r for r in pool if same(r, data)), None)
            if found is not None:
                pool.remove(found)
            kept.append(found if found is not None else fresh(data))
    if kept == list(rows):
        return
    for i, row in enumerate(kept):
        row.position = i
    rows[:] = kept  # rows no longer held are orphans: deleted


def _apply_faq(f: Faq, data: dict[str, Any]) -> None:
    f.answer = data["answer"]
    f.procedure_code = data["procedure"]
    f.active = data["active"]
    f.updated_at = datetime.now(UTC)
    if [q.text for q in f.questions] != data["questions"]:
        f.questions.clear()
        for q in data["questions"]:
            f.questions.append(FaqQuestion(text=q))


def _apply_unit(u: Unit, data: dict[str, Any]) -> None:
    for k, v in data.items():
        setattr(u, k, v)


def _compact(record: Record, before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[Any, Any]:
    """Only the parts that changed (whole top-level fields), plus the record's identity: an
    entry stays small however long the record's texts are."""
    if before is None or after is None:
        return before, after
    keys = {str(p[0]) for p in changed_paths(record, before, after)}
    ident = [k for k in ("code", "id") if k in after]
    return (
        {k: before[k] for k in [*ident, *keys] if k in before},
        {k: after[k] for k in [*ident, *keys] if k in after},
    )


def _audit(
    s: Session,
    username: str,
    entity: str,
    key: str,
    action: AuditAction,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    before, after = _compact(RECORDS[entity], before, after)
    entry = AuditEntry(
        username=username, entity=entity, entity_key=key, action=action.value, before=before, after=after
    )
    s.add(entry)
    s.flush()
    return entry


def _check_version(found: int, expected: int | None, what: str, s: Session, entity: str, key: str, tz: tzinfo) -> None:
    if expected is not None and found != expected:
        last = s.scalar(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_key == key)
            .order_by(AuditEntry.id.desc())
            .limit(1)
        )
        who = f" bởi {last.username} lúc {local(last.at, tz):%H:%M %d/%m/%Y}" if last else ""
        raise ConflictError(
            f"{what} vừa được sửa{who} trong khi anh/chị đang sửa. Thay đổi của anh/chị chưa được lưu; "
            "hãy tải lại trang để xem bản mới rồi sửa lại."
        )


@contextmanager
def _saving(what: str) -> Iterator[None]:
    """A row saved by someone else between our read and our write (the version column moved)."""
    try:
        yield
    except StaleDataError as exc:
        raise ConflictError(f"{what} vừa được người khác sửa; hãy tải lại trang rồi sửa lại.") from exc


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


def _load_unit(s: Session, code: str) -> Unit:
    u = s.scalar(select(Unit).where(Unit.code == code))
    if u is None:
        raise NotFoundError(f"Không có đơn vị {code}.")
    return u


def _check_faq_procedure(s: Session, clean: dict[str, Any]) -> None:
    code = clean["procedure"]
    if code and s.scalar(select(Procedure.id).where(Procedure.code == code)) is None:
        raise InvalidRecord([FieldError(FAQ.field_named("procedure").label, f"không có thủ tục mã {code}.")])


def _create_faq(s: Session, data: dict[str, Any], username: str) -> Faq:
    """A new FAQ from cleaned data, audited as a creation."""
    f = Faq(answer=data["answer"])
    s.add(f)
    _apply_faq(f, data)
    s.flush()
    _audit(s, username, "faq", str(f.id), AuditAction.CREATE, None, faq_snapshot(f))
    return f


def get_procedure_snapshot(db: Database, code: str) -> tuple[dict[str, Any], int]:
    with db.sessions() as s:
        p = _load_procedure(s, code)
        return procedure_snapshot(p), p.version


def update_procedure(
    db: Database,
    code: str,
    data: dict[str, Any],
    username: str,
    expected_version: int | None,
    tz: tzinfo = LOCAL_TIME,
) -> int:
    """Save an edited procedure; refuses when someone saved it since `expected_version`."""
    clean = clean_procedure(data)
    with _saving(f"Thủ tục {code}"), db.session() as s:
        p = _load_procedure(s, code)
        _check_version(p.version, expected_version, f"Thủ tục {code}", s, "procedure", code, tz)
        before = procedure_snapshot(p)
        if clean_procedure(before) == clean:
            return p.version
        _apply_procedure(p, clean)
        s.flush()
        _audit(s, username, "procedure", code, AuditAction.UPDATE, before, procedure_snapshot(p))
        bump_revision(s)
        s.flush()
        return p.version


def add_alias(db: Database, code: str, alias: str, username: str) -> bool:
    """Add what citizens call a procedure; False when it already had that name."""
    field = PROCEDURE.field_named("aliases")
    text = field.clean([alias])
    if not text:
        raise InvalidRecord([FieldError(field.label, "không được để trống.")])
    with _saving(f"Thủ tục {code}"), db.session() as s:
        p = _load_procedure(s, code)
        before = procedure_snapshot(p)
        if text[0] in before["aliases"]:
            return False
        p.aliases.append(Alias(text=text[0], origin="staff"))
        p.updated_at = datetime.now(UTC)
        s.flush()
        _audit(s, username, "procedure", code, AuditAction.UPDATE, before, procedure_snapshot(p))
        bump_revision(s)
        return True


def save_faq(
    db: Database,
    faq_id: int | None,
    data: dict[str, Any],
    username: str,
    expected_version: int | None = None,
    tz: tzinfo = LOCAL_TIME,
) -> int:
    clean = clean_faq(data)
    with _saving("Câu hỏi thường gặp"), db.session() as s:
        _check_faq_procedure(s, clean)
        if faq_id is None:
            f = _create_faq(s, clean, username)
        else:
            f = _load_faq(s, faq_id)
            _check_version(f.version, expected_version, "Câu hỏi thường gặp", s, "faq", str(faq_id), tz)
            before = faq_snapshot(f)
            if clean_faq(before) == clean:
                return f.id
            _apply_faq(f, clean)
            s.flush()
            _audit(s, username, "faq", str(f.id), AuditAction.UPDATE, before, faq_snapshot(f))
        bump_revision(s)
        return f.id


def get_faq(db: Database, faq_id: int) -> tuple[dict[str, Any], int]:
    with db.sessions() as s:
        f = _load_faq(s, faq_id)
        return faq_snapshot(f), f.version


def save_unit(
    db: Database,
    code: str,
    data: dict[str, Any],
    username: str,
    expected_version: int | None,
    tz: tzinfo = LOCAL_TIME,
) -> None:
    clean = clean_unit(data)
    with _saving("Thông tin đơn vị"), db.session() as s:
        u = _load_unit(s, code)
        _check_version(u.version, expected_version, "Thông tin đơn vị", s, "unit", code, tz)
        before = unit_snapshot(u)
        if clean_unit(before) == clean:
            return
        _apply_unit(u, clean)
        s.flush()
        _audit(s, username, "unit", code, AuditAction.UPDATE, before, unit_snapshot(u))
        bump_revision(s)


# --- audit log and revert -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditView:
    """One audit entry as staff read it: only the changed parts, in words."""

    id: int
    at: datetime
    """UTC."""
    username: str
    entity: str
    entity_label: str
    key: str
    action: str
    action_label: str
    changes: tuple[Change, ...]
    reverted_by: int | None

    @property
    def revertible(self) -> bool:
        return self.reverted_by is None and self.action != AuditAction.REVERT


def _view(e: AuditEntry) -> AuditView:
    record = RECORDS.get(e.entity)
    if record is None:
        changes: tuple[Change, ...] = ()
    elif e.before is None:
        changes = (Change("Tạo mới", "—", _summary(record, e.after)),)
    else:
        changes = tuple(describe(record, e.before, e.after))
    return AuditView(
        id=e.id,
        at=e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC),
        username=e.username,
        entity=e.entity,
        entity_label=record.label if record else e.entity,
        key=e.entity_key,
        action=e.action,
        action_label=action_label(e.action),
        changes=changes,
        reverted_by=e.reverted_by,
    )


def _summary(record: Record, snapshot: dict[str, Any] | None) -> str:
    first = record.fields[0]
    value = (snapshot or {}).get(first.key)
    text = first.shown(value)
    return text if len(text) <= 160 else text[:160] + "…"


def audit_log(
    db: Database,
    limit: int = 200,
    entity: str | None = None,
    key: str | None = None,
    offset: int = 0,
) -> list[AuditView]:
    with db.sessions() as s:
        q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
        if entity:
            q = q.where(AuditEntry.entity == entity)
        if key:
            q = q.where(AuditEntry.entity_key == key)
        return [_view(e) for e in s.scalars(q)]


def audit_count(db: Database) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count(AuditEntry.id))) or 0)


def _current(s: Session, entity: str, key: str) -> tuple[Any, dict[str, Any]]:
    if entity == "procedure":
        p = _load_procedure(s, key)
        return p, procedure_snapshot(p)
    if entity == "faq":
        try:
            f = _load_faq(s, int(key))
        except ValueError as exc:
            raise NotFoundError("Không có câu hỏi thường gặp này.") from exc
        return f, faq_snapshot(f)
    if entity == "unit":
        u = _load_unit(s, key)
        return u, unit_snapshot(u)
    raise UsageError("Không hoàn tác được loại thay đổi này.")


def _overlaps(a: Path, b: Path) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _is_set_like(record: Record, path: Path) -> bool:
    """Aliases and question phrasings: adding and removing names commute, so reverting one
    change never disturbs names a colleague added or removed since."""
    f = path_field(record, path)
    return len(path) == 1 and f is not None and f.kind is Kind.LIST and f.unique


def _untouched(record: Record, path: Path, current: dict[str, Any], after: dict[str, Any]) -> bool:
    if _is_set_like(record, path):
        return True
    if len(path) == 3:  # a field of one row: the rows must still be the same rows
        now_rows, then_rows = get_path(current, path[:1]), get_path(after, path[:1])
        if not isinstance(now_rows, list) or not isinstance(then_rows, list) or len(now_rows) != len(then_rows):
            return False
    return bool(get_path(current, path) == get_path(after, path))


def revert(db: Database, entry_id: int, username: str, tz: tzinfo = LOCAL_TIME) -> AuditView:
    """Undo one audited change: put back only the parts it changed. Refused, naming who
    changed what since, when any of those parts was changed again after it."""
    with _saving("Bản ghi"), db.session() as s:
        entry = s.get(AuditEntry, entry_id)
        if entry is None:
            raise NotFoundError("Không có mục nhật ký này.")
        if entry.reverted_by:
            raise UsageError("Thay đổi này đã được hoàn tác rồi.")
        record = RECORDS.get(entry.entity)
        if record is None:
            raise UsageError("Không hoàn tác được loại thay đổi này.")
        row, current = _current(s, entry.entity, entry.entity_key)
        if entry.before is None:
            if entry.entity != "faq":
                raise UsageError("Không hoàn tác được loại thay đổi này.")
            if not current["active"]:
                raise UsageError("Câu hỏi thường gặp này đã tạm ngừng rồi.")
            new = {**current, "active": False}  # undo a creation: switch it off
        else:
            paths = changed_paths(record, entry.before, entry.after)
            if not paths:
                raise UsageError("Thay đổi này không còn gì để hoàn tác.")
            after = entry.after or {}
            moved = [p for p in paths if not _untouched(record, p, current, after)]
            if moved:
                raise ConflictError(_moved_message(s, record, entry, moved, tz))
            new = copy.deepcopy(current)
            for path in paths:
                if _is_set_like(record, path):
                    key = str(path[0])
                    added = [x for x in after.get(key) or [] if x not in (entry.before.get(key) or [])]
                    removed = [x for x in entry.before.get(key) or [] if x not in (after.get(key) or [])]
                    new[key] = [x for x in new.get(key) or [] if x not in added]
                    new[key] += [x for x in removed if x not in new[key]]
                else:
                    set_path(new, path, copy.deepcopy(get_path(entry.before, path)))
        if entry.entity == "procedure":
            _apply_procedure(row, clean_procedure(new))
            s.flush()
            after_now = procedure_snapshot(row)
        elif entry.entity == "faq":
            _apply_faq(row, clean_faq(new))
            s.flush()
            after_now = faq_snapshot(row)
        else:
            _apply_unit(row, clean_unit(new))
            s.flush()
            after_now = unit_snapshot(row)
        done = _audit(s, username, entry.entity, entry.entity_key, AuditAction.REVERT, current, after_now)
        entry.reverted_by = done.id
        bump_revision(s)
        return _view(done)


def _moved_message(s: Session, record: Record, entry: AuditEntry, moved: list[Path], tz: tzinfo) -> str:
    later = s.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.entity == entry.entity,
            AuditEntry.entity_key == entry.entity_key,
            AuditEntry.id > entry.id,
        )
        .order_by(AuditEntry.id)
    ).all()
    who: list[str] = []
    for e in later:
        theirs = changed_paths(record, e.before, e.after) if e.before is not None else []
        touched = [p for p in theirs if any(_overlaps(p, m) for m in moved)]
        if touched:
            labels = ", ".join(f"“{x}”" for x in dict.fromkeys(path_label(record, p, e.after) for p in touched))
            verb = _VERBS.get(e.action, "sửa")
            who.append(f"{e.username} đã {verb} {labels} lúc {local(e.at, tz):%H:%M %d/%m/%Y}")
    if not who:
        labels = ", ".join(f"“{x}”" for x in dict.fromkeys(path_label(record, p, entry.after) for p in moved))
        who.append(f"{labels} đã khác đi")
    return (
        f"Không hoàn tác được: sau thay đổi này, {'; '.join(who)}. "
        "Hoàn tác bây giờ sẽ xóa mất thay đổi đó; hãy mở bản ghi và sửa trực tiếp."
    )
