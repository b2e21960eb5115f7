"""A short summary of a procedure with buttons for each aspect."""

from __future__ import annotations

from bot.actions.base import ActionContext, aspect_buttons, fee_text, time_text
from bot.types import Reply
from knowledge.types import Channel


def overview(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    main = p.channel(Channel.IN_PERSON) or (p.channels[0] if p.channels else None)
    lines = [ctx.say("overview", procedure=p.name)]
    if p.levels:
        lines.append(ctx.say("overview_level", levels=", ".join(sorted(p.levels))))
    papers = sum(1 for d in p.documents if not d.is_note)
    lines.append(
        ctx.say(
            "overview_summary",
            documents=papers,
            fee=fee_text(ctx, main) if main else ctx.say("fee_unknown"),
            time=time_text(ctx, main) if main else ctx.say("time_unknown"),
        )
    )
    if p.channel(Channel.ONLINE) is not None:
        lines.append(ctx.say("overview_online"))
    lines.append(ctx.say("overview_prompt"))
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "fee", "time", "where", "online"))]
