"""SQLAlchemy 2 models. Rows stay inside `knowledge`; the repository hands out dataclasses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine.interfaces import ExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from knowledge import fees
from knowledge.parsing import document_role


def utcnow() -> datetime:
    return datetime.now(UTC)


def _row(context: ExecutionContext) -> dict[str, Any]:
    """The values of the row being written (context-sensitive defaults read them)."""
    return dict(context.get_current_parameters())  # type: ignore[attr-defined]


def _document_role(context: ExecutionContext) -> str:
    """A document's role, from the same fields wherever the row comes from: the importer sets
    it; a staff edit (which rewrites the rows) gets it recomputed here."""
    row = _row(context)
    group = row.get("doc_group") or row.get("group") or "nop"
    return document_role(str(row.get("name") or ""), row.get("condition"), group, row.get("forms") or ()).value


def _fee_parts(context: ExecutionContext) -> dict[str, Any]:
    """A channel's parsed fee, from its fee and description cells (see `_document_role`)."""
    row = _row(context)
    return fees.to_json(fees.parse_fee_info(str(row.get("fee_text") or ""), str(row.get("description") or "")))


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Procedure(Base):
    """A thủ tục hành chính, keyed by its national code."""

    __tablename__ = "procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(Text)
    levels: Mapped[list[Any]] = mapped_column(default=list)
    kind: Mapped[str] = mapped_column(Text, default="")
    field: Mapped[str] = mapped_column(Text, default="")
    ministry: Mapped[str] = mapped_column(String(100), default="")
    subjects: Mapped[str] = mapped_column(Text, default="")
    agency: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(Text, default="")
    decision: Mapped[str] = mapped_column(String(200), default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    requirements: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    receiver: Mapped[str] = mapped_column(String(20), default="mot_cua", server_default="mot_cua")
    """Which office takes the file (knowledge.types.Receiver), parsed from levels and agency."""
    sources: Mapped[dict[str, Any]] = mapped_column(default=dict, deferred=True)
    """Source text of the national record's fields (large; loaded only when asked for)."""
    popularity: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    documents: Mapped[list[Document]] = relationship(
        order_by="Document.position", cascade="all, delete-orphan", back_populates="procedure"
    )
    channels: Mapped[list[SubmissionChannel]] = relationship(
        order_by="SubmissionChannel.position", cascade="all, delete-orphan", back_populates="procedure"
    )
    steps: Mapped[list[Step]] = relationship(order_by="Step.position", cascade="all, delete-orphan")
    legal_basis: Mapped[list[LegalBasis]] = relationship(order_by="LegalBasis.position", cascade="all, delete-orphan")
    aliases: Mapped[list[Alias]] = relationship(order_by="Alias.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class Document(Base):
    """A row of thành phần hồ sơ."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(Text)
    originals: Mapped[int] = mapped_column(Integer, default=0)
    copies: Mapped[int] = mapped_column(Integer, default=0)
    group: Mapped[str] = mapped_column("doc_group", String(20))
    condition: Mapped[str | None] = mapped_column(Text)
    forms: Mapped[list[Any]] = mapped_column(default=list)
    section: Mapped[str | None] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text, default="")
    role: Mapped[str] = mapped_column(String(20), default=_document_role)
    """Core paper or case paper (knowledge.types.DocumentRole), parsed from name and condition."""

    procedure: Mapped[Procedure] = relationship(back_populates="documents")


class SubmissionChannel(Base):
    """A way to submit (in person, online, by post) with its time and fee."""

    __tablename__ = "submission_channel"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(20))
    time_value: Mapped[float | None] = mapped_column(Float)
    time_unit: Mapped[str | None] = mapped_column(String(40))
    time_text: Mapped[str] = mapped_column(Text, default="")
    fee_amount: Mapped[int | None] = mapped_column(BigInteger)
    fee_text: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    fee_parts: Mapped[dict[str, Any]] = mapped_column(default=_fee_parts)
    """fee_text read clause by clause (knowledge.fees), kept beside it."""

    procedure: Mapped[Procedure] = relationship(back_populates="channels")


class Step(Base):
    """One step of trình tự thực hiện."""

    __tablename__ = "step"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)


class LegalBasis(Base):
    """A legal document in căn cứ pháp lý."""

    __tablename__ = "legal_basis"

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(String(200), default="")


class Alias(Base):
    """What citizens call a procedure ("làm giấy khai sinh", "gks")."""

    __tablename__ = "alias"
    __table_args__ = (UniqueConstraint("procedure_id", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    procedure_id: Mapped[int] = mapped_column(ForeignKey("procedure.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    origin: Mapped[str] = mapped_column(String(20), default="shipped")


class Unit(Base):
    """A ward/commune office: the one-stop desk's address, hours and hotline."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[str] = mapped_column(Text, default="")
    hotline: Mapped[str] = mapped_column(String(60), default="")
    email: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(300))
    province: Mapped[str | None] = mapped_column(String(200))
    offices: Mapped[list[Any]] = mapped_column(default=list)
    """Other offices of the commune that take files themselves (the commune police), from units.yml."""
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Faq(Base):
    """A staff-written answer; its question phrasings are FaqQuestion rows."""

    __tablename__ = "faq"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer: Mapped[str] = mapped_column(Text)
    procedure_code: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    questions: Mapped[list[FaqQuestion]] = relationship(order_by="FaqQuestion.id", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class FaqQuestion(Base):
    __tablename__ = "faq_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    faq_id: Mapped[int] = mapped_column(ForeignKey("faq.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)


class Conversation(Base):
    """A citizen's conversation on one channel; `state` holds the dialogue memory."""

    __tablename__ = "conversation"
    __table_args__ = (UniqueConstraint("channel", "sender"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(30))
    sender: Mapped[str] = mapped_column(String(200))
    unit_code: Mapped[str | None] = mapped_column(String(60))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Message(Base):
    """One message in or out, personal numbers masked before it is stored."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(30))
    direction: Mapped[str] = mapped_column(String(3))  # "in" or "out"
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(40))
    confidence: Mapped[float | None] = mapped_column(Float)
    procedure_code: Mapped[str | None] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20))
    """For incoming messages: answered, unanswered, faq, human, chat."""
    ref: Mapped[str | None] = mapped_column(String(24), index=True)
    """Random reference of an incoming question, carried by its rating buttons."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Feedback(Base):
    """A citizen's rating of an answer ("Hữu ích" / "Chưa đúng")."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    useful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InboxItem(Base):
    """A question staff should look at: unanswered, rated wrong, or a request for a human."""

    __tablename__ = "inbox_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # unanswered, wrong, human
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_by: Mapped[str | None] = mapped_column(String(100))


class StaffUser(Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Who changed what, with the record before and after, so a change can be reverted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(30))
    entity_key: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(30))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reverted_by: Mapped[int | None] = mapped_column(Integer)


class StaffSession(Base):
    """A staff member's signed-in session, kept on the server so that it can be ended: by
    logging out, a password change, the account being locked, or its expiry."""

    __tablename__ = "staff_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 of the cookie's secret: the database never holds a usable session key."""
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    """Last request; the session ends after an idle period."""
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    """The session ends then however active it is."""


class LoginAttempt(Base):
    """Failed logins, for rate limiting across workers."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookEvent(Base):
    """A platform's event already taken in: a redelivery with the same id is acknowledged and
    neither stored nor answered again. Rows older than a few days are swept."""

    __tablename__ = "webhook_event"

    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    """Whose ids these are: "telegram:<bot id>", "zalo:<app id>" (ids are unique per source)."""
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    """Telegram's update_id, Zalo's message.msg_id."""
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """Set once the question is stored; a claim left without it by a worker that died is taken
    over by the platform's redelivery."""


class Meta(Base):
    """Key/value facts about the database, e.g. the knowledge revision every worker watches."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
