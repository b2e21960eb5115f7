"""Storage faults while serving, through the real web app: the SQLite file deleted, replaced by a
copy, made read-only; a PostgreSQL server of the test's own stopped and started again. Every
accepted message must end up stored, and /healthz must tell the truth within 2 s."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bot.assistant import Assistant
from channels.web.app import create_app
from knowledge.db import Database
from knowledge.models import Message
from tests.own_postgres import OwnPostgres

URL = "/webhooks/rest/webhook"
APOLOGY = "Xin lỗi, hệ thống đang gặp sự cố"
TRUTHFUL_WITHIN = 2.0


def send(client: TestClient, sender: str, n: int, start: int = 0) -> list[str]:
    """`n` questions from `sender`; returns the first reply text of each (all must be HTTP 200)."""
    texts = []
    for i in range(start, start + n):
        r = client.post(URL, json={"sender": sender, "message": f"làm giấy khai sinh cần gì ({i})"})
        assert r.status_code == 200, r.text
        texts.append(r.json()[0]["text"])
    return texts


def wait_health(client: TestClient, status: int, within: float = TRUTHFUL_WITHIN) -> float:
    """Seconds until /healthz answers `status`; fails after `within` seconds."""
    started = time.monotonic()
    while True:
        r = client.get("/healthz")
        if r.status_code == status:
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"/healthz still {r.status_code}: {r.json()}"
        time.sleep(0.05)


def wait_flushed(assistant: Assistant, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while assistant.pending and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not assistant.pending, f"{len(assistant.pending)} messages still waiting"


def stored_on_disk(path: Path) -> int:
    """Questions in the file the path names now (not what a worker's connection still sees)."""
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM message WHERE direction = 'in'").fetchone()[0])


def backup(path: Path, to: Path) -> None:
    """A consistent copy, write-ahead log included, as `sqlite3 db '.backup copy'` makes."""
    src, dst = sqlite3.connect(path), sqlite3.connect(to)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


@pytest.fixture
def served(kb_copy: Database, nlu_engine, settings_for) -> Iterator[tuple[TestClient, Assistant, Path]]:
    settings = settings_for(kb_copy, retry_queue_limit=50)
    assistant = Assistant(settings, kb_copy, nlu_engine)
    with TestClient(create_app(settings, assistant)) as client:  # runs the app's upkeep thread
        yield client, assistant, Path(str(kb_copy.engine.url.database))


def test_deleted_file_then_restored_copy(served, tmp_path: Path) -> None:
    client, assistant, path = served
    assert set(send(client, "del", 5)) != {APOLOGY}
    backup(path, tmp_path / "copy.db")
    os.unlink(path)
    assert client.get("/healthz").json()["database"] == "file_missing"  # at once, not within 2 s
    during = send(client, "del", 10, start=5)
    assert all(t.startswith(APOLOGY) for t in during)
    r = client.get("/healthz")
    assert r.status_code == 503 and "Không tìm thấy tệp cơ sở dữ liệu" in r.json()["message"]
    assert r.json()["pending_messages"] == 10
    assert not path.exists()  # no empty database made in its place
    os.replace(tmp_path / "copy.db", path)
    wait_health(client, 200)
    wait_flushed(assistant)
    assert stored_on_disk(path) == 15
    assert not send(client, "del", 1, start=15)[0].startswith(APOLOGY)
    assert stored_on_disk(path) == 16


def test_replaced_by_a_copy(served, tmp_path: Path) -> None:
    client, assistant, path = served
    send(client, "rep", 5)
    backup(path, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", path)
    assert client.get("/healthz").status_code == 503  # reopening: not yet the new file
    send(client, "rep", 10, start=5)  # answered or apologised for, never lost
    wait_health(client, 200)
    wait_flushed(assistant)
    assert stored_on_disk(path) == 15
    # The old file's write-ahead log was moved aside, not read as the copy's own.
    assert list(path.parent.glob(f"{path.name}-wal.old-*"))
    send(client, "rep", 3, start=15)
    assert stored_on_disk(path) == 18


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make the database file and its write-ahead log unwritable. Root ignores file modes, so as
    root they are made immutable (chattr +i, which needs a file system that supports it). Not the
    -shm index: SQLite maps it into memory, and a write to an immutable mapping kills the
    process (SIGBUS), whatever the program does."""
    files = [p for p in (path, Path(f"{path}-wal")) if p.exists()]
    if os.geteuid() == 0:
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", *map(str, files)]).returncode:
            pytest.skip("running as root, where chmod does not stop writes, and chattr +i is unavailable here")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, files)], check=True)
        return
    modes = {p: p.stat().st_mode for p in [*files, path.parent]}
    for p in files:
        p.chmod(0o444)
    path.parent.chmod(0o555)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def test_read_only_file(served) -> None:
    client, assistant, path = served
    send(client, "ro", 3)
    with read_only(path):
        assert wait_health(client, 503) < TRUTHFUL_WITHIN
        assert client.get("/healthz").json()["database"] == "read_only"
        during = send(client, "ro", 6, start=3)
        if os.geteuid() == 0:  # an immutable log refuses writes of open connections too
            assert all(t.startswith(APOLOGY) for t in during)
            assert len(assistant.pending) == 6
        # (without root, connections opened before keep appending to the log: stored all the same)
    wait_health(client, 200)
    wait_flushed(assistant)
    assert stored_on_disk(path) == 9


def test_full_queue_answers_503(served, tmp_path: Path) -> None:
    client, assistant, path = served
    send(client, "full", 1)
    backup(path, tmp_path / "copy.db")
    os.unlink(path)
    send(client, "full", assistant.pending.limit, start=1)
    r = client.post(URL, json={"sender": "full", "message": "còn hồ sơ kết hôn?"})
    assert r.status_code == 503 and r.headers["retry-after"]
    assert "gửi lại" in r.json()["error"]
    os.replace(tmp_path / "copy.db", path)
    wait_flushed(assistant)
    assert stored_on_disk(path) == 1 + assistant.pending.limit  # every accepted one, not the refused one


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    try:
        server = OwnPostgres()
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"cannot make a PostgreSQL server of the test's own: {exc}")
    try:
        server.start()
        yield server
    finally:
        server.close()


def read_only_server(db: Database, on: bool) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"ALTER SYSTEM SET default_transaction_read_only = {'on' if on else 'off'}")
        conn.exec_driver_sql("SELECT pg_reload_conf()")
    db.engine.dispose()  # pooled sessions keep the setting they started with
    time.sleep(0.2)  # the server's processes take the reloaded setting


@pytest.mark.postgres
def test_postgres_stopped_and_started(own_postgres: OwnPostgres, nlu_engine, settings_for) -> None:
    # The schema only: this test is about storage, answers may be "unknown procedure".
    db = Database(own_postgres.url)
    db.migrate()
    settings = settings_for(db)
    assistant = Assistant(settings, db, nlu_engine)

    def count() -> int:
        with db.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) or 0)

    try:
        with TestClient(create_app(settings, assistant)) as client:
            send(client, "pg", 5)
            assert client.get("/healthz").status_code == 200
            own_postgres.stop()
            assert wait_health(client, 503) < TRUTHFUL_WITHIN
            assert client.get("/healthz").json()["database"] == "unreachable"
            during = send(client, "pg", 10, start=5)
            assert all(t.startswith(APOLOGY) for t in during)
            own_postgres.start()
            wait_health(client, 200, within=10)
            wait_flushed(assistant)
            assert count() == 15
            send(client, "pg", 2, start=15)
            assert count() == 17
            # A server that answers but refuses writes (as a standby does) is not healthy either.
            read_only_server(db, True)
            try:
                assert client.get("/healthz").json()["database"] == "read_only"
                assert all(t.startswith(APOLOGY) for t in send(client, "pg", 3, start=17))
            finally:
                read_only_server(db, False)
            wait_health(client, 200)
            wait_flushed(assistant)
            assert count() == 20
    finally:
        db.dispose()
