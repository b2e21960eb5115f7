"""Read access to the knowledge base. Returns frozen dataclasses, never ORM rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from knowledge import fees
from knowledge.db import REVISION_KEY, Database
from knowledge.models import Alias, Document, Faq, LegalBasis, Meta, Procedure, Step, SubmissionChannel, Unit
from knowledge.parsing import document_role, parse_receiver
from knowledge.text import fold
from knowledge.types import (
    Channel,
    ChannelInfo,
    DocumentGroup,
    DocumentInfo,
    FaqInfo,
    KbStats,
    LegalBasisInfo,
    OfficeInfo,
    ProcedureInfo,
    ProcedureSummary,
    Receiver,
    UnitInfo,
)

_CHILD_TABLES = {
    "documents": Document.__table__,
    "channels": SubmissionChannel.__table__,
    "steps": Step.__table__,
    "legal_basis": LegalBasis.__table__,
    "aliases": Alias.__table__,
}


def _info_from_rows(r: Any, kids: dict[str, list[Any]]) -> ProcedureInfo:
    return ProcedureInfo(
        code=r["code"],
        name=r["name"],
        levels=frozenset(r["levels"] or ()),
        kind=r["kind"],
        field=r["field"],
        ministry=r["ministry"],
        subjects=r["subjects"],
        agency=r["agency"],
        address=r["address"],
        decision=r["decision"],
        source_url=r["source_url"],
        documents=tuple(
            DocumentInfo(
                name=d["name"],
                originals=d["originals"],
                copies=d["copies"],
                group=DocumentGroup(d["doc_group"]),
                condition=d["condition"],
                forms=tuple(d["forms"] or ()),
                section=d["section"],
                source_text=d["source_text"],
                # Derived again from the stored fields with this release's rules, so a
                # knowledge base built by an earlier release needs no migration for them.
                role=document_role(d["name"] or "", d["condition"], d["doc_group"], tuple(d["forms"] or ())),
            )
            for d in kids["documents"]
        ),
        channels=tuple(
            ChannelInfo(
                channel=Channel(c["channel"]),
                time_value=c["time_value"],
                time_unit=c["time_unit"],
                time_text=c["time_text"],
                fee_amount=c["fee_amount"],
                fee_text=c["fee_text"],
                description=c["description"],
                fee=fees.from_json(c["fee_parts"]),
            )
            for c in kids["channels"]
        ),
        steps=tuple(s["text"] for s in kids["steps"]),
        legal_basis=tuple(LegalBasisInfo(title=lb["title"], number=lb["number"]) for lb in kids["legal_basis"]),
        requirements=r["requirements"],
        result=r["result"],
        aliases=tuple(a["text"] for a in kids["aliases"]),
        popularity=r["popularity"],
        active=r["active"],
        version=r["version"],
        sources=dict(r.get("sources") or {}),
        # Derived again from the stored fields (see the documents' role above).
        receiver=parse_receiver(frozenset(r["levels"] or ()), r["agency"] or "", [s["text"] for s in kids["steps"]]),
    )


def _enum(kind: Any, value: Any, fallback: Any) -> Any:
    try:
        return kind(value)
    except ValueError:
        return fallback


def _offices(data: Any) -> tuple[OfficeInfo, ...]:
    """The unit's offices as stored (a list of {kind, name, address, hours, hotline})."""
    out = []
    for o in data if isinstance(data, list) else []:
        if not isinstance(o, dict) or not o.get("name"):
            continue
        kind = _enum(Receiver, o.get("kind"), None)
        if kind is None:
            continue
        out.append(
            OfficeInfo(
                kind=kind,
                name=str(o["name"]),
                address=str(o.get("address") or ""),
                hours=str(o.get("hours") or ""),
                hotline=str(o.get("hotline") or ""),
            )
        )
    return tuple(out)


def to_unit_info(u: Unit) -> UnitInfo:
    return UnitInfo(
        code=u.code,
        name=u.name,
        address=u.address,
        hours=u.hours,
        hotline=u.hotline,
        email=u.email,
        website=u.website,
        province=u.province,
        version=u.version,
        offices=_offices(u.offices),
    )


def to_faq_info(f: Faq) -> FaqInfo:
    return FaqInfo(
        id=f.id,
        questions=tuple(q.text for q in f.questions),
        answer=f.answer,
        procedure_code=f.procedure_code,
        active=f.active,
        version=f.version,
    )


