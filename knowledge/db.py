"""Engines, sessions and schema migrations."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, create_engine, event, insert, inspect, select, text
from sqlalchemy.exc import (
    DisconnectionError,
    InterfaceError,
    InternalError,
    InvalidatePoolError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from knowledge.errors import DatabaseError
from knowledge.models import Meta

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
REVISION_KEY = "kb_revision"
HEALTH_KEY = "health_check"
"""Written and rolled back by the health check of a server database."""

OUTAGE = (OperationalError, InterfaceError, InternalError, DisconnectionError, PoolTimeout)
"""Errors that mean the database cannot be used right now (down, gone, read-only), as opposed
to a bad statement or bad data: what is being written may be written again later."""

READ_ONLY_SQLSTATE = "25006"
"""PostgreSQL's read_only_sql_transaction (a standby, or default_transaction_read_only)."""

FileId = tuple[int, int]
"""(device, inode) of a file: which file a path names at a moment."""


def file_id(path: Path) -> FileId | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def sqlite_url(path: str | Path) -> str:
    return f"sqlite:///{Path(path)}"


def make_engine(url: str) -> Engine:
    """An engine for any SQLAlchemy URL; SQLite files get their folder, WAL and foreign keys."""
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    elif url.startswith("postgresql"):
        if "+psycopg" not in url.split("://", 1)[0]:
            url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        if "connect_timeout" not in url:
            # A server that does not answer at all (a dropped route) must not hold a message for minutes.
            kwargs["connect_args"] = {"connect_timeout": 5}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


class HealthProblem(StrEnum):
    """Why the health check failed."""

    UNREACHABLE = "unreachable"
    FILE_MISSING = "file_missing"
    FILE_REPLACED = "file_replaced"
    READ_ONLY = "read_only"
    TIMEOUT = "timeout"


@dataclass(frozen=True, slots=True)
class Health:
    """What the health check found."""

    problem: HealthProblem | None
    """None when the database answers, is the file its path names and takes writes."""
    message: str
    """For the operator, in Vietnamese."""
    revision: int | None = None
    """The knowledge revision, when the database answered."""

    @property
    def ok(self) -> bool:
        return self.problem is None


AUTOCHECKPOINT_PAGES = 1000
"""SQLite's own default: a commit that leaves this many pages in the write-ahead log copies them
into the database file (a checkpoint) before it returns."""

REOPEN_GRACE = 1.0
"""Seconds a process waits after it noticed a replaced SQLite file before it opens the new one:
the other workers close their connections to the old file in that time (see `_may_open`)."""
REOPEN_WAIT = 10.0
"""...and at most this long while the old file's write-ahead log is still there."""


