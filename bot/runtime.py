"""Wiring shared by every entry point: the database, the catalog and the NLU engine."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable
from pathlib import Path

from bot.errors import ModelError
from bot.nlu.engine import CUSTOM, DEFAULT_DATA, NluEngine, data_fingerprint, saved_fingerprint
from bot.nlu.types import CatalogEntry
from bot.settings import Settings
from knowledge.db import MIGRATIONS, Database, sqlite_url
from knowledge.errors import DatabaseError
from knowledge.repository import Repository
from knowledge.seed import initialise
from knowledge.types import ProcedureSummary

log = logging.getLogger(__name__)


def catalog_entries(summaries: list[ProcedureSummary]) -> list[CatalogEntry]:
    """The knowledge base's procedures in the form the NLU takes (no database objects)."""
    return [
        CatalogEntry(
            code=p.code, name=p.name, aliases=p.aliases, ward_level="Cấp xã" in p.levels, popularity=p.popularity
        )
        for p in summaries
    ]


def model_is_current(settings: Settings) -> bool:
    """True when a saved model exists and was trained on the current training data."""
    path = settings.model_path
    return path.exists() and saved_fingerprint(path) in (data_fingerprint(DEFAULT_DATA), CUSTOM)


def load_engine(settings: Settings, repo: Repository, announce: Callable[[str], None] | None = None) -> NluEngine:
    """The saved model over the current catalog; trains and saves one first when none is saved
    (or when the training data changed since), saying so through `announce`."""
    catalog = catalog_entries(repo.catalog())
    path = settings.model_path
    fingerprint = data_fingerprint(DEFAULT_DATA)
    if path.exists() and saved_fingerprint(path) in (fingerprint, CUSTOM):
        try:
            return NluEngine.load(path, catalog)
        except ModelError as exc:
            log.warning("%s", exc)
    if announce:
        reason = "chưa có mô hình đã lưu" if not path.exists() else "dữ liệu huấn luyện đã thay đổi"
        announce(f"Đang huấn luyện mô hình hiểu câu hỏi ({reason}), chỉ mất vài giây...")
    engine, report = NluEngine.train(catalog)
    engine.save(path, fingerprint=fingerprint)
    if announce:
        announce(f"Đã huấn luyện trên {report.examples} ví dụ trong {report.seconds:.1f} giây; lưu tại {path}.")
    return engine


def open_repository(
    settings: Settings, announce: Callable[[str], None] | None = None, *, build_missing: bool = True
) -> tuple[Database, Repository]:
    """The configured knowledge base. A SQLite file that does not exist yet is built from the
    shipped data first (saying so through `announce`), so `parse` and `converse` work on a fresh
    checkout; an existing but empty database, or PostgreSQL, needs `motcua kb init`.
    `build_missing=False` (a web worker, started after `serve` checked the file) refuses instead:
    a worker restarted while the file is deleted must not put a fresh one in its place, where the
    copy the operator restores would then replace whatever was written to it."""
    db = Database(settings.database_url)
    path = db.file_path()
    if path is not None and not path.exists():
        db.dispose()
        if not build_missing:
            raise DatabaseError(
                f"Không tìm thấy tệp cơ sở dữ liệu {path}. Hãy khôi phục tệp (hoặc chạy: motcua kb init)."
            )
        build_shipped_sqlite(path, announce)
        db = Database(settings.database_url)
    db.require_initialised()
    if path is not None and not schema_is_current(db):
        # A knowledge base made by an earlier release: bring it up to date, keeping staff edits.
        if announce:
            announce(f"Đang nâng cấp cơ sở tri thức {path} lên phiên bản mới (giữ nguyên các chỉnh sửa)...")
        with open(path.with_name(path.name + ".build-lock"), "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            db.migrate()
    elif not schema_is_current(db):
        raise DatabaseError(f"Cơ sở dữ liệu {db.safe_url} cần nâng cấp lên phiên bản mới. Hãy chạy: motcua kb init")
    return db, Repository(db)


def schema_is_current(db: Database) -> bool:
    """True when the database's schema is at the newest migration of this release."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    with db.engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads


def build_shipped_sqlite(path: Path, announce: Callable[[str], None] | None = None) -> None:
    """Build the shipped knowledge base into a new SQLite file. Built beside it and renamed
    when complete, so an interrupted build leaves nothing half-made; processes starting at the
    same time wait for one another and build it once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".build-lock"), "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if path.exists():  # another process built it while we waited
            return
        if announce:
            announce(f"Chưa có cơ sở tri thức tại {path}; đang tạo từ dữ liệu kèm theo (khoảng 10 giây)...")
        partial = path.with_name(path.name + ".building")
        for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
        db = Database(sqlite_url(partial))
        try:
            initialise(db)
            with db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.dispose()
        partial.replace(path)
