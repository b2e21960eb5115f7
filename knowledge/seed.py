"""Load the staff-editable data files shipped in knowledge/data: aliases, units, FAQs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from knowledge.db import Database, bump_revision
from knowledge.errors import ImportFileError
from knowledge.importer import SHIPPED_NATIONAL, ImportReport, Progress, import_national
from knowledge.models import Alias, Faq, FaqQuestion, Procedure, Unit
from knowledge.text import fold
from knowledge.types import Receiver

DATA = Path(__file__).parent / "data"
ALIASES = DATA / "aliases.yml"
UNITS = DATA / "units.yml"
FAQS = DATA / "faqs.yml"


def read_yaml(path: Path, key: str) -> list[dict[str, Any]]:
    """The list under `key` in a YAML file, with a clear error for anything else."""
    if not path.exists():
        raise ImportFileError(f"Không tìm thấy tệp: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path} không phải văn bản UTF-8.") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise ImportFileError(f"{path}: YAML không hợp lệ ({exc})", mark.line + 1 if mark else None) from exc
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ImportFileError(f"{path}: cần một danh sách '{key}:' ở đầu tệp.")
    for i, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ImportFileError(f"{path}: mục thứ {i} trong '{key}' không phải một bảng khóa/giá trị.")
    return items


@dataclass(frozen=True, slots=True)
class SeedReport:
    procedures: int
    added: int
    removed: int
    unknown_codes: tuple[str, ...]


def load_aliases(db: Database, path: Path = ALIASES) -> SeedReport:
    """Sync shipped aliases with the file (staff-added aliases are kept) and set popularity
    where staff have not set one."""
    items = read_yaml(path, "procedures")
    with db.session() as s:
        ids: dict[str, int] = {c: i for c, i in s.execute(select(Procedure.code, Procedure.id))}
        unknown = tuple(str(it.get("code")) for it in items if str(it.get("code")) not in ids)
        existing: dict[int, dict[str, Alias]] = {}
        for a in s.scalars(select(Alias)):
            existing.setdefault(a.procedure_id, {})[a.text] = a
        added = removed = 0
        for it in items:
            pid = ids.get(str(it.get("code")))
            if pid is None:
                continue
            wanted = []
            for text in it.get("aliases") or []:
                text = " ".join(str(text).split())
                if text and text not in wanted:
                    wanted.append(text)
            have = existing.get(pid, {})
            for text in wanted:
                if text not in have:
                    s.add(Alias(procedure_id=pid, text=text, origin="shipped"))
                    added += 1
            for text, alias in have.items():
                if alias.origin == "shipped" and text not in wanted:
                    s.delete(alias)
                    removed += 1
            popularity = it.get("popularity")
            if isinstance(popularity, int):
                proc = s.get(Procedure, pid)
                if proc is not None and proc.popularity == 0:
                    proc.popularity = max(0, min(100, popularity))
        bump_revision(s)
    return SeedReport(len(items), added, removed, unknown)


def load_units(db: Database, path: Path = UNITS) -> int:
    """Add units that do not exist yet; never overwrite what staff edited. Returns how many."""
    items = read_yaml(path, "units")
    added = filled = 0
    with db.session() as s:
        have = {u.code: u for u in s.scalars(select(Unit))}
        for i, it in enumerate(items, start=1):
            code, name = str(it.get("code") or "").strip(), str(it.get("name") or "").strip()
            if not code or not name:
                raise ImportFileError(f"{path}: đơn vị thứ {i} thiếu 'code' hoặc 'name'.")
            offices = _offices(path, i, it.get("offices"))
            if code in have:
                if offices and not have[code].offices:
                    have[code].offices = offices  # not edited in the staff pages: filled once
                    filled += 1
                continue
            unit = Unit(
                code=code,
                name=name,
                address=str(it.get("address") or ""),
                hours=str(it.get("hours") or ""),
                hotline=str(it.get("hotline") or ""),
                email=it.get("email"),
                website=it.get("website"),
                province=it.get("province"),
                offices=offices,
            )
            s.add(unit)
            have[code] = unit
            added += 1
        if added or filled:
            bump_revision(s)
    return added


def _offices(path: Path, n: int, data: Any) -> list[dict[str, str]]:
    """A unit's `offices:` list checked: each with a kind the assistant knows and a name."""
    if data is None:
        return []
    if not isinstance(data, list):
        raise ImportFileError(f"{path}: 'offices' của đơn vị thứ {n} phải là một danh sách.")
    kinds = {k.value for k in Receiver if k is not Receiver.HIGHER}
    out = []
    for j, o in enumerate(data, start=1):
        if not isinstance(o, dict) or str(o.get("kind")) not in kinds or not str(o.get("name") or "").strip():
            raise ImportFileError(
                f"{path}: văn phòng thứ {j} của đơn vị thứ {n} cần 'kind' ({', '.join(sorted(kinds))}) và 'name'."
            )
        out.append({k: str(o.get(k) or "").strip() for k in ("kind", "name", "address", "hours", "hotline")})
    return out


def load_faqs(db: Database, path: Path = FAQS) -> int:
    """Load sample FAQs only into an empty FAQ table. Returns how many were added."""
    items = read_yaml(path, "faqs")
    with db.session() as s:
        if s.scalar(select(func.count(Faq.id))):
            return 0
        for i, it in enumerate(items, start=1):
            questions = [str(q).strip() for q in it.get("questions") or [] if str(q).strip()]
            answer = str(it.get("answer") or "").strip()
            if not questions or not answer:
                raise ImportFileError(f"{path}: câu hỏi thường gặp thứ {i} thiếu câu hỏi hoặc câu trả lời.")
            s.add(
                Faq(
                    answer=answer,
                    procedure_code=it.get("procedure"),
                    questions=[FaqQuestion(text=q) for q in questions],
                )
            )
        bump_revision(s)
    return len(items)


@dataclass(frozen=True, slots=True)
class InitReport:
    national: ImportReport
    aliases: SeedReport
    units: int
    faqs: int


def initialise(db: Database, *, force: bool = False, progress: Progress | None = None) -> InitReport:
    """Create the schema and load the shipped knowledge: national records, aliases, units, FAQs.
    Safe to run again: an unchanged national file is skipped and staff edits are kept."""
    step = progress or (lambda stage, done, total: None)
    step("Tạo lược đồ cơ sở dữ liệu", 0, 1)
    db.migrate()
    step("Tạo lược đồ cơ sở dữ liệu", 1, 1)
    national = import_national(db, SHIPPED_NATIONAL, force=force, progress=progress)
    stage = "Tên gọi thường dùng, đơn vị, câu hỏi thường gặp"
    step(stage, 0, 3)
    aliases = load_aliases(db)
    step(stage, 1, 3)
    units = load_units(db)
    step(stage, 2, 3)
    faqs = load_faqs(db)
    step(stage, 3, 3)
    return InitReport(national, aliases, units, faqs)


def duplicate_aliases(db: Database) -> list[tuple[str, list[str]]]:
    """Aliases (folded) that point at more than one procedure: ambiguous for the matcher."""
    with db.sessions() as s:
        rows = s.execute(select(Alias.text, Procedure.code).join(Procedure)).all()
    owners: dict[str, set[str]] = {}
    for text, code in rows:
        owners.setdefault(fold(text), set()).add(code)
    return sorted((k, sorted(v)) for k, v in owners.items() if len(v) > 1)
