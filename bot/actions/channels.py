"""Fee, processing time and ways to submit: all read from the submission channels."""

from __future__ import annotations

from bot.actions.base import ActionContext, aspect_buttons, fee_text, time_text
from bot.types import Reply
from knowledge.types import Channel


def fee(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    if not p.channels:
        return [Reply("\n".join([ctx.say("fee_header"), ctx.say("fee_unknown")]), aspect_buttons(ctx, "documents"))]
    lines = [ctx.say("fee_header")]
    lines += [ctx.say("fee_line", channel=c.channel.label, fee=fee_text(ctx, c)) for c in p.channels]
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "time", "online"))]


def processing_time(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    lines = [ctx.say("time_header")]
    if p.channels:
        lines += [ctx.say("time_line", channel=c.channel.label, time=time_text(ctx, c)) for c in p.channels]
    else:
        lines.append(ctx.say("time_unknown"))
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "fee", "where"))]


def methods(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    lines = [ctx.say("methods_header")]
    for c in p.channels:
        lines.append(f"• {c.channel.label}: {time_text(ctx, c)}; {fee_text(ctx, c).lower()}")
    if p.channel(Channel.ONLINE) is not None:
        lines.append(ctx.say("methods_online", url=ctx.portal_url))
    elif p.channels:
        lines.insert(1, ctx.say("methods_no_online"))
    return [Reply("\n".join(lines), aspect_buttons(ctx, "documents", "where"))]
