"""Fee, processing time and ways to submit: all read from the submission channels.

Channels that say the same thing share one line ("Trực tiếp, trực tuyến, bưu chính: miễn
phí"). A fee line says everything its cell states: the amount (the explanation winning when the
cell says "Miễn phí" but explains an amount), then the amounts per page or per case, dated
reductions and whether they are in force today, exemptions, the province's or a circular's
rule; remarks on how to pay stay on the procedure page. A gap is said once, with the hotline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.actions.base import ActionContext, aspect_buttons, channel_list, money
from bot.actions.wording import short_procedure
from bot.render import compose
from bot.types import Item, Reply, Section
from knowledge.fees import reduced_amount
from knowledge.parsing import StatedTime, stated_time, time_cases
from knowledge.text import fold
from knowledge.types import Channel, ChannelInfo, FeeAmount, FeeClause, FeeInfo, FeeKind

CASE_WORDS = 12
"""A clause's heading this short names the case of the cell's amount ("theo danh sách")."""
SHORT_REMARK = 60
"""A remark this short is said beside the amount rather than left for the whole answer."""
SHOWN = (FeeKind.AMOUNT, FeeKind.REDUCTION, FeeKind.EXEMPTION, FeeKind.AUTHORITY, FeeKind.REGULATION, FeeKind.FREE)
"""Clause kinds a first answer shows; the rest (how and when to pay) only in the whole answer."""
_REF_TAIL_RE = re.compile(
    r"[\s(]*(?:\(?\s*(?:căn cứ|theo|thực hiện theo)\s+(?:quy định\s+)?(?:tại\s+)?)?"
    r"(?:Thông tư liên tịch|Thông tư|Nghị định|Nghị quyết|Quyết định)(?:\s+số)?\s*\d[^;]*$",
    re.IGNORECASE,
)
_CURRENCY_WORDS = {"VND": "đồng", "USD": "USD", None: ""}
_REF_LEAD_RE = re.compile(
    r"(?:\s*\b(?:thực hiện|áp dụng|được|căn cứ|theo|quy định|tại|của|các|mức thu|mức phí|phí|lệ phí)\b)+\s*$",
    re.IGNORECASE,
)
"""The words that lead into a legal reference ("… thực hiện theo quy định tại")."""


@dataclass(frozen=True, slots=True)
class FeeView:
    """One channel row's fee in words: a headline, the clauses under it, and remarks that only
    the whole answer shows."""

    headline: str
    headline_full: str = ""
    details: tuple[Item, ...] = ()
    remarks: tuple[str, ...] = ()
    conflict: bool = False
    gap: bool = False


def _date(d: object) -> str:
    return d.strftime("%d/%m/%Y") if hasattr(d, "strftime") else str(d)


def _status(ctx: ActionContext, c: FeeClause) -> str:
    """Whether a dated clause applies today."""
    state = c.in_force(ctx.today)
    if state is None:
        return ""
    if state:
        return ctx.say("fee_in_force")
    if c.valid_to is not None and ctx.today > c.valid_to:
        return ctx.say("fee_expired")
    return ctx.say("fee_not_yet")


def clause_short(ctx: ActionContext, c: FeeClause) -> str:
    """A clause in the first answer: its words without the trailing legal reference (the
    circular is named only when the clause is about it), with its status today. A dated
    reduction reads "Từ 01/7/2025 đến hết 31/12/2026: bằng 50% mức thu (đang áp dụng…)",
    every part of it from the clause."""
    text = c.text.rstrip(" .;")
    if c.kind is FeeKind.REDUCTION and (c.valid_from or c.valid_to):
        text = _reduction(ctx, c) or text
    elif c.kind is FeeKind.REGULATION:
        rule = ctx.say("fee_regulation", regulation=c.regulation or "văn bản pháp luật")
        at = text.find(c.regulation) if c.regulation else -1
        head = _REF_LEAD_RE.sub("", text[:at] if at > 0 else "").strip(" ,:;(")
        text = f"{head} — {rule}" if len(head.split()) >= 3 else _cap(rule)
    elif c.kind in (FeeKind.AUTHORITY, FeeKind.REDUCTION, FeeKind.AMOUNT, FeeKind.EXEMPTION, FeeKind.FREE):
        head = _REF_TAIL_RE.sub("", text).strip(" ,:;(")
        if len(head) > 12 and _amounts_kept(c, head):
            text = head
        text = _short_lead(text)
    status = _status(ctx, c)
    return f"{text} ({status})" if status else text


_LEGAL_LEAD_RE = re.compile(
    r"\s+(?:đối với (?:các )?trường hợp quy định tại|quy định tại|theo quy định tại|theo quy định của)\s+[^:]*(?=:)"
)


def _short_lead(text: str) -> str:
    """ "Cấp lại thẻ căn cước đối với các trường hợp quy định tại khoản 2 Điều 24 Luật Căn
    cước: 70.000 đồng/thẻ" -> "Cấp lại thẻ căn cước (…): 70.000 đồng/thẻ"."""
    return _LEGAL_LEAD_RE.sub(" (…)", text, count=1)


