"""Messages in and replies out: the plain objects channels and the assistant exchange."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.types import Outcome


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A citizen's message, already translated from the platform's payload."""

    channel: str
    """"web", "telegram", "zalo", "rest", "cli", ..."""
    sender: str
    """The sender's id on that channel; with `channel` it keys the conversation."""
    text: str
    """What the citizen typed, or a button's payload ("/ask_fee{...}")."""
    unit: str | None = None
    """Code of the ward/commune whose widget or account received it; None for the default."""


@dataclass(frozen=True, slots=True)
class Button:
    """A quick reply: `title` is shown, `payload` is sent back when it is pressed."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the assistant."""

    text: str
    buttons: tuple[Button, ...] = ()
    link: str | None = None
    """A page with the whole answer, when the text was cut to fit the channel."""


@dataclass(frozen=True, slots=True)
class Turn:
    """What the assistant understood and answered for one message."""

    intent: str
    procedure: str | None
    """Code of the procedure the answer is about, or None."""
    replies: tuple[Reply, ...]
    outcome: Outcome = Outcome.ANSWERED
    """How the turn ended (stored with the question, read by the inbox and analytics)."""
    message_id: int | None = field(default=None, compare=False)
    """Id of the stored incoming message (for ratings)."""
