"""Import the national procedure records: read and parse everything first, then write in one
transaction, so a broken file changes nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, update

from knowledge import fees
from knowledge.db import Database, bump_revision
from knowledge.errors import ImportFileError, RecordError
from knowledge.models import Document, LegalBasis, Meta, Procedure, Step, SubmissionChannel
from knowledge.parsing import NO_INFO, ParsedProcedure, clean, parse_record
from knowledge.types import channel_row, document_row

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total)"""

SHIPPED_NATIONAL = Path(__file__).parent / "data" / "national-procedures.jsonl.gz"
_HASH_KEY = "national_sha256"
_CHUNK = 500
_NO_TIME = {"Không có thông tin", "Không", "0"}


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str


@dataclass(slots=True)
class Quality:
    """Of the records whose source field is non-empty, how many parsed into something."""

    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, name: str, has_source: bool, parsed: bool) -> None:
        if has_source:
            pair = self.counts.setdefault(name, [0, 0])
            pair[0] += parsed
            pair[1] += 1

    def share(self, name: str) -> float:
        hit, total = self.counts.get(name, [0, 0])
        return hit / total if total else 0.0

    def rows(self) -> list[tuple[str, int, int, float]]:
        return [(k, v[0], v[1], self.share(k)) for k, v in self.counts.items()]


# Parse-quality measures, in the order they are printed.
QUALITY_LABELS = {
    "documents": "Thành phần hồ sơ (≥ 1 giấy tờ)",
    "channels": "Cách thức (≥ 1 kênh)",
    "channels_time": "Thời hạn (khi bản ghi có nêu)",
    "fee": "Phí, lệ phí (khi bản ghi có nêu)",
    "fee_vnd": "Một mức phí bằng đồng",
    "legal_basis": "Căn cứ pháp lý (≥ 1 văn bản)",
    "steps": "Trình tự (≥ 1 bước)",
    "result": "Kết quả",
}


@dataclass(slots=True)
class ImportReport:
    total: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: list[BadLine] = field(default_factory=list)
    quality: Quality = field(default_factory=Quality)
    unchanged_file: bool = False
    seconds: float = 0.0


def _measure(quality: Quality, raw: dict[str, Any], p: ParsedProcedure) -> None:
    has = {
        k: bool(clean(raw.get(k)))
        for k in ("thanh_phan_ho_so", "cach_thuc_thuc_hien", "can_cu_phap_ly", "trinh_tu_thuc_hien", "ket_qua_xu_ly")
    }
    quality.add("documents", has["thanh_phan_ho_so"], any(not d.is_note for d in p.documents))
    quality.add("channels", has["cach_thuc_thuc_hien"], bool(p.channels))
    # A time cell that says "Không có thông tin" (or 0) states no time: such records are
    # counted apart, not as parse failures.
    stated = [c for c in p.channels if c.time_text not in _NO_TIME]
    quality.add("channels_time", bool(stated), all(c.time_value is not None for c in stated))
    fees = [c for c in p.channels if c.fee_text and not c.fee_text.startswith(NO_INFO)]
    # Read: the fee is free, an amount (in any currency), or the rule it follows is stated
    # (a provincial rate, a circular, tiers); the single amount in VND is counted apart.
    quality.add("fee", bool(fees), all(c.fee.cell_amount or c.fee.free is not None or c.fee.charged for c in fees))
    quality.add("fee_vnd", bool(fees), all(c.fee_amount is not None for c in fees))
    quality.add("legal_basis", has["can_cu_phap_ly"], any(lb.number for lb in p.legal_basis))
    quality.add("steps", has["trinh_tu_thuc_hien"], bool(p.steps))
    quality.add("result", has["ket_qua_xu_ly"], bool(p.result))


def _open_lines(path: Path) -> Iterator[tuple[int, str]]:
    """Numbered text lines of a .jsonl or .jsonl.gz file; errors say which line broke."""
    if not path.exists():
        raise ImportFileError(f"Không tìm thấy tệp: {path}")
    if path.is_dir():
        raise ImportFileError(f"{path} là một thư mục, không phải tệp dữ liệu.")
    with path.open("rb") as fh:
        magic = fh.read(2)
    opener: Callable[[], Any] = (lambda: gzip.open(path, "rb")) if magic == b"\x1f\x8b" else (lambda: path.open("rb"))
    n = 0
    try:
        with opener() as fh:
            for n, raw in enumerate(fh, start=1):
                try:
                    yield n, raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise ImportFileError(f"không phải văn bản UTF-8 ({exc.reason})", n) from exc
    except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as exc:
        if isinstance(exc, ImportFileError):
            raise
        raise ImportFileError(f"tệp nén bị hỏng hoặc bị cắt ngang sau dòng {n} ({type(exc).__name__}: {exc})") from exc