def _reduction(ctx: ActionContext, c: FeeClause) -> str:
    since = _date(c.valid_from) if c.valid_from else ""
    until = _date(c.valid_to) if c.valid_to else ""
    if since and until:
        when = ctx.say("fee_from_to", since=since, until=until)
    elif until:
        when = ctx.say("fee_until", until=until)
    else:
        when = ctx.say("fee_since", since=since)
    low = c.text.lower()
    if c.percent is not None:
        value = ctx.say("fee_percent", percent=c.percent)
    elif c.amounts:
        value = ", ".join(a.text for a in c.amounts)
    elif "miễn" in low:
        value = ctx.say("fee_waived")
    else:
        return ""
    scope = ctx.say("fee_online_only") if "trực tuyến" in low or "trực tuyển" in low else ""
    return ctx.say("fee_reduction", when=when, scope=scope, value=value)


def _amounts_kept(c: FeeClause, text: str) -> bool:
    return all(a.text in text for a in c.amounts)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def amount_text(ctx: ActionContext, a: FeeAmount) -> str:
    value = money(a.value) if a.currency == "VND" else str(a.value)
    text = ctx.say("fee_amount", amount=value, currency=_CURRENCY_WORDS.get(a.currency, a.currency or ""))
    return f"{text}/{a.per}" if a.per else text


def _today_rate(ctx: ActionContext, shown: list[FeeClause], channel: Channel | None) -> FeeClause | None:
    """The rate clause in force today for this channel ("Kể từ ngày 01/7/2025 đến hết ngày
    31/12/2026 mức thu … bằng 50% mức thu nêu trên"); one that is only for online filing does
    not apply to the other channels."""
    for c in shown:
        if c.kind is not FeeKind.REDUCTION or c.percent is None or c.in_force(ctx.today) is not True:
            continue
        low = c.text.lower()
        online_only = "trực tuyến" in low or "trực tuyển" in low
        if online_only and channel is not None and channel is not Channel.ONLINE:
            continue
        return c
    return None


def _with_today_rate(ctx: ActionContext, headline: str, base: FeeAmount, rate: FeeClause) -> str | None:
    """ "35.000 đồng/thẻ hiện nay (bằng 50% mức 70.000 đồng/thẻ, từ 01/07/2025 đến hết
    31/12/2026)": the amount a citizen pays today first, the base amount and the dates beside."""
    if base.currency != "VND":
        return None
    today = reduced_amount(base.value, rate)
    if today is None:
        return None
    amount = amount_text(ctx, FeeAmount(today, base.currency, base.per, ""))
    since = _date(rate.valid_from) if rate.valid_from else ""
    until = _date(rate.valid_to) if rate.valid_to else ""
    when = (
        ctx.say("fee_from_to", since=since, until=until)
        if since and until
        else ctx.say("fee_until", until=until)
        if until
        else ctx.say("fee_since", since=since)
    )
    share = "giảm" if today < base.value and f"bằng {rate.percent}" not in rate.text.lower() else "bằng"
    return ctx.say("fee_today", amount=amount, rate=f"{share} {rate.percent}%", base=headline, when=_lower(when))


