"""The staff inbox: questions the assistant could not answer, answers rated wrong, and requests
for a staff member, grouped by similarity."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rapidfuzz import fuzz
from sqlalchemy import select, update

from knowledge.db import Database
from knowledge.models import Conversation, InboxItem, Message
from knowledge.text import fold
from knowledge.types import InboxReason


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


REASONS = {r.value: r.label for r in InboxReason}
"""Reason code -> the Vietnamese wording staff read."""


@dataclass(frozen=True, slots=True)
class InboxEntry:
    id: int
    reason: str
    question: str
    channel: str
    at: datetime
    """UTC."""
    procedure: str | None
    """The procedure the assistant answered about, if any."""


@dataclass(slots=True)
class InboxGroup:
    """Similar questions together; the newest first."""

    entries: list[InboxEntry] = field(default_factory=list)

    @property
    def newest(self) -> InboxEntry:
        return self.entries[0]

    @property
    def ids(self) -> list[int]:
        return [e.id for e in self.entries]


_COLUMNS = (
    InboxItem.id,
    InboxItem.reason,
    Message.text,
    Conversation.channel,
    InboxItem.created_at,
    Message.procedure_code,
)


def open_items(db: Database, limit: int = 500, ids: list[int] | None = None) -> list[InboxEntry]:
    """Questions still waiting, newest first (only those of `ids` when given)."""
    with db.sessions() as s:
        q = (
            select(*_COLUMNS)
            .join(Message, Message.id == InboxItem.message_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(InboxItem.handled_at.is_(None))
            .order_by(InboxItem.created_at.desc(), InboxItem.id.desc())
            .limit(limit)
        )
        if ids is not None:
            q = q.where(InboxItem.id.in_(ids))
        rows = s.execute(q).all()
    return [InboxEntry(r.id, r.reason, r.text, r.channel, _aware(r.created_at), r.procedure_code) for r in rows]


def grouped(db: Database, threshold: float = 80.0) -> list[InboxGroup]:
    """Greedy grouping by token-set similarity of the diacritic-free questions."""
    groups: list[tuple[str, InboxGroup]] = []
    for entry in open_items(db):
        key = fold(entry.question)
        for head, group in groups:
            if key and fuzz.token_set_ratio(key, head) >= threshold:
                group.entries.append(entry)
                break
        else:
            groups.append((key, InboxGroup([entry])))
    return [g for _, g in groups]


def mark_handled(db: Database, ids: list[int], username: str) -> int:
    with db.session() as s:
        result = s.execute(
            update(InboxItem)
            .where(InboxItem.id.in_(ids), InboxItem.handled_at.is_(None))
            .values(handled_at=datetime.now(UTC), handled_by=username)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
