"""What every action receives and the small formatting helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from bot import payloads
from bot.actions.wording import short_procedure, title_name
from bot.responses import Responses
from bot.types import Button, Reply
from knowledge.types import Channel, ProcedureInfo, UnitInfo


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
    today: date = field(default_factory=date.today)
    """The day a dated fee reduction is checked against (still in force or not)."""

    @property
    def hotline(self) -> str:
        unit = self.unit
        return unit.hotline if unit and unit.hotline else "đường dây nóng của phường, xã"

    def say(self, name: str, **values: object) -> str:
        unit = self.unit
        base: dict[str, object] = {
            "procedure": title_name(self.procedure.name),
            "code": self.procedure.code,
            "unit": unit.name if unit else "Bộ phận Một cửa",
            "hotline": self.hotline,
            "hours": unit.hours if unit else "",
            "address": unit.address if unit else "",
            "url": self.procedure.source_url or self.portal_url,
        }
        return self.responses(name, **(base | values))


Action = Callable[[ActionContext], list[Reply]]


def short_name(name: str) -> str:
    """ "Thủ tục đăng ký khai sinh" -> "đăng ký khai sinh" (for use inside a sentence)."""
    return short_procedure(name)


def money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


CHANNEL_ORDER = (Channel.IN_PERSON, Channel.ONLINE, Channel.POST)
_CHANNEL_WORDS = {Channel.IN_PERSON: "trực tiếp", Channel.ONLINE: "trực tuyến", Channel.POST: "bưu chính"}


def channel_list(channels: list[Channel]) -> str:
    """ "Trực tiếp, trực tuyến, bưu chính": the channels of one line, in a fixed order."""
    ordered = sorted(set(channels), key=CHANNEL_ORDER.index)
    text = ", ".join(_CHANNEL_WORDS[c] for c in ordered)
    return text[:1].upper() + text[1:]


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
        "requirements": ("button_requirements", "ask_requirements"),
    }
    return tuple(Button(ctx.say(table[n][0]), payloads.make(table[n][1], procedure=code)) for n in names if n in table)