def fee_view(
    ctx: ActionContext, fee: FeeInfo, fee_text: str, amount: int | None = None, channel: Channel | None = None
) -> FeeView:
    """What one channel row's fee says, in words. `amount` is the row's amount in VND as
    stored: what staff typed wins over a cell that states none. A rate in force today for
    `channel` turns the headline into today's amount, the base amount beside it."""
    clauses = [c for c in fee.clauses if not (c.kind is FeeKind.FREE and fee.free is True)]
    shown = [c for c in clauses if c.kind in SHOWN]
    remarks = tuple(c.text for c in clauses if c.kind not in SHOWN)
    headline_full = ""
    if fee.cell_amount is None and fee.free is None and amount:
        headline = ctx.say("fee_amount", amount=money(amount), currency="đồng")
        shown = [c for c in shown if not (_just_the_amount(c) and any(a.value == amount for a in c.amounts))]
    elif fee.cell_amount is not None:
        headline = amount_text(ctx, fee.cell_amount)
        case, said = _case_of(ctx, shown, fee.cell_amount.value)
        if said is not None:
            headline = f"{headline} ({_lower(case)})"  # "10.000 đồng/người/lần (theo danh sách)"
            shown.remove(said)
            headline_full = said.text  # the whole clause stays in the whole answer
        restating = [
            c
            for c in shown
            if c.kind is FeeKind.AMOUNT and len(c.amounts) == 1 and c.amounts[0].value == fee.cell_amount.value
        ]
        if len(restating) == 1 and _just_the_amount(restating[0]):
            # "70,000 VNĐ(70.000 đồng/Giấy chứng nhận)": the clause only adds its unit.
            headline, headline_full = _lower(clause_short(ctx, restating[0])), restating[0].text
            shown.remove(restating[0])
        base = next((a for c in restating for a in c.amounts), fee.cell_amount)
        rate = _today_rate(ctx, shown, channel)
        today = _with_today_rate(ctx, amount_text(ctx, base), base, rate) if rate is not None else None
        if today is not None and rate is not None:
            headline, headline_full = today, headline_full or rate.text
            shown.remove(rate)
    elif fee.free is None:
        if not shown:
            return FeeView(ctx.say("fee_unknown"), fee_text, remarks=remarks, gap=True)
        first = shown.pop(0)
        headline, headline_full = _lower(clause_short(ctx, first)), first.text
    elif fee.conflict:
        first = shown.pop(0)
        headline, headline_full = _lower(clause_short(ctx, first)), first.text
    else:
        headline = ctx.say("fee_free")
    # In force today first, undated next, no longer (or not yet) in force last.
    shown.sort(key=lambda c: {True: 0, None: 1, False: 2}[c.in_force(ctx.today)])
    details = tuple(Item(clause_short(ctx, c), c.text) for c in shown)
    if not details and len(remarks) == 1 and len(remarks[0]) <= SHORT_REMARK and not headline_full:
        # "30.000 đồng (mức thí điểm của phường)": a short remark stays with its amount.
        headline, remarks = f"{headline} ({_lower(remarks[0].rstrip(' .'))})", ()
    return FeeView(headline, headline_full, details, remarks, conflict=fee.conflict)


def _case_of(ctx: ActionContext, clauses: list[FeeClause], value: int) -> tuple[str, FeeClause | None]:
    """The case a clause restating the cell's amount names in its heading ("Đăng ký tạm trú
    theo danh sách: … thu 10.000 đồng" -> "theo danh sách"), the procedure's own name left out."""
    for c in clauses:
        if c.kind is not FeeKind.AMOUNT or not any(a.value == value for a in c.amounts) or ": " not in c.text:
            continue
        lead = c.text.split(": ", 1)[0]
        if any(a.text in lead for a in c.amounts):
            continue
        words = lead.split()
        name = fold(short_procedure(ctx.procedure.name)).split()
        if [fold(w) for w in words[: len(name)]] == name:
            words = words[len(name) :]
        case = " ".join(words).strip(" ()")
        if 2 <= len(case.split()) <= CASE_WORDS:
            return case, c
    return "", None


