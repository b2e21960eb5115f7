"""Papers to prepare (thành phần hồ sơ) and forms (mẫu đơn, tờ khai).

The papers every applicant brings come first — the declaration form, the identity paper, the
main proof — each in its first meaningful phrase; the papers of a case ("Trường hợp ủy quyền…")
follow in a second part that folds into one line of case names on a small screen. Core or case
is the role parsed at import time (`DocumentInfo.role`); nothing is decided here from words.
"""

from __future__ import annotations

import re

from bot.actions.base import ActionContext, aspect_buttons
from bot.actions.wording import (
    capital,
    case_label,
    channel_note,
    cut_phrase,
    first_phrase,
    paper_key,
    split_case,
    without_own_name,
)
from bot.render import compose
from bot.types import Item, Reply, Section
from knowledge.parsing import identity_mention, vague_heading
from knowledge.types import DocumentGroup, DocumentInfo, DocumentRole

_UNSPECIFIED_RE = re.compile(r"^(?:Các\s+)?giấy tờ(?:, tài liệu)? của(?:\s+\w+){1,3}$", re.IGNORECASE)
"""A paper named only by whose it is ("Giấy tờ của chủ xe")."""
FOLD_PAPER_LIMIT = 60
"""A paper's short name this long may stand for its case in the folded line of cases."""
PAPER_WORDS = frozenset(
    [
        "giấy",
        "văn",
        "bản",
        "tờ",
        "đơn",
        "hợp",
        "chứng",
        "quyết",
        "sổ",
        "thẻ",
        "phiếu",
        "biên",
        "hồ",
        "danh",
        "ảnh",
        "trích",
        "sơ",
    ]
)
"""First words of a paper's name ("Giấy tờ…", "Văn bản…", "Biên bản…"): only a paper so named
stands for its case ("Việc ủy quyền thực hiện…" is no paper)."""
CASES_IN_FOLD = 4
"""Case names listed in the folded line before "…"."""
_ENUM_RE = re.compile(r"^\s*\(?(?P<n>\d+|[a-zđ]|[ivx]+)[).]\s", re.IGNORECASE)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
_LETTERS = "abcdđeghiklmnopqrstuvxy"


def _count(ctx: ActionContext, d: DocumentInfo) -> str:
    if d.originals and d.copies:
        return ctx.say("documents_count", originals=d.originals, copies=d.copies)
    if d.originals:
        return ctx.say("documents_count_originals", originals=d.originals)
    if d.copies:
        return ctx.say("documents_count_copies", copies=d.copies)
    return ctx.say("documents_count_unknown")


def document_line(ctx: ActionContext, d: DocumentInfo) -> str:
    """A paper's whole name as the record writes it, with its count."""
    return f"{d.name.rstrip(' ;.')} — {_count(ctx, d)}"


def _short_count(ctx: ActionContext, d: DocumentInfo) -> str:
    """The count, when it is not the usual single original."""
    if d.group is DocumentGroup.PRESENT:
        return ctx.say("documents_present")
    if d.originals == 1 and not d.copies:
        return ""
    if not d.originals and not d.copies:
        return ""
    return _count(ctx, d)


def core_line(ctx: ActionContext, d: DocumentInfo) -> str:
    """ "Tờ khai đăng ký khai sinh (khi nộp trực tiếp, bưu chính)", "Giấy chứng sinh"."""
    text = without_own_name(first_phrase(d.name), ctx.procedure.name)
    if _UNSPECIFIED_RE.match(text):
        # "Giấy tờ của chủ xe theo quy định": the record names whose papers, not which.
        text = ctx.say("documents_unspecified", paper=text)
    notes = []
    channels = channel_note(d.condition or d.name)
    if channels:
        notes.append(ctx.say("documents_channels", channels=", ".join(channels)))
    count = _short_count(ctx, d)
    if count:
        notes.append(count)
    if d.group is DocumentGroup.PRESENT and notes and notes[-1] == ctx.say("documents_present"):
        notes.pop()
        text = f"{text} — {ctx.say('documents_present')}"
    return f"{text} ({'; '.join(notes)})" if notes else text


def _paper(d: DocumentInfo) -> str:
    """The paper a case row asks for, without the case it opens with."""
    heading = vague_heading(d.name)
    if heading is not None and d.condition is None:
        # "Một số giấy tờ khác: a) Xe cải tạo… thì phải có thêm…": the cases are the paper.
        return capital(first_phrase(heading[1]))
    _case, paper = split_case(d.name)
    return capital(first_phrase(paper))


