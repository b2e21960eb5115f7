"""Engines, sessions and schema migrations."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from knowledge.errors import DatabaseError
from knowledge.models import Meta

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
REVISION_KEY = "kb_revision"


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
    elif url.startswith("postgresql") and "+psycopg" not in url.split("://", 1)[0]:
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
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

    def file_path(self) -> Path | None:
        """The file of a SQLite database; None for in-memory databases and server databases."""
        database = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        if database.startswith("file:") or self.engine.url.query.get("uri"):
            return None  # URI filenames (shared memory and the like) are left to SQLite
        return Path(database)

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
        with self._thread_lock:
            if self._closer is not None:
                self._closer()  # closes the lock file once
                self._closer = None
            self._lock_fd = None


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