class Database:
    """One engine plus its session factory; the unit every component receives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        path = self.file_path()
        self._lock_path = path.with_name(path.name + ".write-lock") if path else None
        self._lock_fd: int | None = None
        self._lock_pid = 0
        self._thread_lock = threading.Lock()
        self._closer: weakref.finalize | None = None
        self._file = path
        self._file_lock = threading.Lock()
        self._opened: FileId | None = None
        """The file this process's connections hold, and its write-ahead log."""
        self._wal: FileId | None = None
        self._seen = False
        """True once a connection opened the file: a vanished file is then not made anew."""
        self._changed_at: float | None = None
        """When this process noticed that the path names another file or none."""
        self._health_pool: ThreadPoolExecutor | None = None
        self._health_running: Future[Health] | None = None
        self._deferred = False
        """Checkpoints are left to `checkpoint` (see `defer_checkpoints`)."""
        if path is not None:
            self._follow_file(path)

    def file_path(self) -> Path | None:
        """The file of a SQLite database; None for in-memory databases and server databases."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        if database.startswith("file:") or self.engine.url.query.get("uri"):
            return None  # URI filenames (shared memory and the like) are left to SQLite
        return Path(database)

    # --- a SQLite file that is deleted or replaced while the process runs ---------------------

    def _follow_file(self, path: Path) -> None:
        """Keep the connections on the file the path names. An operator who deletes the file or
        puts a restored copy in its place expects the service to use what is there now, while
        SQLite keeps writing to the file it opened (deleted or not) until its connections close."""
        wal = path.with_name(path.name + "-wal")

        @event.listens_for(self.engine, "do_connect")
        def _before_connect(_dialect: Any, _record: Any, _cargs: Any, _cparams: Any) -> None:
            self._may_open(path, wal)  # returns nothing: the dialect connects as usual

        @event.listens_for(self.engine, "connect")
        def _after_connect(_dbapi_conn: Any, record: Any) -> None:
            # After the WAL pragma (registered first), so the write-ahead log exists by now.
            now = file_id(path)
            record.info["file"] = now
            with self._file_lock:
                self._seen = True
                if now != self._opened:
                    if self._opened is not None:
                        log.warning("database file %s: opened the file now at this path", path)
                    self._opened, self._wal, self._changed_at = now, file_id(wal), None

        @event.listens_for(self.engine, "checkout")
        def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
            if record.info.get("file") != file_id(path):
                # This connection (and every older one) holds a file the path no longer names.
                self._noticed(path)
                raise InvalidatePoolError(f"database file {path} was replaced or deleted")
            if record.info.get("deferred", False) != self._deferred:
                pages = 0 if self._deferred else AUTOCHECKPOINT_PAGES
                dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={pages}")
                record.info["deferred"] = self._deferred

        @event.listens_for(self.engine, "checkin")
        def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
            if record.dbapi_connection is not None and record.info.get("file") != file_id(path):
                record.invalidate()  # closed now rather than kept in the pool on the old file

    def _noticed(self, path: Path) -> None:
        with self._file_lock:
            if self._changed_at is None and self._opened is not None:
                self._changed_at = time.monotonic()
                gone = file_id(path) is None
                log.error(
                    "database file %s was %s while serving: closing connections to the old file; "
                    "messages are kept in memory until the database can be written again",
                    path,
                    "deleted" if gone else "replaced",
                )

    def _may_open(self, path: Path, wal: Path) -> None:
        """Refuse (as SQLite would, so callers see an OperationalError) to open a vanished file,
        and wait a moment before opening a replaced one (`REOPEN_GRACE`)."""
        now = file_id(path)
        with self._file_lock:
            if now is None and self._seen:
                raise sqlite3.OperationalError(f"the database file {path} is gone (not making an empty one)")
            if self._opened is None or now == self._opened:
                return
            if self._changed_at is None:
                self._changed_at = time.monotonic()
            waited = time.monotonic() - self._changed_at
        if waited < REOPEN_GRACE:
            raise sqlite3.OperationalError(f"the database file {path} was replaced: closing the old one first")
        self._set_aside_old_log(path, now)

    def _set_aside_old_log(self, path: Path, now: FileId | None) -> None:
        """SQLite names the write-ahead log after the path and leaves the log of a deleted or
        replaced file behind; a connection to the file now at the path would read that log as
        its own (a restored copy would show the old file's pages). Once every process had time
        to close the old file, the first one to get here moves the old log aside (kept, not
        deleted: it may hold the old file's last writes) and notes which file the path's log
        belongs to now, so later processes leave the new file's log alone."""
        marker = path.with_name(path.name + ".opened")
        mine = "none" if now is None else f"{now[0]} {now[1]}"
        with open(path.with_name(path.name + ".build-lock"), "a+") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                noted = marker.read_text().strip()
            except FileNotFoundError:
                noted = ""
            if noted == mine:
                return
            stamp = time.strftime("%Y%m%d-%H%M%S") + f".{time.time_ns() // 1_000_000 % 1000:03d}"
            for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                if leftover.exists():
                    aside = leftover.with_name(f"{leftover.name}.old-{stamp}")
                    leftover.replace(aside)
                    log.warning("database file %s: moved the old file's %s aside to %s", path, leftover.name, aside)
            partial = marker.with_name(marker.name + ".new")
            partial.write_text(mine + "\n")
            partial.replace(marker)

    def ensure_current(self) -> None:
        """Close pooled connections to a SQLite file the path no longer names (called by the
        health check and by long-running processes every half second or so)."""
        path = self._file
        if path is None or self._opened is None:
            return
        now = file_id(path)
        if now == self._opened:
            return
        self._noticed(path)
        self.engine.pool.dispose()  # idle connections; those in use are closed when returned
        changed_at = self._changed_at
        if now is None and changed_at is not None and time.monotonic() - changed_at >= REOPEN_GRACE:
            # Deleted: whatever is put in its place (a restored copy, `motcua kb init`) must not
            # start from the deleted file's log.
            self._set_aside_old_log(path, None)

    def defer_checkpoints(self, deferred: bool = True) -> None:
        """For a long-running process whose upkeep thread calls `checkpoint` every half second:
        commits no longer copy the write-ahead log into a SQLite file themselves. That copy and
        its fsync take 10-40 ms every few hundred messages, felt by the message that happened
        to commit and by every writer queued behind it. Commits stay as durable as before."""
        if self._file is not None:
            self._deferred = deferred

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the SQLite file, without waiting for readers
        or writers (a passive checkpoint: what cannot be copied now is copied next time)."""
        if self._file is None or not self._deferred or self._opened is None:
            return
        if file_id(self._file) != self._opened:
            return  # deleted or replaced: a message's write (or `ensure_current`) deals with it
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        except OUTAGE as exc:
            # The file is away (its outage is reported where messages are stored): next time.
            log.debug("checkpoint skipped: %s", exc)

    def health(self, timeout: float = 1.5) -> Health:
        """Whether the database answers, within `timeout` seconds; for a SQLite file also whether
        it is the file the path names and can be written; for a server, whether a write works
        (rolled back). A check still running from before counts as no answer."""
        with self._file_lock:
            running = self._health_running
            if running is not None and not running.done():
                return Health(HealthProblem.TIMEOUT, "Cơ sở dữ liệu chưa trả lời lần kiểm tra trước.")
            if self._health_pool is None:
                self._health_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-health")
            future = self._health_pool.submit(self._check)
            self._health_running = future
        try:
            return future.result(timeout)
        except FutureTimeout:
            return Health(HealthProblem.TIMEOUT, f"Cơ sở dữ liệu không trả lời trong {timeout:g} giây.")

    def _check(self) -> Health:
        path = self._file
        if path is not None:
            self.ensure_current()
            if file_id(path) is None:
                return Health(
                    HealthProblem.FILE_MISSING,
                    f"Không tìm thấy tệp cơ sở dữ liệu {path} (đã bị xóa hoặc di chuyển). Hãy khôi phục "
                    "tệp (hoặc chạy: motcua kb init); tin nhắn trong lúc chờ được giữ trong bộ nhớ.",
                )
        try:
            with self.engine.connect() as conn, conn.begin() as tx:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SET LOCAL statement_timeout = 1500"))
                value = conn.execute(select(Meta.value).where(Meta.key == REVISION_KEY)).scalar()
                if path is None:  # a server database: a write must work too (rolled back)
                    conn.execute(insert(_META).values(key=HEALTH_KEY, value=str(time.time())))
                elif conn.connection.info.get("file") != file_id(path):
                    tx.rollback()
                    return _replaced(path)
                tx.rollback()
        except SQLAlchemyError as exc:
            log.warning("health check failed: %s", exc)
            if path is not None and file_id(path) != self._opened:
                return _replaced(path)
            if getattr(getattr(exc, "orig", None), "sqlstate", None) == READ_ONLY_SQLSTATE:
                return Health(HealthProblem.READ_ONLY, f"Cơ sở dữ liệu {self.safe_url} chỉ cho đọc, không ghi được.")
            return Health(HealthProblem.UNREACHABLE, f"Không kết nối được cơ sở dữ liệu {self.safe_url}.")
        if path is not None:
            unwritable = [p for p in _sqlite_files(path) if p.exists() and not os.access(p, os.W_OK)]
            if unwritable:
                return Health(
                    HealthProblem.READ_ONLY,
                    f"Không ghi được vào {', '.join(map(str, unwritable))}: tệp hoặc thư mục chỉ đọc. "
                    "Tin nhắn trong lúc chờ được giữ trong bộ nhớ.",
                )
        return Health(None, "Cơ sở dữ liệu hoạt động bình thường.", int(value) if value else 0)

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the database's writer turn for a short write transaction.

        SQLite takes one writer at a time, and a writer that finds the file busy sleeps in
        steps of up to 100 ms before it tries again. Several web workers writing every message
        queue here instead, on a lock the kernel hands over the moment it is released.
        A server database (PostgreSQL) has row locks of its own: nothing to do there."""
        if self._lock_path is None:
            yield
            return
        with self._thread_lock:
            if self._lock_fd is None or self._lock_pid != os.getpid():  # not a parent's after fork
                # Readable and writable by whoever may run the assistant (the umask still applies).
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o666)
                self._lock_pid = os.getpid()
                self._closer = weakref.finalize(self, os.close, self._lock_fd)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = None
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except OperationalError as exc:
            raise DatabaseError(f"Không kết nối được cơ sở dữ liệu ({self.safe_url}): {exc.orig}") from exc

    def is_initialised(self) -> bool:
        try:
            return inspect(self.engine).has_table("procedure")
        except SQLAlchemyError as exc:
            raise DatabaseError(f"Không kết nối được cơ sở dữ liệu ({self.safe_url}).") from exc

    def require_initialised(self) -> None:
        if not self.is_initialised():
            raise DatabaseError(f"Cơ sở dữ liệu {self.safe_url} chưa được khởi tạo. Hãy chạy: motcua kb init")

    @property
    def safe_url(self) -> str:
        """The URL without its password, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    def revision(self) -> int:
        """The knowledge revision: bumped by every change to procedures, FAQs or units."""
        with self.sessions() as session:
            value = session.scalar(select(Meta.value).where(Meta.key == REVISION_KEY))
        return int(value) if value else 0

    def dispose(self) -> None:
        self.engine.dispose()
        if self._health_pool is not None:
            self._health_pool.shutdown(wait=False)
            self._health_pool = None
        with self._thread_lock:
            if self._closer is not None:
                self._closer()  # closes the lock file once
                self._closer = None
            self._lock_fd = None


_META = cast(Table, Meta.__table__)


def _replaced(path: Path) -> Health:
    return Health(
        HealthProblem.FILE_REPLACED,
        f"Tệp cơ sở dữ liệu {path} vừa được thay bằng tệp khác; đang đóng tệp cũ để mở tệp mới.",
    )


def _sqlite_files(path: Path) -> list[Path]:
    """What SQLite writes: the file, its write-ahead log and index, and the folder they are made in."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), path.parent]


def bump_revision(session: Session) -> int:
    """Increase the knowledge revision inside the caller's transaction."""
    row = session.get(Meta, REVISION_KEY, with_for_update=True)
    if row is None:
        row = Meta(key=REVISION_KEY, value="1")
        session.add(row)
    else:
        row.value = str(int(row.value) + 1)
    session.flush()
    return int(row.value)
