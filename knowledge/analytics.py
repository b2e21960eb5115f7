"""Figures for the dashboard: questions per day and channel, top procedures and aspects, the
unanswered rate and satisfaction (share of "Hữu ích" among rated answers). Days are the
unit's days (its time zone), not UTC's: a question at 6 a.m. in Hà Nội is that day's."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import select

from knowledge.db import Database
from knowledge.models import Feedback, Message, Procedure
from knowledge.types import Outcome

ASPECTS = {
    "ask_documents": "Hồ sơ",
    "ask_fee": "Lệ phí",
    "ask_processing_time": "Thời hạn",
    "ask_where": "Nơi nộp",
    "ask_steps": "Trình tự",
    "ask_methods": "Cách nộp",
    "ask_forms": "Mẫu đơn",
    "ask_legal_basis": "Căn cứ",
    "ask_requirements": "Điều kiện",
    "ask_result": "Kết quả",
    "ask_overview": "Tổng quan",
}


@dataclass(frozen=True, slots=True)
class Dashboard:
    start: date
    end: date
    questions: int
    per_day: list[tuple[date, int]]
    per_channel: list[tuple[str, int]]
    top_procedures: list[tuple[str, str, int]]
    top_aspects: list[tuple[str, int]]
    unanswered: int
    rated: int
    useful: int

    @property
    def unanswered_rate(self) -> float:
        return self.unanswered / self.questions if self.questions else 0.0

    @property
    def satisfaction(self) -> float | None:
        return self.useful / self.rated if self.rated else None


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def dashboard(db: Database, start: date, end: date, tz: tzinfo = UTC) -> Dashboard:
    """Figures for the days `start`..`end` (both included) as counted in time zone `tz`."""
    lo = datetime.combine(start, time.min, tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    with db.sessions() as s:
        rows = s.execute(
            select(Message.created_at, Message.channel, Message.intent, Message.procedure_code, Message.outcome).where(
                Message.direction == "in", Message.created_at >= lo, Message.created_at < hi
            )
        ).all()
        ratings = (
            s.execute(
                select(Feedback.useful)
                .join(Message, Message.id == Feedback.message_id)
                .where(Message.created_at >= lo, Message.created_at < hi)
            )
            .scalars()
            .all()
        )
        names = dict(s.execute(select(Procedure.code, Procedure.name)).all())
    # Button presses for ratings are messages too, but not questions.
    questions = [r for r in rows if r.outcome != Outcome.FEEDBACK]
    days = Counter(_aware(r.created_at).astimezone(tz).date() for r in questions)
    per_day = [
        (start + timedelta(days=i), days.get(start + timedelta(days=i), 0)) for i in range((end - start).days + 1)
    ]
    procs = Counter(r.procedure_code for r in questions if r.procedure_code)
    return Dashboard(
        start=start,
        end=end,
        questions=len(questions),
        per_day=per_day,
        per_channel=Counter(r.channel for r in questions).most_common(),
        top_procedures=[(code, names.get(code, code), n) for code, n in procs.most_common(10)],
        top_aspects=[
            (ASPECTS[i], n) for i, n in Counter(r.intent for r in questions if r.intent in ASPECTS).most_common()
        ],
        unanswered=sum(1 for r in questions if r.outcome == Outcome.UNANSWERED),
        rated=len(ratings),
        useful=sum(1 for u in ratings if u),
    )


def most_asked(db: Database, limit: int = 12) -> list[str]:
    """Codes of the procedures citizens asked about most, then the most popular ones."""
    with db.sessions() as s:
        asked = Counter(
            str(c) for c in s.scalars(select(Message.procedure_code).where(Message.procedure_code.is_not(None)))
        )
        popular = s.scalars(
            select(Procedure.code)
            .where(Procedure.popularity > 0, Procedure.active.is_(True))
            .order_by(Procedure.popularity.desc(), Procedure.code)
        ).all()
    codes = [c for c, _ in asked.most_common(limit)]
    for code in popular:
        if len(codes) >= limit:
            break
        if code not in codes:
            codes.append(code)
    return codes