def _just_the_amount(c: FeeClause) -> bool:
    """ "70.000 đồng/Giấy chứng nhận": a clause that says nothing but its amount."""
    rest = c.text
    for a in c.amounts:
        rest = rest.replace(a.text, " ")
    return len(rest.strip(" .;:()").split()) <= 2


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _grouped(ctx: ActionContext, rows: tuple[ChannelInfo, ...]) -> list[tuple[list[Channel], FeeView]]:
    """Rows that say the same, in one group each, in the order first met."""
    groups: list[tuple[list[Channel], FeeView]] = []
    for c in rows:
        view = fee_view(ctx, c.fee, c.fee_text, c.fee_amount, c.channel)
        for channels, seen in groups:
            if seen == view:
                channels.append(c.channel)
                break
        else:
            groups.append(([c.channel], view))
    return groups


def fee(ctx: ActionContext) -> list[Reply]:
    """Each channel's line first (so no channel is ever left out of a first answer), then what
    the explanations add, the channels named when they differ, then the notes."""
    p = ctx.procedure
    buttons = aspect_buttons(ctx, "documents", "time", "online")
    if not p.channels:
        return [compose(ctx.say("fee_header"), [_line(ctx.say("fee_unknown")), _gap(ctx)], buttons)]
    groups = _grouped(ctx, p.channels)
    heads: list[Item] = []
    details: list[Item] = []
    remarks: list[Item] = []
    # What every group's explanation says is said once, without channel names.
    common = set.intersection(*({d.text for d in v.details} for _, v in groups))
    common_remarks = set.intersection(*(set(v.remarks) for _, v in groups))
    for n, (channels, view) in enumerate(groups):
        names = channel_list(channels)
        line = ctx.say("fee_line", channels=names, fee=view.headline)
        whole = ctx.say("fee_line", channels=names, fee=view.headline_full) if view.headline_full else ""
        shortened = whole and view.headline_full.rstrip(" .") not in view.headline
        heads.append(Item(line, whole if shortened else ""))
        prefix = f"{names}: " if len(groups) > 1 else ""
        for d in view.details:
            if d.text not in common:
                details.append(Item(prefix + d.text, prefix + d.full if d.full else ""))
            elif n == 0:
                details.append(d)
        remarks += [
            Item(r if r in common_remarks else prefix + r) for r in view.remarks if n == 0 or r not in common_remarks
        ]
    sections = [Section(items=tuple(heads))]
    if details:
        sections.append(Section(items=tuple(details), bullet="  –"))
    if remarks:
        sections.append(Section(items=tuple(remarks), bullet="  –", optional=True))
    if any(v.conflict for _, v in groups):
        sections.append(_line(ctx.say("fee_conflict_note")))
    if any(v.gap for _, v in groups):
        sections.append(_gap(ctx))
    return [compose(ctx.say("fee_header"), sections, buttons)]


def _line(text: str) -> Section:
    return Section(items=(Item(text),), bullet="")


def _gap(ctx: ActionContext) -> Section:
    return _line(ctx.say("gap_hotline"))


# --- time ---------------------------------------------------------------------------------


def _stated(ctx: ActionContext, c: ChannelInfo) -> tuple[StatedTime, str] | None:
    """A time the channel's description or the steps state in words, and where."""
    for where, texts in (("description", (c.description,)), ("steps", ctx.procedure.steps)):
        found = stated_time(texts)
        if found is not None:
            return found, ctx.say(f"time_where_{where}")
    return None


def _resolved(ctx: ActionContext, c: ChannelInfo) -> bool:
    """The time is known with its unit: from its cell, or from words confirming a bare number."""
    if c.time_value is not None and c.time_unit:
        return True
    found = _stated(ctx, c)
    return found is not None and (c.time_value is None or found[0].value is not None)


def time_value(ctx: ActionContext, c: ChannelInfo) -> str:
    """One channel's time as the record states it. An empty cell is answered from the words of
    the description or the steps ("trong thời hạn 03 ngày làm việc kể từ ngày nhận hồ sơ"), a
    bare number takes the unit those words give it, saying so."""
    found = _stated(ctx, c)
    if c.time_value is None:
        if found is None:
            return ctx.say("time_unknown")
        stated, where = found
        words = stated.words if stated.value is not None else ctx.say("time_same_day")
        return ctx.say("time_from_text_empty", words=_lower(words), where=where)
    value = f"{c.time_value:g}"
    if c.time_unit:
        return f"{value} {c.time_unit.lower()}" + _time_case(ctx, c)
    if found is not None and found[0].value == c.time_value:
        stated, where = found
        return ctx.say("time_from_text", time=f"{value} {stated.unit}", cell=c.time_text or value, where=where)
    if found is not None and found[0].value is not None:
        # The words give another time with its unit: they answer, the cell's number beside them.
        stated, where = found
        return ctx.say("time_from_text_other", words=_lower(stated.words), where=where, cell=c.time_text or value)
    return ctx.say("time_value_no_unit", value=value)


