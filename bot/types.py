"""Messages in and replies out: the plain objects channels and the assistant exchange."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.text import storable
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

    def __post_init__(self) -> None:
        # Whatever a platform let through, what is kept is storable: no NUL, no lone surrogate.
        for name in ("channel", "sender", "text", "unit"):
            value = getattr(self, name)
            if isinstance(value, str):
                clean = storable(value)
                if clean != value:
                    object.__setattr__(self, name, clean)


@dataclass(frozen=True, slots=True)
class Button:
    """A quick reply: `title` is shown, `payload` is sent back when it is pressed."""

    title: str
    payload: str


@dataclass(frozen=True, slots=True)
class Item:
    """One line of an answer's section."""

    text: str
    """What the first answer shows (a paper's first meaningful phrase, a fee in plain words)."""
    full: str = ""
    """The whole wording when `text` is a shortened form ("" when `text` is already whole)."""

    @property
    def whole(self) -> str:
        return self.full or self.text


@dataclass(frozen=True, slots=True)
class Section:
    """A part of a structured answer: an optional heading and its items, in order."""

    heading: str | None = None
    items: tuple[Item, ...] = ()
    numbered: bool = False
    """Items are numbered (papers, steps) rather than bulleted."""
    folds: tuple[str, ...] = ()
    """Shorter stand-ins for the whole section, longest first, for a channel without room for
    its items ("Trường hợp riêng cần thêm giấy tờ: ủy quyền; trẻ em bị bỏ rơi…")."""
    bullet: str = "•"
    """Marker of unnumbered items ("" for plain lines)."""
    optional: bool = False
    """Left out whole, not cut, when the screen has no room (remarks kept for the whole
    answer and the procedure page)."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One message from the assistant. `text` is always the whole message as plain text (what
    REST, `converse` and the widget show); `title` and `sections`, when set, are the same
    message in structure, for channels that format it (Telegram) and for the length budget
    (`bot.render.fit`), which keeps the first screen and links the rest."""

    text: str
    buttons: tuple[Button, ...] = ()
    link: str | None = None
    """The procedure page with the whole answer."""
    title: str | None = None
    """The answer's heading ("Hồ sơ đăng ký khai sinh:"), shown bold where the channel can."""
    sections: tuple[Section, ...] = ()
    cut: bool = False
    """Set by the length budget: something was shortened or left out, and `text` ends with
    the line that points to `link` ("Xem đầy đủ tại: …")."""


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