def read_records(
    path: Path, skip_bad: bool = False
) -> tuple[list[tuple[dict[str, Any], ParsedProcedure]], list[BadLine]]:
    """Parse every line; the first bad line raises unless `skip_bad` (then it is listed)."""
    parsed: list[tuple[dict[str, Any], ParsedProcedure]] = []
    bad: list[BadLine] = []
    seen: dict[str, int] = {}
    for n, text in _open_lines(path):
        if not text.strip():
            continue
        try:
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RecordError(f"không phải JSON hợp lệ ({exc.msg}, cột {exc.colno})") from exc
            p = parse_record(record)
            if p.code in seen:
                raise RecordError(f"mã {p.code} trùng với dòng {seen[p.code]}")
            seen[p.code] = n
            parsed.append((record, p))
        except RecordError as exc:
            if not skip_bad:
                raise ImportFileError(str(exc), n) from exc
            bad.append(BadLine(n, str(exc)))
    if not parsed and not bad:
        raise ImportFileError(f"Tệp {path} không có bản ghi nào.")
    return parsed, bad


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _procedure_row(p: ParsedProcedure, now: datetime) -> dict[str, Any]:
    return {
        "code": p.code,
        "name": p.name,
        "levels": sorted(p.levels),
        "kind": p.kind,
        "field": p.field,
        "ministry": p.ministry,
        "subjects": p.subjects,
        "agency": p.agency,
        "address": p.address,
        "decision": p.decision,
        "source_url": p.source_url,
        "requirements": p.requirements,
        "result": p.result,
        "receiver": p.receiver.value,
        "sources": p.sources,
        "imported_at": now,
        "updated_at": now,
    }


def _child_rows(pid: int, p: ParsedProcedure) -> dict[Any, list[dict[str, Any]]]:
    return {
        Document: [
            {
                "procedure_id": pid,
                "position": i,
                "section": d.section,
                "source_text": d.source_text,
                "role": d.role.value,
            }
            | document_row(d)
            for i, d in enumerate(p.documents)
        ],
        SubmissionChannel: [
            {"procedure_id": pid, "position": i, "fee_parts": fees.to_json(c.fee)} | channel_row(c)
            for i, c in enumerate(p.channels)
        ],
        Step: [{"procedure_id": pid, "position": i, "text": s} for i, s in enumerate(p.steps)],
        LegalBasis: [
            {"procedure_id": pid, "position": i, "title": lb.title, "number": lb.number}
            for i, lb in enumerate(p.legal_basis)
        ],
    }


def import_national(
    db: Database,
    path: Path,
    *,
    skip_bad: bool = False,
    force: bool = True,
    progress: Progress | None = None,
) -> ImportReport:
    """Upsert national records by code in one transaction. Staff data (aliases, popularity,
    active flag) is kept. With `force=False` an already imported identical file is skipped."""
    started = datetime.now(UTC)
    report = ImportReport()
    digest = file_sha256(path) if path.exists() and path.is_file() else ""
    if not force and digest:
        with db.sessions() as s:
            known = s.get(Meta, _HASH_KEY)
        if known is not None and known.value == digest:
            report.unchanged_file = True
            return report
    if progress:
        progress("Đọc và phân tích", 0, 1)
    records, bad = read_records(path, skip_bad=skip_bad)
    report.skipped = bad
    report.total = len(records)
    for raw, p in records:
        _measure(report.quality, raw, p)
    if progress:
        progress("Đọc và phân tích", 1, 1)

    now = datetime.now(UTC)
    with db.session() as session:
        existing = dict(session.execute(select(Procedure.code, Procedure.id)).all())
        new = [p for _, p in records if p.code not in existing]
        old = [p for _, p in records if p.code in existing]
        done = 0
        total = len(records)
        ids = dict(existing)
        for start in range(0, len(new), _CHUNK):
            chunk = new[start : start + _CHUNK]
            rows = [_procedure_row(p, now) | {"popularity": 0, "active": True, "version": 1} for p in chunk]
            result = session.execute(insert(Procedure).returning(Procedure.id, Procedure.code), rows)
            ids.update({code: pid for pid, code in result.all()})
            done += len(chunk)
            if progress:
                progress("Ghi thủ tục", done, total)
        table = cast(Table, Procedure.__table__)
        for start in range(0, len(old), _CHUNK):
            chunk = old[start : start + _CHUNK]
            stmt = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values({k: bindparam(k) for k in _procedure_row(chunk[0], now)} | {"version": table.c.version + 1})
            )
            session.execute(stmt, [_procedure_row(p, now) | {"b_id": ids[p.code]} for p in chunk])
            old_ids = [ids[p.code] for p in chunk]
            for model in (Document, SubmissionChannel, Step, LegalBasis):
                session.execute(delete(model).where(model.procedure_id.in_(old_ids)))
            done += len(chunk)
            if progress:
                progress("Ghi thủ tục", done, total)
        report.inserted, report.updated = len(new), len(old)
        children: dict[Any, list[dict[str, Any]]] = {Document: [], SubmissionChannel: [], Step: [], LegalBasis: []}
        for _, p in records:
            for model, rows in _child_rows(ids[p.code], p).items():
                children[model].extend(rows)
        for i, (model, rows) in enumerate(children.items(), start=1):
            for start in range(0, len(rows), 5000):
                session.execute(insert(model), rows[start : start + 5000])
            if progress:
                progress("Ghi giấy tờ, kênh nộp, bước, căn cứ", i, len(children))
        meta = session.get(Meta, _HASH_KEY)
        if meta is None:
            session.add(Meta(key=_HASH_KEY, value=digest if not bad else ""))
        else:
            meta.value = digest if not bad else ""
        bump_revision(session)
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    log.info("imported %d procedures (%d new, %d updated)", report.total, report.inserted, report.updated)
    return report
