"""The importer against real databases: idempotent upserts and all-or-nothing failures."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from knowledge.db import Database
from knowledge.errors import ImportFileError
from knowledge.importer import import_national
from knowledge.models import Alias, Document, Procedure, SubmissionChannel
from knowledge.repository import Repository
from tests.conftest import FIXTURES

SAMPLE = FIXTURES / "national_sample.jsonl"


def counts(db: Database) -> tuple[int, int, int]:
    with db.sessions() as s:
        return (
            s.scalar(select(func.count(Procedure.id))) or 0,
            s.scalar(select(func.count(Document.id))) or 0,
            s.scalar(select(func.count(SubmissionChannel.id))) or 0,
        )


def write_gz(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def test_import_then_reimport_is_idempotent(db: Database) -> None:
    first = import_national(db, SAMPLE)
    assert (first.total, first.inserted, first.updated) == (27, 27, 0)
    before = counts(db)
    marriage = Repository(db).procedure("1.000894")
    assert marriage is not None and marriage.result == "Giấy chứng nhận kết hôn"
    assert [c.fee_amount for c in marriage.channels] == [0, 0, 0]
    # staff data survives a re-import
    with db.session() as s:
        pid = s.scalar(select(Procedure.id).where(Procedure.code == "1.000894"))
        s.add(Alias(procedure_id=pid, text="cưới", origin="staff"))
    second = import_national(db, SAMPLE)
    assert (second.inserted, second.updated) == (0, 27)
    assert counts(db) == before
    again = Repository(db).procedure("1.000894")
    assert again is not None and "cưới" in again.aliases
    assert again.version == marriage.version + 1
    assert again.documents == marriage.documents


def test_gzip_and_plain_files_give_the_same_rows(db: Database, tmp_path: Path) -> None:
    gz = write_gz(tmp_path / "sample.jsonl.gz", SAMPLE.read_text(encoding="utf-8").splitlines())
    import_national(db, gz)
    assert counts(db)[0] == 27


def test_quality_counts_only_records_with_source(db: Database) -> None:
    report = import_national(db, SAMPLE)
    hit, total = report.quality.counts["documents"]
    assert total == 27 and hit == 26  # 1.001521's documents field holds steps, not a table


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.jsonl.gz", "Không tìm thấy tệp"),
        (lambda d: _truncated(d), "bị cắt ngang"),
        (lambda d: _with_line(d, "{not json"), r"dòng 3: không phải JSON"),
        (lambda d: _with_line(d, json.dumps({"ten_thu_tuc": "Thủ tục X"})), r"dòng 3: bản ghi không có mã"),
        (lambda d: _with_bytes(d, b"\xff\xfe bad\n"), r"dòng 3: không phải văn bản UTF-8"),
    ],
    ids=["missing", "truncated-gzip", "not-json", "no-code", "bad-encoding"],
)
def test_broken_input_changes_nothing(db: Database, tmp_path: Path, make, message: str) -> None:
    import_national(db, SAMPLE)
    before = counts(db)
    revision = db.revision()
    with pytest.raises(ImportFileError, match=message):
        import_national(db, make(tmp_path))
    assert counts(db) == before
    assert db.revision() == revision


def test_skip_bad_lists_the_bad_lines(db: Database, tmp_path: Path) -> None:
    path = _with_line(tmp_path, "{not json")
    report = import_national(db, path, skip_bad=True)
    assert [b.line for b in report.skipped] == [3]
    assert report.total == 27


def _lines() -> list[str]:
    return SAMPLE.read_text(encoding="utf-8").splitlines()


def _with_line(d: Path, bad: str) -> Path:
    lines = _lines()
    lines.insert(2, bad)
    return write_gz(d / "bad.jsonl.gz", lines)


def _with_bytes(d: Path, bad: bytes) -> Path:
    raw = "\n".join(_lines()).encode("utf-8").split(b"\n")
    raw.insert(2, bad.rstrip(b"\n"))
    path = d / "bad.jsonl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"\n".join(raw) + b"\n")
    return path


def _truncated(d: Path) -> Path:
    whole = write_gz(d / "whole.jsonl.gz", _lines()).read_bytes()
    path = d / "truncated.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    return path