def case_name(ctx: ActionContext, d: DocumentInfo) -> str:
    """What the case is called, from the row's own condition (or, for a row that lists cases
    under a heading, from the first of them)."""
    condition = d.condition or ""
    if condition.strip().lower() in ("nếu có", "nếu có yêu cầu"):
        return ""
    lead, _paper_text = split_case(d.name)
    heading = vague_heading(d.name)
    if not lead and not condition and heading is not None:
        return case_label(heading[1], ctx.procedure.name)
    return case_label(lead or condition, ctx.procedure.name)


def case_line(ctx: ActionContext, d: DocumentInfo) -> str:
    name = case_name(ctx, d)
    paper = _paper(d)
    if not name and (d.condition or "").strip().lower() in ("nếu có", "nếu có yêu cầu"):
        return ctx.say("documents_if_any", paper=paper)
    if not name:
        return paper
    return ctx.say("documents_case_line", case=capital(name), paper=paper)


def _enumerator(name: str) -> int | None:
    m = _ENUM_RE.match(name)
    if not m:
        return None
    token = m.group("n").lower()
    if token.isdigit():
        return int(token)
    if token in _ROMAN and (len(token) > 1 or token in ("i", "v", "x")):
        return _ROMAN[token]
    return _LETTERS.index(token) + 1 if token in _LETTERS else None


def in_order(docs: list[DocumentInfo]) -> list[DocumentInfo]:
    """The record's order, except that rows it numbers ("(iv)", "(v)", "(ii)"… or "b)", "a)")
    are put back in their numbered order within the places they take."""
    numbered = [(i, n) for i, d in enumerate(docs) if (n := _enumerator(d.name)) is not None]
    if len(numbered) < 2:
        return docs
    slots = [i for i, _ in numbered]
    ordered = [docs[i] for i, _ in sorted(numbered, key=lambda t: (t[1], t[0]))]
    out = list(docs)
    for slot, d in zip(slots, ordered, strict=True):
        out[slot] = d
    return out


def _unique(lines: list[tuple[Item, DocumentInfo]]) -> list[tuple[Item, DocumentInfo]]:
    """One line per paper when the record repeats it (the same CT01 declaration under every
    variant), the whole wording of every row kept."""
    seen: dict[str, int] = {}
    out: list[tuple[Item, DocumentInfo]] = []
    for item, d in lines:
        key = paper_key(item.text)
        if key in seen:
            k = seen[key]
            prev, pd = out[k]
            if item.full and item.full not in prev.full:
                out[k] = (Item(prev.text, f"{prev.full}\n   {item.full}"), pd)
            continue
        seen[key] = len(out)
        out.append((item, d))
    return out


def documents(ctx: ActionContext) -> list[Reply]:
    papers = [d for d in ctx.procedure.documents if not d.is_note]
    if not papers:
        return [Reply(ctx.say("documents_none"), aspect_buttons(ctx, "fee", "time", "where"))]
    core = in_order(sorted((d for d in papers if d.role is not DocumentRole.CASE), key=lambda d: d.role.rank))
    cases = in_order([d for d in papers if d.role is DocumentRole.CASE])
    core_items = _unique([(Item(core_line(ctx, d), document_line(ctx, d)), d) for d in core])
    identity = _identity_item(ctx, core)
    if identity is not None:
        # Right after the forms: the list may be cut on a small screen, and this line is the
        # only place the answer says to bring the identity paper.
        at = sum(1 for _, d in core_items if d.role is DocumentRole.FORM)
        core_items.insert(at, identity)
    case_items = _unique([(Item(case_line(ctx, d), _case_full(ctx, d)), d) for d in cases])
    sections = []
    if core_items:
        sections.append(Section(items=tuple(i for i, _ in core_items), numbered=True))
    if case_items:
        groups: dict[str, list[str]] = {}
        for d in cases:
            name = case_name(ctx, d) or _paper(d).lower()
            paper = _paper(d)
            first_word = paper.split(" ", 1)[0].lower()
            if (
                name.endswith("…")
                and not paper.endswith("…")
                and len(paper) <= FOLD_PAPER_LIMIT
                and first_word in PAPER_WORDS
            ):
                # A case that takes a long sentence to say ("cơ quan đăng ký hộ tịch không thể
                # khai thác…") is named by the paper it asks for instead.
                name = paper[:1].lower() + paper[1:] if not paper[:2].isupper() else paper
            groups.setdefault(" ".join(name.split()[:2]), []).append(name)
        # Cases that open with the same words ("ủy quyền cho cá nhân…", "ủy quyền cho tổ
        # chức…") are named once by the words they share.
        names = [v[0] if len(set(v)) == 1 else _common_words(v) for v in groups.values()]
        more = len(names) > CASES_IN_FOLD
        listed = "; ".join(names[:CASES_IN_FOLD])
        listed = listed.rstrip("…") + "…" if more else listed + ("" if listed.endswith("…") else ".")
        folds: tuple[str, ...] = (
            ctx.say("documents_cases_fold", cases=listed),
            ctx.say("documents_cases_fold", cases="; ".join(names[:2]).rstrip("…") + "…"),
            ctx.say("documents_cases_count", n=len(names)),
        )
        if len(names) <= 2:
            folds = (folds[0], folds[2])
        header = "documents_cases_header" if core_items else "documents_variants_header"
        # Without core papers the cases are the answer: their papers are listed, not folded.
        folds = folds if core_items else ()
        sections.append(Section(ctx.say(header), tuple(i for i, _ in case_items), numbered=not core_items, folds=folds))
    reply = compose(ctx.say("documents_header"), sections, aspect_buttons(ctx, "forms", "fee", "where"))
    return [reply]


