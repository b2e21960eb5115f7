"""The conversation store under several writers at once, as web workers use it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from knowledge.conversations import ConversationStore, TurnRecord
from knowledge.db import Database
from knowledge.models import Conversation, Message


def test_concurrent_writers_lose_nothing(db: Database) -> None:
    # Each thread has its own Database, as each web worker has: on SQLite they queue for the
    # writer's turn through the lock file, on PostgreSQL through the server.
    writers = [Database(db.url) for _ in range(4)]

    def talk(n: int) -> None:
        store = ConversationStore(writers[n % 4])
        for i in range(25):
            sender = f"citizen-{n}-{i % 3}"
            memory = store.recall("web", sender)
            store.record(memory, TurnRecord("web", sender, None, f"câu hỏi {i}", f"r{n}-{i}", ["trả lời"], {"i": i}))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(talk, range(8)))
    for w in writers:
        w.dispose()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 8 * 25 * 2
        assert s.scalar(select(func.count()).select_from(Conversation)) == 8 * 3


def test_deferred_checkpoints_leave_commits_to_the_log_and_the_upkeep_copies_it(tmp_path: Path) -> None:
    # A web worker's commits must not copy the write-ahead log into the file themselves (a
    # 10-40 ms stall every few hundred messages); its upkeep thread checkpoints instead.
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    db.migrate()

    def autocheckpoint() -> int:
        with db.engine.connect() as conn:
            return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())

    assert autocheckpoint() == 1000
    db.defer_checkpoints()
    assert autocheckpoint() == 0
    store = ConversationStore(db)
    for i in range(50):
        store.record(store.recall("web", "a"), TurnRecord("web", "a", None, f"câu {i}", f"r{i}", ["trả lời"], {}))
    db.checkpoint()
    with db.engine.connect() as conn:
        busy, logged, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    assert (busy, copied) == (0, logged)  # nothing was left to copy by the second call
    db.defer_checkpoints(False)
    assert autocheckpoint() == 1000
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 100
    db.dispose()
