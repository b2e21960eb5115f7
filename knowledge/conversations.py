"""Conversation state, transcripts, ratings and the staff inbox (storage side of the assistant)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from knowledge.db import Database
from knowledge.errors import DatabaseError
from knowledge.models import Conversation, Feedback, InboxItem, Message


@dataclass(frozen=True, slots=True)
class TurnStart:
    conversation_id: int
    message_id: int
    state: dict[str, Any]
    """The dialogue memory; empty when the conversation is new or expired."""


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ConversationStore:
    """Two short transactions per message: `start` before answering, `finish` after."""

    def __init__(self, db: Database, ttl: timedelta = timedelta(minutes=30)) -> None:
        self.db = db
        self.ttl = ttl

    def start(self, channel: str, sender: str, unit: str | None, masked_text: str) -> TurnStart:
        """Find or open the conversation and store the (already masked) incoming message."""
        now = datetime.now(UTC)
        for attempt in range(2):
            try:
                with self.db.session() as s:
                    conv = s.scalar(
                        select(Conversation).where(Conversation.channel == channel, Conversation.sender == sender)
                    )
                    if conv is None:
                        conv = Conversation(
                            channel=channel, sender=sender, unit_code=unit, state={}, created_at=now, updated_at=now
                        )
                        s.add(conv)
                        s.flush()
                    state = dict(conv.state or {})
                    if now - _aware(conv.updated_at) > self.ttl:
                        state = {}
                    msg = Message(
                        conversation_id=conv.id, channel=channel, direction="in", text=masked_text, created_at=now
                    )
                    s.add(msg)
                    s.flush()
                    return TurnStart(conv.id, msg.id, state)
            except IntegrityError as exc:
                # Two workers opened the same new conversation at once: the other one won,
                # so the second attempt finds it.
                if attempt:
                    raise DatabaseError("Không lưu được hội thoại.") from exc
        raise DatabaseError("Không lưu được hội thoại.")

    def finish(
        self,
        start: TurnStart,
        state: dict[str, Any],
        replies: list[str],
        *,
        intent: str | None,
        confidence: float | None,
        procedure: str | None,
        outcome: str,
        inbox_reason: str | None = None,
        unit: str | None = None,
    ) -> None:
        """Store the answer, the new state and, when staff should look, an inbox item."""
        now = datetime.now(UTC)
        with self.db.session() as s:
            s.execute(
                update(Message)
                .where(Message.id == start.message_id)
                .values(intent=intent, confidence=confidence, procedure_code=procedure, outcome=outcome)
            )
            channel = s.scalar(select(Conversation.channel).where(Conversation.id == start.conversation_id))
            for text in replies:
                s.add(
                    Message(
                        conversation_id=start.conversation_id,
                        channel=channel or "",
                        direction="out",
                        text=text,
                        created_at=now,
                    )
                )
            values: dict[str, Any] = {"state": state, "updated_at": now}
            if unit:
                values["unit_code"] = unit
            s.execute(update(Conversation).where(Conversation.id == start.conversation_id).values(**values))
            if inbox_reason:
                s.add(InboxItem(message_id=start.message_id, reason=inbox_reason, created_at=now))

    def rate(self, message_id: int, useful: bool, conversation_id: int) -> bool:
        """Store a rating of the answer to `message_id`; "Chưa đúng" also lands in the inbox.
        Returns False when the message is not a question of this conversation."""
        with self.db.session() as s:
            owner = s.scalar(select(Message.conversation_id).where(Message.id == message_id, Message.direction == "in"))
            if owner != conversation_id:
                return False
            s.add(Feedback(message_id=message_id, useful=useful))
            if not useful:
                s.add(InboxItem(message_id=message_id, reason="wrong"))
        return True

    def transcript(self, channel: str, sender: str, limit: int = 100) -> list[tuple[str, str]]:
        """(direction, text) of a conversation, oldest first."""
        with self.db.sessions() as s:
            conv_id = s.scalar(
                select(Conversation.id).where(Conversation.channel == channel, Conversation.sender == sender)
            )
            if conv_id is None:
                return []
            rows = s.execute(
                select(Message.direction, Message.text)
                .where(Message.conversation_id == conv_id)
                .order_by(Message.id.desc())
                .limit(limit)
            ).all()
        return [(d, t) for d, t in reversed(rows)]
