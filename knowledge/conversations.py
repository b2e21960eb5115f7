"""Conversation state, transcripts, ratings and the staff inbox (storage side of the assistant)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from knowledge.db import OUTAGE, Database
from knowledge.errors import DatabaseError, StorageUnavailable
from knowledge.models import Conversation, Feedback, InboxItem, Message, Meta
from knowledge.types import InboxReason, Outcome

_CONV = cast(Table, Conversation.__table__)
_MSG = cast(Table, Message.__table__)
_INBOX = cast(Table, InboxItem.__table__)

# Built once: these run for every message, and building a statement costs more than running it.
_FIND = select(_CONV.c.id, _CONV.c.state, _CONV.c.updated_at).where(
    _CONV.c.channel == bindparam("b_channel"), _CONV.c.sender == bindparam("b_sender")
)
_OPEN = insert(_CONV).returning(_CONV.c.id)
_TOUCH = update(_CONV).where(_CONV.c.id == bindparam("b_id"))
_TOUCH_STATE = _TOUCH.values(state=bindparam("state"), updated_at=bindparam("updated_at"))
_TOUCH_UNIT = _TOUCH.values(
    state=bindparam("state"), updated_at=bindparam("updated_at"), unit_code=bindparam("unit_code")
)
_ASK = insert(_MSG).returning(_MSG.c.id)
_ANSWER = insert(_MSG)
_FLAG = insert(_INBOX)

SENDER_KEY = "sender_key"
"""The meta row holding the key sender pseudonyms are made with, when no secret is configured."""


@dataclass(frozen=True, slots=True)
class Memory:
    """What the assistant remembers of a conversation when a message arrives."""

    conversation_id: int | None
    """None for a conversation not stored yet."""
    state: dict[str, Any]
    """The dialogue memory; empty when the conversation is new or expired."""


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """Everything one message leaves in the database, written in one transaction."""

    channel: str
    sender: str
    unit: str | None
    question: str
    """The incoming text, personal numbers already masked."""
    ref: str
    """Reference carried by the answer's rating buttons."""
    replies: list[str]
    state: dict[str, Any] | None
    """The conversation's state after the turn; None leaves the stored state as it is (a turn
    answered with an apology because the database could not be used)."""
    intent: str | None = None
    confidence: float | None = None
    procedure: str | None = None
    outcome: Outcome = Outcome.ANSWERED
    inbox_reason: InboxReason | None = None
    at: datetime | None = None
    """When the message arrived, if it is written later than that (kept while the database was
    down); otherwise the time of writing."""


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ConversationStore:
    """A read when a message arrives, one write transaction when it has been answered.
    Core statements: this runs for every message, where ORM overhead shows."""

    def __init__(self, db: Database, ttl: timedelta = timedelta(minutes=30)) -> None:
        self.db = db
        self.ttl = ttl

    def sender_key(self) -> str:
        """The key sender pseudonyms are made with: one kept in the database, made on first use,
        so every worker (and every restart) gives a sender the same pseudonym."""
        for _attempt in range(2):
            with self.db.sessions() as s:
                value = s.scalar(select(Meta.value).where(Meta.key == SENDER_KEY))
            if value:
                return value
            try:
                with self.db.writing(), self.db.session() as s:
                    s.add(Meta(key=SENDER_KEY, value=secrets.token_urlsafe(32)))
            except IntegrityError:
                continue  # another worker made it first: read theirs
        raise DatabaseError("Không đọc được khóa ẩn danh người gửi.")

    def recall(self, channel: str, sender: str) -> Memory:
        try:
            with self.db.engine.connect() as conn:
                row = conn.execute(_FIND, {"b_channel": channel, "b_sender": sender}).first()
        except OUTAGE as exc:
            raise self._unavailable(exc) from exc
        if row is None:
            return Memory(None, {})
        fresh = datetime.now(UTC) - _aware(row.updated_at) <= self.ttl
        return Memory(row.id, dict(row.state or {}) if fresh else {})

    def record(self, memory: Memory, turn: TurnRecord) -> int:
        """Store the question, the answers, the new state and any inbox item. Returns the
        question's message id. Raises `StorageUnavailable` when the database cannot be used:
        nothing of the turn was written then."""
        try:
            return self._record(memory, turn)
        except OUTAGE as exc:
            raise self._unavailable(exc) from exc

    def _unavailable(self, exc: Exception) -> StorageUnavailable:
        self.db.ensure_current()  # a replaced SQLite file: close the old one's connections now
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return StorageUnavailable(f"Cơ sở dữ liệu tạm thời không dùng được: {reason}")

    def _record(self, memory: Memory, turn: TurnRecord) -> int:
        now = turn.at or datetime.now(UTC)
        for attempt in range(2):
            try:
                with self.db.writing(), self.db.engine.begin() as conn:
                    conv_id = memory.conversation_id
                    if conv_id is None:
                        conv_id = conn.execute(_FIND, {"b_channel": turn.channel, "b_sender": turn.sender}).scalar()
                    if conv_id is None:
                        conv_id = conn.execute(
                            _OPEN,
                            {
                                "channel": turn.channel,
                                "sender": turn.sender,
                                "unit_code": turn.unit,
                                "state": turn.state or {},
                                "created_at": now,
                                "updated_at": now,
                            },
                        ).scalar_one()
                    elif turn.state is not None:
                        values: dict[str, Any] = {"b_id": conv_id, "state": turn.state, "updated_at": now}
                        if turn.unit:
                            values["unit_code"] = turn.unit
                        conn.execute(_TOUCH_UNIT if turn.unit else _TOUCH_STATE, values)
                    question_id = conn.execute(
                        _ASK,
                        {
                            "conversation_id": conv_id,
                            "channel": turn.channel,
                            "direction": "in",
                            "text": turn.question,
                            "intent": turn.intent,
                            "confidence": turn.confidence,
                            "procedure_code": turn.procedure,
                            "outcome": turn.outcome,
                            "ref": turn.ref,
                            "created_at": now,
                        },
                    ).scalar_one()
                    if turn.replies:
                        conn.execute(
                            _ANSWER,
                            [
                                {
                                    "conversation_id": conv_id,
                                    "channel": turn.channel,
                                    "direction": "out",
                                    "text": text,
                                    "created_at": now,
                                }
                                for text in turn.replies
                            ],
                        )
                    if turn.inbox_reason:
                        conn.execute(_FLAG, {"message_id": question_id, "reason": turn.inbox_reason, "created_at": now})
                    return int(question_id)
            except IntegrityError as exc:
                # Two workers opened the same new conversation at once: the other one won,
                # so the second attempt finds it.
                if attempt:
                    raise DatabaseError("Không lưu được hội thoại.") from exc
        raise DatabaseError("Không lưu được hội thoại.")

    def rate(self, ref: str, useful: bool, channel: str, sender: str) -> bool:
        """Store a rating of the answer to the question `ref`; "Chưa đúng" also lands in the
        inbox. False when `ref` is not a question of this sender's conversation."""
        with self.db.writing(), self.db.session() as s:
            message_id = s.scalar(
                select(Message.id)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(
                    Message.ref == ref,
                    Message.direction == "in",
                    Conversation.channel == channel,
                    Conversation.sender == sender,
                )
            )
            if message_id is None:
                return False
            s.add(Feedback(message_id=message_id, useful=useful))
            if not useful:
                s.add(InboxItem(message_id=message_id, reason=InboxReason.WRONG))
        return True