class Repository:
    """Queries the assistant, the CLI and the admin pages share."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def procedure(self, code: str, with_sources: bool = False) -> ProcedureInfo | None:
        """The whole procedure, or None when the code is unknown. The source text of the
        national record is large and only loaded `with_sources`."""
        found = self._load([code.strip()], with_sources)
        return found[0] if found else None

    def _load(self, codes: list[str] | None, with_sources: bool) -> list[ProcedureInfo]:
        """The procedures with these codes, in that order (all of them, by code, for None)."""
        # Plain Core selects: this is the per-message path, where ORM hydration costs more
        # than the queries themselves.
        table = Procedure.__table__
        cols = [c for c in table.c if with_sources or c.name != "sources"]
        query = select(*cols).order_by(table.c.code)
        if codes is not None:
            query = query.where(table.c.code.in_(codes))
        with self.db.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            children: dict[str, dict[int, list[Any]]] = {}
            for name, table in _CHILD_TABLES.items():
                grouped: dict[int, list[Any]] = {}
                order = table.c.id if name == "aliases" else table.c.position
                for child in conn.execute(
                    select(table).where(table.c.procedure_id.in_(ids)).order_by(table.c.procedure_id, order)
                ).mappings():
                    grouped.setdefault(child["procedure_id"], []).append(child)
                children[name] = grouped
        infos = {r["code"]: _info_from_rows(r, {k: v.get(r["id"], []) for k, v in children.items()}) for r in rows}
        return list(infos.values()) if codes is None else [infos[c] for c in codes if c in infos]

    def procedures(self, codes: Iterable[str]) -> list[ProcedureInfo]:
        return self._load(list(codes), with_sources=False)

    def all_procedures(self, with_sources: bool = False) -> list[ProcedureInfo]:
        return self._load(None, with_sources)

    def catalog(self, include_inactive: bool = False) -> list[ProcedureSummary]:
        """Every procedure's name, levels, aliases and popularity: what the NLU needs."""
        with self.db.sessions() as s:
            q = select(
                Procedure.id, Procedure.code, Procedure.name, Procedure.levels, Procedure.field, Procedure.popularity
            )
            if not include_inactive:
                q = q.where(Procedure.active.is_(True))
            rows = s.execute(q.order_by(Procedure.code)).all()
            aliases: dict[int, list[str]] = {}
            for pid, text in s.execute(select(Alias.procedure_id, Alias.text).order_by(Alias.id)):
                aliases.setdefault(pid, []).append(text)
        return [
            ProcedureSummary(
                code=r.code,
                name=r.name,
                levels=frozenset(r.levels or ()),
                field=r.field,
                aliases=tuple(aliases.get(r.id, ())),
                popularity=r.popularity,
            )
            for r in rows
        ]

    def search(self, text: str, limit: int = 10) -> list[ProcedureSummary]:
        """Plain accent-insensitive search: every word of the query in the name or an alias."""
        words = fold(text).split()
        if not words:
            return []
        phrase = " ".join(words)
        hits: list[tuple[int, int, int, ProcedureSummary]] = []
        for p in self.catalog(include_inactive=True):
            keys = [fold(p.name), *(fold(a) for a in p.aliases)]
            if not any(all(w in k for w in words) for k in keys):
                continue
            exact = 0 if any(phrase in k for k in keys) else 1
            ward = 0 if "Cấp xã" in p.levels else 1
            hits.append((exact, ward, -p.popularity, p))
        hits.sort(key=lambda h: (h[0], h[1], h[2], len(h[3].name)))
        return [h[3] for h in hits[:limit]]

    def units(self) -> list[UnitInfo]:
        with self.db.sessions() as s:
            return [to_unit_info(u) for u in s.scalars(select(Unit).order_by(Unit.id))]

    def unit(self, code: str | None) -> UnitInfo | None:
        """The unit with this code, or the first unit when code is None or unknown."""
        with self.db.sessions() as s:
            row = s.scalar(select(Unit).where(Unit.code == code)) if code else None
            if row is None:
                row = s.scalar(select(Unit).order_by(Unit.id).limit(1))
            return to_unit_info(row) if row else None

    def faqs(self, include_inactive: bool = False) -> list[FaqInfo]:
        with self.db.sessions() as s:
            q = select(Faq).options(selectinload(Faq.questions)).order_by(Faq.id)
            if not include_inactive:
                q = q.where(Faq.active.is_(True))
            return [to_faq_info(f) for f in s.scalars(q)]

    def revision(self) -> int:
        return self.db.revision()

    def stats(self) -> KbStats:
        with self.db.sessions() as s:
            procedures = s.scalar(select(func.count(Procedure.id))) or 0
            levels = s.scalars(select(Procedure.levels)).all()
            by_field = s.execute(
                select(Procedure.field, func.count(Procedure.id))
                .group_by(Procedure.field)
                .order_by(func.count(Procedure.id).desc())
                .limit(10)
            ).all()
            rev = s.scalar(select(Meta.value).where(Meta.key == REVISION_KEY))
            return KbStats(
                procedures=procedures,
                ward_level=sum(1 for lv in levels if "Cấp xã" in (lv or ())),
                documents=s.scalar(select(func.count(Document.id))) or 0,
                channels=s.scalar(select(func.count(SubmissionChannel.id))) or 0,
                aliases=s.scalar(select(func.count(Alias.id))) or 0,
                units=s.scalar(select(func.count(Unit.id))) or 0,
                faqs=s.scalar(select(func.count(Faq.id))) or 0,
                by_field=tuple((f or "(không rõ)", n) for f, n in by_field),
                revision=int(rev) if rev else 0,
                updated_at=s.scalar(select(func.max(Procedure.updated_at))),
            )