def _time_case(ctx: ActionContext, c: ChannelInfo) -> str:
    """ " (cấp đổi biển số xe)": which case a time is for, when the same channel has rows with
    different times and the description names the case of each ("+ Cấp đổi biển số xe: Không
    quá 07 ngày làm việc")."""
    same = [o for o in ctx.procedure.channels if o.channel is c.channel and o.time_value != c.time_value]
    if not same or c.time_value is None:
        return ""
    cases = time_cases(c.description)
    number = re.compile(rf"\b0*{int(c.time_value)}\b")
    named = [case for case, text in cases if number.search(text)]
    if not named and len(cases) == 1:
        named = [cases[0][0]]
    return f" ({'; '.join(_lower(n) for n in named)})" if named else ""


def _time_notes(ctx: ActionContext) -> list[Section]:
    """Under the lines: what a bare number means, or the hotline for a time nobody states."""
    p = ctx.procedure
    bare = [c for c in p.channels if c.time_value is not None and not _resolved(ctx, c)]
    notes = []
    if bare:
        values = ", ".join(dict.fromkeys(f"{c.time_value:g}" for c in bare))
        notes.append(_line(ctx.say("time_no_unit_note", values=values)))
    elif any(c.time_value is None and not _resolved(ctx, c) for c in p.channels):
        notes.append(_gap(ctx))
    return notes


def processing_time(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    buttons = aspect_buttons(ctx, "documents", "fee", "where")
    if not p.channels:
        return [compose(ctx.say("time_header"), [_line(ctx.say("time_unknown")), _gap(ctx)], buttons)]
    groups: dict[str, list[Channel]] = {}
    for c in p.channels:
        groups.setdefault(time_value(ctx, c), []).append(c.channel)
    items = [Item(ctx.say("time_line", channels=channel_list(chs), time=t)) for t, chs in groups.items()]
    sections = [Section(items=tuple(items)), *_time_notes(ctx)]
    return [compose(ctx.say("time_header"), sections, buttons)]


def methods(ctx: ActionContext) -> list[Reply]:
    p = ctx.procedure
    buttons = aspect_buttons(ctx, "documents", "where")
    groups: dict[tuple[str, str], list[Channel]] = {}
    for c in p.channels:
        view = fee_view(ctx, c.fee, c.fee_text, c.fee_amount, c.channel)
        groups.setdefault((time_value(ctx, c), view.headline), []).append(c.channel)
    items = [Item(ctx.say("methods_line", channels=channel_list(chs), time=t, fee=f)) for (t, f), chs in groups.items()]
    sections = [Section(items=tuple(items))]
    if p.channel(Channel.ONLINE) is not None:
        sections.append(_line(ctx.say("methods_online", url=ctx.portal_url)))
    elif p.channels:
        sections.insert(0, _line(ctx.say("methods_no_online")))
    if any(c.time_value is not None and not _resolved(ctx, c) for c in p.channels):
        values = ", ".join(dict.fromkeys(f"{c.time_value:g}" for c in p.channels if c.time_value is not None))
        sections.append(_line(ctx.say("time_no_unit_note", values=values)))
    if not p.channels:
        sections = [_line(ctx.say("time_unknown")), _gap(ctx)]
    return [compose(ctx.say("methods_header"), sections, buttons)]


def main_fee(ctx: ActionContext) -> str:
    """The fee of the main channel, for a summary."""
    p = ctx.procedure
    main = p.channel(Channel.IN_PERSON) or (p.channels[0] if p.channels else None)
    return (
        fee_view(ctx, main.fee, main.fee_text, main.fee_amount, main.channel).headline
        if main
        else ctx.say("fee_unknown")
    )


def main_time(ctx: ActionContext) -> str:
    p = ctx.procedure
    main = p.channel(Channel.IN_PERSON) or (p.channels[0] if p.channels else None)
    return time_value(ctx, main) if main else ctx.say("time_unknown")
