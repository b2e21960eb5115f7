"""What a conversation remembers between turns: a frozen, versioned dataclass.

It is stored as JSON in the conversation's row (one write per turn); `from_json` also reads the
untyped dictionaries stored before the state had a version, and anything it cannot read gives a
fresh state rather than an error — a citizen must never be stuck on a bad stored value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.nlu.types import ASPECT_INTENTS

STATE_VERSION = 2
"""Version 1 was `{"procedure", "intent", "pending": [codes], "pending_intent"}` with no key
for the version."""
MAX_OPTIONS = 8
"""A pending choice never holds more options than a chat can show as buttons."""


@dataclass(frozen=True, slots=True)
class PendingChoice:
    """Procedures the assistant offered as buttons, waiting for the citizen to pick one."""

    options: tuple[str, ...]
    """National codes, in the order they were shown (the first is the best guess)."""
    aspect: str
    """The aspect intent the choice was offered for: the answer is about it."""
    suggested: bool = False
    """Offered after declining to answer ("có thể anh/chị quan tâm …"): a typed pick ("số 2",
    "cái cấp đổi") chooses, but an "ừ" or "vâng" acknowledges the apology and chooses nothing."""


@dataclass(frozen=True, slots=True)
class DialogueState:
    """The conversation's memory when a turn starts."""

    procedure: str | None = None
    """Code of the procedure being discussed."""
    aspect: str | None = None
    """The aspect intent last answered or asked about (ask_fee, ask_documents...)."""
    pending: PendingChoice | None = None
    """Choices offered in the last turn, if the citizen has not picked one yet."""
    turns: int = 0
    """Turns so far in this conversation (since it last expired)."""
    last_turn_at: datetime | None = None
    """When the previous turn was answered (UTC)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "procedure": self.procedure,
            "aspect": self.aspect,
            "pending": (
                {
                    "options": list(self.pending.options),
                    "aspect": self.pending.aspect,
                    "suggested": self.pending.suggested,
                }
                if self.pending
                else None
            ),
            "turns": self.turns,
            "last_turn_at": self.last_turn_at.isoformat() if self.last_turn_at else None,
        }

    @classmethod
    def from_json(cls, data: object) -> DialogueState:
        """The state stored by any version; a fresh one for anything unreadable."""
        if not isinstance(data, Mapping) or not data:
            return cls()
        if data.get("v") is None:  # version 1
            data = {
                "procedure": data.get("procedure"),
                "aspect": data.get("intent"),
                "pending": {"options": data.get("pending"), "aspect": data.get("pending_intent")},
            }
        return cls(
            procedure=_code(data.get("procedure")),
            aspect=_aspect(data.get("aspect")),
            pending=_pending(data.get("pending")),
            turns=_count(data.get("turns")),
            last_turn_at=_when(data.get("last_turn_at")),
        )

    def next(self, at: datetime, **changes: Any) -> DialogueState:
        """The state after one more turn, answered at `at`, with `changes` applied."""
        return replace(self, turns=self.turns + 1, last_turn_at=at, **changes)


def _code(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 40 else None


def _aspect(value: object) -> str | None:
    return value if isinstance(value, str) and value in ASPECT_INTENTS else None


def _pending(value: object) -> PendingChoice | None:
    if not isinstance(value, Mapping):
        return None
    raw = value.get("options")
    options = tuple(c for c in (raw if isinstance(raw, list | tuple) else ()) if _code(c))[:MAX_OPTIONS]
    if not options:
        return None
    return PendingChoice(
        options=options, aspect=_aspect(value.get("aspect")) or "ask_overview", suggested=value.get("suggested") is True
    )


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _when(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
