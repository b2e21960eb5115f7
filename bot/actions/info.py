"""Where to go, steps, legal basis, requirements and result."""

from __future__ import annotations

from bot.actions.base import ActionContext, aspect_buttons, numbered
from bot.types import Reply


def where(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    lines = [ctx.say("where_header")]
    if p.agency:
        lines.append(ctx.say("where_agency", agency=p.agency))
    if p.address:
        lines.append(ctx.say("where_address", address=p.address))
    if p.is_ward_level and ctx.unit is not None:
        lines.append(ctx.say("where_unit"))
    elif not p.is_ward_level and p.levels:
        lines.append(ctx.say("where_not_ward", levels=", ".join(sorted(p.levels)).lower()))
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "online", "time"))]


def steps(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    if not p.steps:
        return [Reply(ctx.say("steps_none"), aspect_buttons(ctx, "documents", "where"))]
    return [Reply(f"{ctx.say('steps_header')}\n{numbered(list(p.steps))}", aspect_buttons(ctx, "documents", "where"))]


def legal_basis(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    if not p.legal_basis:
        return [Reply(ctx.say("legal_none"), aspect_buttons(ctx, "documents"))]
    lines = [ctx.say("legal_header")]
    for lb in p.legal_basis:
        lines.append(f"• {lb.title}" + (f" ({lb.number})" if lb.number and lb.number not in lb.title else ""))
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "steps"))]


def requirements(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    lines = [ctx.say("requirements_header"), p.requirements] if p.requirements else [ctx.say("requirements_none")]
    if p.subjects:
        lines.append(ctx.say("requirements_subjects", subjects=p.subjects))
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "fee"))]


def result(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    text = f"{ctx.say('result_header')}\n{p.result}" if p.result else ctx.say("result_none")
    return [Reply(text, aspect_buttons(ctx, "documents", "time"))]
