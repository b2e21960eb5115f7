"""The conversation store under several writers at once, as web workers use it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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
