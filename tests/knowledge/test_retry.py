"""The retry queue on a real database: kept turns keep their arrival time, leave the conversation's
state alone, are written oldest first, and a turn that can never be written does not hold back the
others."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from knowledge.conversations import ConversationStore, Memory, TurnRecord
from knowledge.db import Database
from knowledge.errors import RetryQueueFull
from knowledge.models import Conversation, Message
from knowledge.retry import RetryQueue
from knowledge.types import Outcome


def turn(text: str, at: datetime | None = None, state: dict | None = None, sender: str = "s1") -> TurnRecord:
    return TurnRecord(
        channel="rest",
        sender=sender,
        unit=None,
        question=text,
        ref=text[:12],
        replies=["Xin lỗi"],
        state=state,
        outcome=Outcome.ERROR,
        at=at,
    )


def test_kept_turns_are_written_in_order_with_their_time(db: Database) -> None:
    store = ConversationStore(db)
    store.record(Memory(None, {}), turn("trước sự cố", state={"procedure": "1.001193"}))
    queue = RetryQueue(store, limit=3)
    arrived = datetime.now(UTC) - timedelta(minutes=5)
    for i in range(3):
        queue.add(turn(f"trong sự cố {i}", at=arrived + timedelta(seconds=i)), "database down")
    with pytest.raises(RetryQueueFull) as refused:
        queue.add(turn("một tin nữa"), "database down")
    assert "gửi lại" in str(refused.value)
    assert queue.flush() and not queue
    with db.sessions() as s:
        rows = s.execute(select(Message.text, Message.created_at).where(Message.direction == "in")).all()
        state = s.scalar(select(Conversation.state))
    assert [r.text for r in rows] == ["trước sự cố", "trong sự cố 0", "trong sự cố 1", "trong sự cố 2"]
    assert rows[1].created_at.replace(tzinfo=UTC) == arrived  # when it arrived, not when written
    assert state == {"procedure": "1.001193"}  # an apology leaves the conversation where it was


def test_a_turn_that_never_fits_is_logged_and_skipped(db: Database, caplog: pytest.LogCaptureFixture) -> None:
    store = ConversationStore(db)
    queue = RetryQueue(store)
    queue.add(turn("câu không lưu được", state={"bad": {1, 2}}, sender="poison"), "database down")  # not JSON
    queue.add(turn("câu hỏi bình thường"), "database down")
    with caplog.at_level(logging.ERROR):
        assert queue.flush()
    with db.sessions() as s:
        texts = s.scalars(select(Message.text).where(Message.direction == "in")).all()
    assert texts == ["câu hỏi bình thường"]
    assert "could not be written" in caplog.text and "câu không lưu được" in caplog.text
