"""A short summary of a procedure with buttons for each aspect."""

from __future__ import annotations

from bot.actions.base import ActionContext, aspect_buttons
from bot.actions.channels import main_fee, main_time
from bot.actions.wording import TITLE_LIMIT, title_name
from bot.render import compose
from bot.types import Item, Reply, Section
from knowledge.types import Channel


def overview(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    lines = []
    if p.levels:
        lines.append(ctx.say("overview_level", levels=", ".join(sorted(p.levels))))
    papers = sum(1 for d in p.documents if not d.is_note)
    lines.append(ctx.say("overview_summary", documents=papers, fee=main_fee(ctx), time=main_time(ctx)))
    if p.channel(Channel.ONLINE) is not None:
        lines.append(ctx.say("overview_online"))
    lines.append(ctx.say("overview_prompt"))
    name = p.name if len(p.name) <= TITLE_LIMIT else title_name(p.name)
    title = ctx.say("overview", procedure=name[:1].upper() + name[1:])
    section = Section(items=tuple(Item(t) for t in lines), bullet="")
    return [compose(title, [section], aspect_buttons(ctx, "documents", "fee", "time", "where", "online"))]
