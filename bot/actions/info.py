"""Where to go, steps, legal basis, requirements and result."""

from __future__ import annotations

import re

from bot.actions.base import ActionContext, aspect_buttons
from bot.actions.wording import cut_phrase, first_phrase, strip_enumerator
from bot.render import compose
from bot.types import Item, Reply, Section
from knowledge.parsing import nearest_office
from knowledge.text import fold
from knowledge.types import OfficeInfo, Receiver

STEP_LIMIT = 100
"""A step's first answer shows this much of it at most (cut at a word break)."""
_SAME_AS_DESK = ("uy ban nhan dan", "ubnd", "chu tich", "mot cua")


def _lines(*texts: str) -> Section:
    return Section(items=tuple(Item(t) for t in texts if t), bullet="")


def _office_lines(ctx: ActionContext, name: str, address: str, hours: str, hotline: str) -> list[str]:
    lines = [ctx.say("where_office", office=name)]
    if address:
        lines.append(ctx.say("where_address", address=address))
    if hours:
        lines.append(ctx.say("where_hours", hours=hours))
    if hotline:
        lines.append(ctx.say("where_phone", hotline=hotline))
    return lines


def where(ctx: ActionContext) -> list[Reply]:
    """The one office that takes the file at this unit, said once: the ward desk, the commune
    police, another commune office, or the provincial/national office; the agency that decides
    as a second line only when it is not that office."""
    p = ctx.procedure
    u = ctx.unit
    buttons = aspect_buttons(ctx, "documents", "online", "time")
    lines: list[str] = []
    agency_differs = bool(p.agency) and not any(w in fold(p.agency) for w in _SAME_AS_DESK)
    nearest = nearest_office(p.agency) if p.agency else None
    if p.receiver is Receiver.HIGHER:
        levels = ", ".join(sorted(p.levels)).lower() or "cấp tỉnh"
        if nearest is not None:
            # Several offices at several levels: the citizen's file goes to the nearest one.
            lines.append(ctx.say("where_higher_nearest", office=nearest[0], others=", ".join(nearest[1])))
        elif p.agency:
            lines.append(ctx.say("where_higher", agency=p.agency, levels=levels))
        else:
            lines.append(ctx.say("where_higher_unknown", levels=levels))
        lines.append(ctx.say("where_record_address", address=p.address) if p.address else ctx.say("where_no_address"))
        agency_differs = False
    elif p.receiver is Receiver.POLICE:
        office: OfficeInfo | None = u.office(Receiver.POLICE) if u else None
        if office is not None:
            lines += _office_lines(ctx, office.name, office.address, office.hours, office.hotline)
        else:
            lines.append(ctx.say("where_police_unknown"))
        agency_differs = False  # the commune police is the agency
    elif p.receiver is Receiver.LOCAL_AGENCY:
        local = u.office(Receiver.LOCAL_AGENCY) if u else None
        if local is not None and p.agency and fold(local.name) in fold(p.agency):
            lines += _office_lines(ctx, local.name, local.address, local.hours, local.hotline)
        elif nearest is not None:
            lines.append(ctx.say("where_nearest", office=nearest[0], others=", ".join(nearest[1])))
            lines.append(
                ctx.say("where_record_address", address=p.address) if p.address else ctx.say("where_no_address")
            )
        elif p.agency:
            lines.append(ctx.say("where_office", office=p.agency))
            lines.append(
                ctx.say("where_record_address", address=p.address) if p.address else ctx.say("where_no_address")
            )
        else:
            lines.append(ctx.say("where_local_unknown"))
        agency_differs = False
    elif u is not None:
        lines += _office_lines(ctx, u.name, u.address, u.hours, u.hotline)
    else:
        lines.append(ctx.say("where_no_address"))
    sections = [_lines(*lines)]
    if agency_differs:
        # A second line, left out before any line of where to go when the screen is full.
        sections.append(Section(items=(Item(ctx.say("where_agency", agency=p.agency)),), bullet="", optional=True))
    return [compose(ctx.say("where_header"), sections, buttons)]


def steps(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    buttons = aspect_buttons(ctx, "documents", "where")
    if not p.steps:
        return [Reply(ctx.say("steps_none"), buttons)]
    items = tuple(Item(cut_phrase(_step_text(s), STEP_LIMIT), s) for s in p.steps)
    return [compose(ctx.say("steps_header"), [Section(items=items, numbered=True)], buttons)]


_STEP_BULLET_RE = re.compile(r"^(?P<step>Bước\s*\d+\s*[:.]?)?\s*(?:[+\-*•]\s*)+")


def _step_text(step: str) -> str:
    """ "Bước 1: + Công dân đến…" -> "Bước 1: Công dân đến…": without the record's bullets."""
    text = strip_enumerator(" ".join(step.split())) if not step.lstrip().lower().startswith("bước") else step
    text = " ".join(text.split())
    return _STEP_BULLET_RE.sub(lambda m: f"{m.group('step')} " if m.group("step") else "", text, count=1).strip()


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")].rstrip(" ,;:") + "…"


def legal_basis(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    buttons = aspect_buttons(ctx, "documents", "steps")
    if not p.legal_basis:
        return [Reply(ctx.say("legal_none"), buttons)]
    items = tuple(
        Item(lb.title + (f" ({lb.number})" if lb.number and lb.number not in lb.title else "")) for lb in p.legal_basis
    )
    return [compose(ctx.say("legal_header"), [Section(items=items)], buttons)]


def requirements(ctx: ActionContext) -> list[Reply]:
    """The record's conditions; when it states none, say that the data does not state them
    (never that the procedure has none)."""
    p = ctx.procedure
    buttons = aspect_buttons(ctx, "documents", "fee")
    sections = []
    if p.requirements:
        parts = [s.strip(" -+") for s in p.requirements.splitlines() if s.strip(" -+")]
        sections.append(Section(items=tuple(Item(cut_phrase(_step_text(s), STEP_LIMIT), s) for s in parts)))
        title: str | None = ctx.say("requirements_header")
    else:
        title = None
        sections.append(_lines(ctx.say("requirements_none")))
    if p.subjects:
        sections.append(_lines(ctx.say("requirements_subjects", subjects=p.subjects)))
    return [compose(title, sections, buttons)]


def result(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    buttons = aspect_buttons(ctx, "documents", "time")
    if not p.result:
        return [Reply(ctx.say("result_none"), buttons)]
    items = tuple(Item(first_phrase(r, 120), r) for r in p.result.split("; "))
    return [compose(ctx.say("result_header"), [Section(items=items, bullet="•" if len(items) > 1 else "")], buttons)]
