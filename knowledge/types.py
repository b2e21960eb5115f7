"""Plain, frozen records that leave the knowledge package (ORM rows never do)."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
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


class DocumentRole(StrEnum):
    """Who needs a paper, read from the record's own wording at import time: the papers every
    applicant brings (the declaration form, the identity paper, the main proof) or a paper
    needed only in a case the record names ("Trường hợp…", "nếu…", "(nếu có)", ủy quyền)."""

    FORM = "form"
    """A declaration or application form (tờ khai, đơn, giấy/văn bản đề nghị, phiếu yêu cầu)."""
    IDENTITY = "identity"
    """An identity paper (giấy tờ tùy thân, căn cước, hộ chiếu)."""
    CORE = "core"
    """Any other paper every applicant brings (Giấy chứng sinh, Giấy báo tử...)."""
    CASE = "case"
    """Only in the case stated in `DocumentInfo.condition`."""

    @property
    def rank(self) -> int:
        """Order in an answer: the forms, the main proof and other core papers, the identity
        paper everyone carries anyway, then the cases."""
        return _ROLE_RANK[self]


_ROLE_RANK = {DocumentRole.FORM: 0, DocumentRole.CORE: 1, DocumentRole.IDENTITY: 2, DocumentRole.CASE: 3}


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
    role: DocumentRole = DocumentRole.CORE
    """Core paper or case paper, parsed from `name` and `condition` (see `DocumentRole`)."""

    @property
    def is_note(self) -> bool:
        """True for rows that explain rather than ask for a paper."""
        return self.group is DocumentGroup.NOTE


class FeeKind(StrEnum):
    """What one clause of a fee explanation says."""

    AMOUNT = "amount"
    """States an amount to pay ("135.000 đồng/lần", "10 USD/bản")."""
    REDUCTION = "reduction"
    """A temporary rate, amount or waiver, usually with dates ("bằng 50%… đến hết 31/12/2026")."""
    EXEMPTION = "exemption"
    """Who pays nothing ("Miễn lệ phí cho người thuộc hộ nghèo")."""
    FREE = "free"
    """Says there is no fee ("Không", "Không quy định", "Miễn lệ phí.")."""
    AUTHORITY = "authority"
    """The amount is set by the province ("do Hội đồng nhân dân tỉnh quyết định")."""
    REGULATION = "regulation"
    """The amount follows a legal document the record names, without stating it."""
    OTHER = "other"
    """Anything else: how and when to pay, remarks."""


@dataclass(frozen=True, slots=True)
class FeeAmount:
    """An amount stated in a fee clause."""

    value: int
    """In the clause's currency, multipliers applied ("02 triệu đồng" -> 2000000)."""
    currency: str | None
    """"VND", "USD", or None when the record writes a bare number ("8.000.000/lần")."""
    per: str | None
    """What it is charged per, as written after the amount ("trang", "lần", "người/lần đăng ký")."""
    text: str
    """The amount as it reads in the clause."""


@dataclass(frozen=True, slots=True)
class FeeClause:
    """One statement of a fee explanation, in the record's words with its layout cleaned."""

    text: str
    """The clause without bullets, stray brackets or run-together amounts ("4.000.000đ" -> "4.000.000 đồng")."""
    kind: FeeKind
    amounts: tuple[FeeAmount, ...] = ()
    percent: int | None = None
    """A rate the clause states ("bằng 50% mức thu" -> 50)."""
    valid_from: date | None = None
    """First day a temporary rate applies, when the clause says."""
    valid_to: date | None = None
    """Last day a temporary rate applies, when the clause says."""
    authority: str | None = None
    """Who sets the amount ("Hội đồng nhân dân tỉnh"), for AUTHORITY clauses."""
    regulation: str | None = None
    """The legal document the clause refers to ("Thông tư số 244/2016/TT-BTC")."""
    from_description: bool = False
    """Read from the channel's description cell rather than the fee cell."""

    def in_force(self, today: date) -> bool | None:
        """Whether a dated clause applies today; None when it states no dates."""
        if self.valid_from is None and self.valid_to is None:
            return None
        if self.valid_from is not None and today < self.valid_from:
            return False
        return self.valid_to is None or today <= self.valid_to


@dataclass(frozen=True, slots=True)
class FeeInfo:
    """A channel's fee cell parsed into what it states, the source text kept in `fee_text`."""

    cell: str = ""
    """The cell's own value before its explanation, as written ("Miễn phí", "70,000 Việt Nam Đồng")."""
    free: bool | None = None
    """The cell says free (True), states an amount (False), or nothing (None: "Không có thông tin")."""
    cell_amount: FeeAmount | None = None
    """The amount the cell states, its currency corrected by the explanation ("155 VNĐ(… 155 USD/thẻ)")."""
    clauses: tuple[FeeClause, ...] = ()
    """The explanation in brackets and the fee sentences of the description, clause by clause."""

    @property
    def charged(self) -> bool:
        """The explanation states something to pay (an amount, a rate, a provincial or legal rule)."""
        return any(c.kind in _CHARGED for c in self.clauses)

    @property
    def conflict(self) -> bool:
        """The cell says free but its explanation states a charge and never says free: the
        explanation wins. ("Miễn lệ phí. Phí cấp bản sao… theo Thông tư…" is no conflict.)"""
        return bool(self.free) and self.charged and not any(c.kind is FeeKind.FREE for c in self.clauses)


_CHARGED = frozenset({FeeKind.AMOUNT, FeeKind.REDUCTION, FeeKind.AUTHORITY, FeeKind.REGULATION})


class Receiver(StrEnum):
    """Which office takes the file for a procedure, read from its levels and agency."""

    WARD_DESK = "mot_cua"
    """The ward's one-stop desk (Bộ phận Một cửa, UBND cấp xã)."""
    POLICE = "cong_an"
    """The commune police (Công an cấp xã)."""
    LOCAL_AGENCY = "co_quan_xa"
    """Another office working at commune level (tax, social insurance, customs...)."""
    HIGHER = "cap_tren"
    """A provincial or national office: not filed at the ward."""


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
    fee: FeeInfo = FeeInfo()
    """`fee_text` (and the fee sentences of `description`) parsed at import time."""


@dataclass(frozen=True, slots=True)
class LegalBasisInfo:
    """A legal document the procedure rests on (căn cứ pháp lý)."""

    title: str
    number: str


@dataclass(frozen=True, slots=True)
class OfficeInfo:
    """Another office of a unit that takes files itself (the commune police)."""

    kind: Receiver
    name: str
    address: str = ""
    hours: str = ""
    hotline: str = ""


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
    offices: tuple[OfficeInfo, ...] = ()
    """Offices of the commune besides its one-stop desk (from units.yml)."""

    def office(self, kind: Receiver) -> OfficeInfo | None:
        """The unit's office of that kind, if units.yml names one."""
        return next((o for o in self.offices if o.kind is kind), None)


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
    receiver: Receiver = Receiver.WARD_DESK
    """The office that takes the file (parsed from levels and agency at import time)."""

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