IDENTITY_LIMIT = 100
"""The words asking for an identity paper outside the list are cut at a phrase past this."""


def _identity_item(ctx: ActionContext, core: list[DocumentInfo]) -> tuple[Item, DocumentInfo] | None:
    """The identity paper the steps, conditions or notes ask to show when the list of papers
    names none ("xuất trình giấy chứng minh nhân dân hoặc thẻ Căn cước công dân…"), in those
    words and saying where they stand."""
    if any(d.role is DocumentRole.IDENTITY for d in core):
        return None
    p = ctx.procedure
    found = identity_mention(p.steps, p.requirements or "", [d.name for d in p.documents if d.is_note])
    if found is None:
        return None
    where, words = found
    where_words = ctx.say(f"documents_identity_where_{where}")
    short = ctx.say("documents_identity", paper=capital(cut_phrase(words, IDENTITY_LIMIT)), where=where_words)
    row = DocumentInfo(words, 0, 0, DocumentGroup.PRESENT, None, (), None, words, DocumentRole.IDENTITY)
    return Item(short, ctx.say("documents_identity", paper=capital(words), where=where_words)), row


_DANGLING = {"cho", "của", "do", "tại", "thuộc", "về", "vào", "với", "và", "hoặc", "theo", "đối"}


def _common_words(names: list[str]) -> str:
    """The words several case names start with, without a dangling "cho", "của"…"""
    words = names[0].rstrip("…").split()
    for other in names[1:]:
        ow = other.rstrip("…").split()
        n = 0
        while n < min(len(words), len(ow)) and words[n] == ow[n]:
            n += 1
        words = words[:n]
    while words and words[-1] in _DANGLING:
        words.pop()
    return " ".join(words) or names[0]


def _case_full(ctx: ActionContext, d: DocumentInfo) -> str:
    """A case row whole: its name, its count, and the case when the name does not say it."""
    line = document_line(ctx, d)
    if d.condition and d.condition.lower() not in d.name.lower():
        line += f" ({d.condition})"
    return line


def forms(ctx: ActionContext) -> list[Reply]:
    """The declaration forms the record names (role FORM, matched on words at import), with the
    form files attached to them; never ordinary papers ("đơn vị" is no "đơn")."""
    declared = [d for d in ctx.procedure.documents if not d.is_note and d.role is DocumentRole.FORM]
    buttons = aspect_buttons(ctx, "documents", "online")
    if not declared and not ctx.procedure.forms:
        return [Reply(ctx.say("forms_none"), buttons)]
    items: list[Item] = []
    seen: set[str] = set()
    for d in declared:
        line = core_line(ctx, d)
        key = paper_key(line)
        if d.forms:
            line += f" — {ctx.say('forms_files', files=', '.join(d.forms))}"
        if key in seen:
            continue
        seen.add(key)
        items.append(Item(line, document_line(ctx, d)))
    loose = [f for f in ctx.procedure.forms if not any(f in d.forms for d in declared)]
    items += [Item(f) for f in loose]
    sections = [Section(items=tuple(items)), Section(items=(Item(ctx.say("forms_portal")),), bullet="")]
    return [compose(ctx.say("forms_header"), sections, buttons)]
