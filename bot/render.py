"""Answers as plain text, and the length budget that fits a first answer on one phone screen.

Actions build a `Reply` in structure (a title and sections of items, each item with a short
form and its whole wording) and its plain text in full (`compose`). `fit` then keeps what fits
the channel's screen: the title, whole sections while they fit, a section's shorter stand-in
(`Section.folds`) or as many of its items as fit — never half an item — and, when anything
was shortened or left out, a last line pointing to the procedure page. The budget counts the
lines a phone draws (a long line wraps), not characters, because a citizen reads a screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from bot.responses import Responses
from bot.responses import load as load_responses
from bot.types import Button, Item, Reply, Section


@dataclass(frozen=True, slots=True)
class Budget:
    """What one first answer may take on a channel."""

    lines: int
    """Lines on one phone screen, wrapped lines counted."""
    width: int
    """Characters a line holds before it wraps (a conservative figure for the channel's font)."""
    chars: int
    """The platform's hard limit for one message."""
    link_lines: int | None = None
    """Lines the "Xem đầy đủ" line takes when the channel shows it as a short link (the widget
    labels its own procedure pages); None: counted like any other line."""


BUDGETS: dict[str, Budget] = {
    # The widget at 390 px: a bot bubble (92% of the log) holds about 36 characters of a wide
    # sans-serif font (DejaVu Sans) per line; 12 lines leave room for the question and the
    # quick replies. The widget labels its own procedure links, so "Xem đầy đủ" is one line.
    "web": Budget(lines=12, width=36, chars=3000, link_lines=1),
    # Other REST clients and `converse` show the page's whole address (two lines or more).
    "rest": Budget(lines=14, width=36, chars=3000),
    "converse": Budget(lines=14, width=36, chars=3000),
    # Telegram's mobile bubble is a little wider; 4,096 characters per message at most.
    "telegram": Budget(lines=18, width=36, chars=4096),
    # Zalo OA text messages take at most 2,000 characters.
    "zalo": Budget(lines=16, width=36, chars=2000),
    "cli": Budget(lines=40, width=100, chars=20000),
}
DEFAULT_BUDGET = Budget(lines=12, width=34, chars=2000)


def budget_for(channel: str) -> Budget:
    return BUDGETS.get(channel, DEFAULT_BUDGET)


# --- plain text ---------------------------------------------------------------------------


def item_lines(section: Section, items: tuple[Item, ...], whole: bool, start: int = 1) -> list[str]:
    out = []
    for n, item in enumerate(items, start=start):
        text = item.whole if whole else item.text
        if section.numbered:
            out.append(f"{n}. {text}")
        else:
            out.append(f"{section.bullet} {text}" if section.bullet else text)
    return out


def section_lines(section: Section, whole: bool) -> list[str]:
    lines = [section.heading] if section.heading else []
    return lines + item_lines(section, section.items, whole)


def plain(title: str | None, sections: tuple[Section, ...], whole: bool = True) -> str:
    """The answer as plain text: every item whole (`whole`) or in its short form."""
    lines = [title] if title else []
    for s in sections:
        lines += section_lines(s, whole)
    return "\n".join(lines)


def compose(
    title: str | None, sections: list[Section] | tuple[Section, ...], buttons: tuple[Button, ...] = ()
) -> Reply:
    """A structured answer whose `text` is the whole of it."""
    kept = tuple(s for s in sections if s.items or s.heading or s.folds)
    return Reply(plain(title, kept), buttons, title=title, sections=kept)


def full_text(reply: Reply) -> str:
    """Everything an answer holds, every item in its whole wording (what `compose` put in
    `text` before any budget)."""
    if not reply.sections:
        return reply.text
    return plain(reply.title, reply.sections, whole=True)


# --- the budget ---------------------------------------------------------------------------


def drawn(text: str, width: int) -> int:
    """Lines a text takes on screen when lines wrap at `width` characters (at word breaks)."""
    total = 0
    for line in text.split("\n"):
        total += _wrapped(line, width)
    return total


def _wrapped(line: str, width: int) -> int:
    if len(line) <= width:
        return 1
    lines, current = 1, 0
    for word in line.split(" "):
        size = len(word)
        if current and current + 1 + size > width:
            lines += 1
            current = 0
        if size > width:  # a long URL breaks anywhere
            lines += math.ceil(size / width) - 1
            size %= width
        current += size + (1 if current else 0)
    return lines


def fit(reply: Reply, channel: str, responses: Responses | None = None) -> Reply:
    """The first answer for `channel`: what fits one screen, the rest one tap away; button
    titles that were cut inside a word end at a word instead."""
    if any(b.title.endswith("…") for b in reply.buttons):
        reply = replace(reply, buttons=tuple(Button(whole_words(b.title), b.payload) for b in reply.buttons))
    return _fit(reply, channel, responses)


def whole_words(title: str) -> str:
    """ "Chứng thực bản sao từ bản chính giấy tờ, văn bản do cơ qu…" -> "Chứng thực bản sao từ
    bản chính giấy tờ, văn bản": a title cut short ends at a phrase or word break."""
    if not title.endswith("…"):
        return title
    text = title[:-1].rstrip()
    for mark in ("; ", " do ", " đối với ", " cho ", " tại ", " của ", ", "):
        at = text.rfind(mark)
        if at >= 20:
            return text[:at].rstrip(" ,;")
    space = text.rfind(" ")
    return (text[:space] if space > 10 else text).rstrip(" ,;:") + "…"


def _fit(reply: Reply, channel: str, responses: Responses | None) -> Reply:
    budget = budget_for(channel)
    say = responses or load_responses()
    if not reply.sections:
        return _fit_text(reply, budget, say)
    title_lines = [reply.title] if reply.title else []
    short = _short_sections(reply.sections)
    short_text = plain(reply.title, reply.sections, whole=False)
    if reply.link is None:  # nowhere to link the rest: all of it, within the platform's limit
        return replace(reply, text=_hard_cut(short_text, budget, say), sections=short)
    shortened = any(i.full and i.full != i.text for s in reply.sections for i in s.items)
    if not shortened and _fits(short_text, budget):
        return replace(reply, text=short_text, sections=short)
    more = say("more", url=reply.link)
    more_cost = budget.link_lines if budget.link_lines is not None else drawn(more, budget.width)
    if _fits(short_text, replace(budget, lines=budget.lines - more_cost, chars=budget.chars - len(more) - 1)):
        return replace(reply, text=f"{short_text}\n{more}", sections=short, cut=True)
    room = budget.lines - more_cost
    used = drawn("\n".join(title_lines), budget.width) if title_lines else 0
    kept: list[Section] = []
    lines = list(title_lines)
    omitted = 0  # items left out, said once in a count line before the link
    for n, section in enumerate(reply.sections):
        # Room kept for the shortest stand-in of each later section that has one, and for the
        # count line unless this is the last section and nothing was left out yet.
        reserve = sum(min(drawn(f, budget.width) for f in s.folds) for s in reply.sections[n + 1 :] if s.folds)
        last = n + 1 == len(reply.sections)
        whole_fits = reserve + (0 if last and not omitted else 1)
        reserve += 1
        candidate = section_lines(section, whole=False)
        cost = drawn("\n".join(candidate), budget.width)
        if used + cost <= room - whole_fits:
            kept.append(_short(section))
            lines += candidate
            used += cost
            continue
        if section.optional:
            continue
        fold = next((f for f in section.folds if used + drawn(f, budget.width) <= room - reserve), None)
        if fold is not None:
            kept.append(Section(items=(Item(fold),), bullet=""))
            lines.append(fold)
            used += drawn(fold, budget.width)
            continue
        # As many whole items as fit, never half of one; the rest is counted.
        head = [section.heading] if section.heading else []
        head_cost = drawn("\n".join(head), budget.width) if head else 0
        shown: list[Item] = []
        item_cost = 0
        for item in section.items:
            line = item_lines(section, (item,), whole=False, start=len(shown) + 1)[0]
            c = drawn(line, budget.width)
            if used + head_cost + item_cost + c > room - reserve:
                break
            shown.append(item)
            item_cost += c
        omitted += len(section.items) - len(shown)
        if shown:
            part = Section(section.heading, tuple(Item(i.text) for i in shown), section.numbered, (), section.bullet)
            kept.append(part)
            lines += section_lines(part, whole=False)
            used += head_cost + item_cost
    if omitted:
        count = say("more_items", n=omitted)
        kept.append(Section(items=(Item(count),), bullet=""))
        lines.append(count)
    lines.append(more)
    text = "\n".join(lines)
    if len(text) > budget.chars:
        text = _hard_cut(text, budget, say)
    return replace(reply, text=text, sections=tuple(kept), cut=True)


def screen_lines(reply: Reply, channel: str) -> int:
    """Lines a fitted reply takes on the channel's screen, as the budget counts them."""
    budget = budget_for(channel)
    if reply.cut and budget.link_lines is not None and reply.sections:
        body = reply.text.rsplit("\n", 1)[0]
        return drawn(body, budget.width) + budget.link_lines
    return drawn(reply.text, budget.width)


def _fits(text: str, budget: Budget) -> bool:
    return drawn(text, budget.width) <= budget.lines and len(text) <= budget.chars


def _short(section: Section) -> Section:
    return Section(section.heading, tuple(Item(i.text) for i in section.items), section.numbered, (), section.bullet)


def _short_sections(sections: tuple[Section, ...]) -> tuple[Section, ...]:
    return tuple(_short(s) for s in sections)


def _fit_text(reply: Reply, budget: Budget, say: Responses) -> Reply:
    """A reply without structure (a greeting, a staff FAQ): only the platform's hard limit
    applies; a cut falls on a line or sentence break and points to the page when there is one."""
    if len(reply.text) <= budget.chars:
        return reply
    more = say("more", url=reply.link) if reply.link else say("truncated")
    room = budget.chars - len(more) - 2
    body = reply.text[:room]
    cut = max(body.rfind("\n"), body.rfind(". "))
    body = body[: cut + 1 if cut > room // 2 else room].rstrip()
    return replace(reply, text=f"{body}\n{more}", cut=True)


def _hard_cut(text: str, budget: Budget, say: Responses) -> str:
    """The platform limit, at a line break."""
    if len(text) <= budget.chars:
        return text
    tail = say("truncated")
    lines = text.split("\n")
    last = lines[-1]
    body: list[str] = []
    size = len(last) + len(tail) + 2
    for line in lines[:-1]:
        if size + len(line) + 1 > budget.chars:
            break
        body.append(line)
        size += len(line) + 1
    return "\n".join([*body, tail, last])


def button_title(title: str, limit: int) -> str:
    """A button's title cut for a platform's limit at a word break, never inside a word."""
    if len(title) <= limit:
        return title
    cut = title[: limit - 1].rstrip()
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"
