"""The inbox: questions the assistant could not answer, answers rated wrong, requests for a
staff member, similar ones grouped. From a group an officer adds an alias (choosing among
the procedures the assistant considered, or searching) or writes an FAQ. Only the questions
the new knowledge really answers are marked handled: after an alias the matcher reads each
question of the group again; an FAQ takes the questions the officer ticked."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from channels.web.admin.context import STAFF_ONLY, AdminContext, Context, Form, Staff, done, render, user_of
from channels.web.admin.errors import PREFIX
from channels.web.admin.forms import ids, text
from knowledge import editing, inbox
from knowledge.errors import UsageError
from knowledge.inbox import InboxGroup
from knowledge.types import InboxReason, ProcedureSummary

router = APIRouter(prefix=f"{PREFIX}/inbox", include_in_schema=False, dependencies=STAFF_ONLY)

SUGGESTED = 5
"""Procedures offered for an alias: the assistant's closest candidates."""
_CODE = re.compile(r"\b(\d\.\d{6})\b")


@dataclass(frozen=True, slots=True)
class GroupView:
    """A group of similar questions with the procedures the assistant considered for them."""

    group: InboxGroup
    suggestions: tuple[ProcedureSummary, ...]

    @property
    def about_procedures(self) -> bool:
        """False when every question of the group only asked for a staff member: an alias
        would not answer anything there."""
        return any(e.reason != InboxReason.HUMAN for e in self.group.entries)


def _suggestions(ctx: AdminContext, groups: list[InboxGroup]) -> list[GroupView]:
    engine = ctx.assistant.snapshot().engine
    results = engine.parse_many([g.newest.question for g in groups])
    by_code = {p.code: p for p in ctx.repo.catalog(include_inactive=True)}
    views = []
    for group, result in zip(groups, results, strict=True):
        codes = [e.procedure for e in group.entries if e.procedure]
        codes += [c.code for c in result.candidates]
        found = [by_code[c] for c in dict.fromkeys(codes) if c in by_code][:SUGGESTED]
        views.append(GroupView(group, tuple(found)))
    return views


@router.get("", response_class=HTMLResponse)
def inbox_page(request: Request, ctx: Context, visitor: Staff) -> Response:
    groups = _suggestions(ctx, inbox.grouped(ctx.db))
    return render(request, "inbox", visitor, groups=groups, reasons=inbox.REASONS)


@router.post("/handle")
def inbox_handle(request: Request, ctx: Context, visitor: Staff, form: Form) -> Response:
    n = inbox.mark_handled(ctx.db, ids(form), user_of(visitor))
    return done(request, f"{PREFIX}/inbox", f"Đã đánh dấu {n} câu hỏi là đã xử lý.")


def _chosen_procedure(ctx: AdminContext, form: Form) -> ProcedureSummary:
    """The procedure picked among the suggestions, or found with the search box (a code, or
    words naming exactly one procedure)."""
    picked = text(form, "code", 40).strip()
    if not picked or picked == "other":
        picked = text(form, "search", 300).strip()
    if not picked:
        raise UsageError("Hãy chọn một thủ tục trong danh sách gợi ý hoặc tìm theo tên.")
    m = _CODE.search(picked)
    if m:
        found = [p for p in ctx.repo.catalog(include_inactive=True) if p.code == m.group(1)]
        if not found:
            raise UsageError(f"Không có thủ tục mã {m.group(1)}.")
        return found[0]
    hits = ctx.repo.search(picked, limit=2)
    if len(hits) != 1:
        raise UsageError(
            f"“{picked[:80]}” "
            + ("không khớp thủ tục nào" if not hits else "khớp nhiều thủ tục")
            + ". Hãy chọn một thủ tục trong danh sách hiện ra khi gõ tìm."
        )
    return hits[0]


@router.post("/alias")
def inbox_alias(request: Request, ctx: Context, visitor: Staff, form: Form) -> Response:
    procedure = _chosen_procedure(ctx, form)
    alias = text(form, "alias", 400).strip()
    added = editing.add_alias(ctx.db, procedure.code, alias, user_of(visitor))
    ctx.changed()
    # Read every question of the group again with the new alias: only those now understood as
    # this procedure are handled; the others stay for another answer.
    waiting = inbox.open_items(ctx.db, ids=ids(form))
    results = ctx.assistant.snapshot().engine.parse_many([e.question for e in waiting])
    answered = [e.id for e, r in zip(waiting, results, strict=True) if r.named and r.named.code == procedure.code]
    inbox.mark_handled(ctx.db, answered, user_of(visitor))
    what = f"Đã thêm tên gọi “{alias}”" if added else f"Thủ tục đã có tên gọi “{alias}”"
    message = f"{what} cho thủ tục {procedure.code} ({procedure.name[:80]}). "
    message += (
        f"{len(answered)}/{len(waiting)} câu hỏi của nhóm nay được trợ lý hiểu đúng thủ tục này "
        "và đã được đánh dấu đã xử lý."
    )
    left = len(waiting) - len(answered)
    if left:
        message += f" {left} câu vẫn chờ: trợ lý chưa hiểu chúng là thủ tục này."
    return done(request, f"{PREFIX}/inbox", message)


@router.post("/faq")
def inbox_faq(request: Request, ctx: Context, visitor: Staff, form: Form) -> Response:
    waiting = {e.id: e for e in inbox.open_items(ctx.db, ids=ids(form))}
    ticked = [i for i in ids(form, "answers") if i in waiting]
    questions = [text(form, "question", 1000)] + [waiting[i].question for i in ticked]
    data = {
        "questions": questions,
        "answer": form.get("answer"),
        "procedure": text(form, "procedure", 40).strip() or None,
        "active": True,
    }
    new_id = editing.save_faq(ctx.db, None, data, user_of(visitor), tz=ctx.tz)
    ctx.changed()
    inbox.mark_handled(ctx.db, ticked, user_of(visitor))
    left = len(waiting) - len(ticked)
    message = (
        f"Đã tạo câu hỏi thường gặp (mã số {new_id}) với {len(set(questions))} cách hỏi; "
        f"{len(ticked)} câu hỏi đã được đánh dấu đã xử lý."
    )
    if left:
        message += f" {left} câu không được chọn vẫn chờ."
    return done(request, f"{PREFIX}/inbox", message)
