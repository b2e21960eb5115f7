"""What every action receives and the small formatting helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import payloads
from bot.responses import Responses
from bot.types import Button, Reply
from knowledge.types import ChannelInfo, ProcedureInfo, UnitInfo


@dataclass(frozen=True, slots=True)
class ActionContext:
    """The knowledge an action answers from (passed in; actions never open storage)."""

    procedure: ProcedureInfo
    unit: UnitInfo | None
    responses: Responses
    portal_url: str
    """The national portal, for online submission and forms."""
    page_url: str
    """The full procedure page, linked when an answer is cut."""

    def say(self, name: str, **values: object) -> str:
        unit = self.unit
        base: dict[str, object] = {
            "procedure": short_name(self.procedure.name),
            "code": self.procedure.code,
            "unit": unit.name if unit else "Bộ phận Một cửa",
            "hotline": unit.hotline if unit and unit.hotline else "đường dây nóng của phường, xã",
            "hours": unit.hours if unit else "",
            "address": unit.address if unit else "",
            "url": self.procedure.source_url or self.portal_url,
        }
        return self.responses(name, **(base | values))


Action = Callable[[ActionContext], list[Reply]]


def short_name(name: str) -> str:
    """ "Thủ tục đăng ký khai sinh" -> "đăng ký khai sinh" (for use inside a sentence)."""
    text = name.strip()
    for prefix in ("Thủ tục ", "thủ tục "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    first = text.split(" ", 1)[0]
    return text if first.isupper() else text[:1].lower() + text[1:]


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


def fee_text(ctx: ActionContext, c: ChannelInfo) -> str:
    """The fee of one channel as the record states it."""
    if c.fee_amount == 0:
        return ctx.say("fee_free")
    explanation = ""
    if "(" in c.fee_text:
        explanation = c.fee_text[c.fee_text.index("(") :].strip()
        if len(explanation) > 220:
            explanation = ""
    if c.fee_amount is not None:
        return f"{ctx.say('fee_amount', amount=money(c.fee_amount))} {explanation}".strip()
    if c.fee_text and not c.fee_text.startswith("Không có thông tin"):
        return c.fee_text
    return ctx.say("fee_unknown")


def time_text(ctx: ActionContext, c: ChannelInfo) -> str:
    """The processing time of one channel as the record states it."""
    if c.time_value is None:
        return ctx.say("time_unknown")
    value = f"{c.time_value:g}"
    if c.time_unit:
        return f"{value} {c.time_unit.lower()}"
    return ctx.say("time_no_unit", value=value)


def aspect_buttons(ctx: ActionContext, *names: str) -> tuple[Button, ...]:
    code = ctx.procedure.code
    table = {
        "documents": ("button_documents", "ask_documents"),
        "fee": ("button_fee", "ask_fee"),
        "time": ("button_time", "ask_processing_time"),
        "where": ("button_where", "ask_where"),
        "online": ("button_online", "ask_methods"),
        "steps": ("button_steps", "ask_steps"),
        "forms": ("button_forms", "ask_forms"),
    }
    return tuple(Button(ctx.say(table[n][0]), payloads.make(table[n][1], procedure=code)) for n in names if n in table)


def numbered(lines: list[str]) -> str:
    return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, start=1))
