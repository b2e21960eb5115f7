"""Plain, frozen records that leave the knowledge package (ORM rows never do)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Channel(StrEnum):
    """How a file may be submitted (hình thức nộp)."""

    IN_PERSON = "truc_tiep"
    ONLINE = "truc_tuyen"
    POST = "buu_chinh"

    @property
    def label(self) -> str:
        """The Vietnamese name shown to citizens."""
        return _CHANNEL_LABELS[self]


_CHANNEL_LABELS = {
    Channel.IN_PERSON: "Trực tiếp",
    Channel.ONLINE: "Trực tuyến",
    Channel.POST: "Dịch vụ bưu chính",
}


class Outcome(StrEnum):
    """How a turn ended; stored with each question and read by the inbox and analytics."""

    ANSWERED = "answered"
    """Answered about a procedure from the knowledge base."""
    UNANSWERED = "unanswered"
    """No answer could be given: the question goes to the staff inbox."""
    FAQ = "faq"
    """Answered by a staff-written FAQ."""
    HUMAN = "human"
    """The citizen asked for a staff member."""
    CHAT = "chat"
    """Greeting, thanks, goodbye, office hours, yes/no: nothing to look up."""
    OUT_OF_SCOPE = "out_of_scope"
    """Not about an administrative procedure."""
    FEEDBACK = "feedback"
    """A rating button ("Hữu ích" / "Chưa đúng"), not a question."""
    CLARIFY = "clarify"
    """The assistant asked which procedure was meant."""
    ERROR = "error"
    """Something failed; the citizen got an apology."""


class InboxReason(StrEnum):
    """Why a question landed in the staff inbox."""

    UNANSWERED = "unanswered"
    WRONG = "wrong"
    """A citizen rated the answer "Chưa đúng"."""
    HUMAN = "human"
    """A citizen asked for a staff member."""

    @property
    def label(self) -> str:
        """The Vietnamese wording staff read."""
        return _INBOX_LABELS[self]


_INBOX_LABELS = {
    InboxReason.UNANSWERED: "Chưa trả lời được",
    InboxReason.WRONG: "Bị đánh giá chưa đúng",
    InboxReason.HUMAN: "Muốn gặp cán bộ",
}


class DocumentGroup(StrEnum):
    """Whether a paper is handed in (nộp) or only shown at the desk (xuất trình)."""

    SUBMIT = "nop"
    PRESENT = "xuat_trinh"
    NOTE = "luu_y"


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """One row of thành phần hồ sơ."""

    name: str
    """The paper's name as written in the record (form file names removed)."""
    originals: int
    """Number of originals (bản chính) to bring; 0 and 0 copies means the record states no count."""
    copies: int
    """Number of copies (bản sao)."""
    group: DocumentGroup
    """Handed in, shown, or a note."""
    condition: str | None
    """The "Trường hợp ..." text when the paper is only needed in some cases."""
    forms: tuple[str, ...]
    """Form file names attached to the row (mẫu đơn, tờ khai)."""
    section: str | None
    """The heading the row stood under in the record, if any."""
    source_text: str
    """The row exactly as it was in the record."""

    @property
    def is_note(self) -> bool:
        """True for rows that explain rather than ask for a paper."""
        return self.group is DocumentGroup.NOTE


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """One submission channel with its processing time and fee."""

    channel: Channel
    time_value: float | None
    """Processing time; None when the record gives none."""
    time_unit: str | None
    """"Ngày làm việc", "Ngày", "Giờ", "Tháng"...; None when the record gives a bare number."""
    time_text: str
    """The time cell as written."""
    fee_amount: int | None
    """Fee in VND (0 when free); None when the record states no amount."""
    fee_text: str
    """The fee cell as written, including its explanation."""
    description: str
    """The description cell as written."""


@dataclass(frozen=True, slots=True)
class LegalBasisInfo:
    """A legal document the procedure rests on (căn cứ pháp lý)."""

    title: str
    number: str


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """A one-stop office (a ward or commune) that runs the assistant."""

    code: str
    name: str
    address: str
    hours: str
    hotline: str
    email: str | None = None
    website: str | None = None
    province: str | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class ProcedureSummary:
    """The few fields needed to recognise a procedure in a question."""

    code: str
    name: str
    levels: frozenset[str]
    field: str
    aliases: tuple[str, ...]
    popularity: int


@dataclass(frozen=True, slots=True)
class ProcedureInfo:
    """Everything the assistant may say about one procedure."""

    code: str
    name: str
    levels: frozenset[str]
    kind: str
    field: str
    ministry: str
    subjects: str
    agency: str
    """The agency that carries it out (cơ quan thực hiện / có thẩm quyền)."""
    address: str
    """Where files are received, when the record says."""
    decision: str
    source_url: str
    documents: tuple[DocumentInfo, ...]
    channels: tuple[ChannelInfo, ...]
    steps: tuple[str, ...]
    legal_basis: tuple[LegalBasisInfo, ...]
    requirements: str | None
    result: str | None
    aliases: tuple[str, ...] = ()
    popularity: int = 0
    active: bool = True
    version: int = 1
    sources: dict[str, str] = dc_field(default_factory=dict, compare=False, hash=False)
    """Source text of every parsed field, keyed by the national record's field name."""

    @property
    def is_ward_level(self) -> bool:
        """Done at commune/ward level (Cấp xã)."""
        return "Cấp xã" in self.levels

    @property
    def forms(self) -> tuple[str, ...]:
        """Every form file named in the documents, in order, without repeats."""
        seen: dict[str, None] = {}
        for doc in self.documents:
            for form in doc.forms:
                seen.setdefault(form, None)
        return tuple(seen)

    def channel(self, which: Channel) -> ChannelInfo | None:
        """The first row for a channel, if the procedure accepts it."""
        return next((c for c in self.channels if c.channel is which), None)


@dataclass(frozen=True, slots=True)
class FaqInfo:
    """A staff-written answer with the phrasings citizens use for it."""

    id: int
    questions: tuple[str, ...]
    answer: str
    procedure_code: str | None = None
    active: bool = True
    version: int = 1


@dataclass(frozen=True, slots=True)
class KbStats:
    """Counts shown by `motcua kb stats`."""

    procedures: int
    ward_level: int
    documents: int
    channels: int
    aliases: int
    units: int
    faqs: int
    by_field: tuple[tuple[str, int], ...]
    revision: int
    updated_at: datetime | None


def channel_row(c: Any) -> dict[str, Any]:
    """The stored fields of a submission channel (a ChannelInfo or a database row) as a dict."""
    return {
        "channel": getattr(c.channel, "value", c.channel),
        "time_value": c.time_value,
        "time_unit": c.time_unit,
        "time_text": c.time_text,
        "fee_amount": c.fee_amount,
        "fee_text": c.fee_text,
        "description": c.description,
    }


def document_row(d: Any) -> dict[str, Any]:
    """The staff-editable fields of a document (a DocumentInfo or a database row) as a dict."""
    return {
        "name": d.name,
        "originals": d.originals,
        "copies": d.copies,
        "group": getattr(d.group, "value", d.group),
        "condition": d.condition,
        "forms": list(d.forms or ()),
    }
