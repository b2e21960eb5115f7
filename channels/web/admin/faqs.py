"""Staff-written answers (câu hỏi thường gặp): list, create, edit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from channels.web.admin.context import STAFF_ONLY, Context, Form, Staff, done, render, user_of
from channels.web.admin.errors import PREFIX, status_for
from channels.web.admin.forms import int_or_none, text
from knowledge import editing
from knowledge.errors import ConflictError
from knowledge.fields import InvalidRecord

router = APIRouter(prefix=f"{PREFIX}/faqs", include_in_schema=False, dependencies=STAFF_ONLY)


@router.get("", response_class=HTMLResponse)
def faqs(request: Request, ctx: Context, visitor: Staff) -> Response:
    return render(request, "faqs", visitor, faqs=ctx.repo.faqs(include_inactive=True))


@router.get("/new", response_class=HTMLResponse)
def faq_new(request: Request, visitor: Staff) -> Response:
    question = request.query_params.get("q", "")[:1000]
    blank = {"questions": [question] if question else [], "answer": "", "procedure": None, "active": True}
    return render(request, "faq_edit", visitor, f=blank, faq_id=None, version=None, errors=[])


@router.get("/{faq_id}", response_class=HTMLResponse)
def faq_edit(request: Request, ctx: Context, visitor: Staff, faq_id: int) -> Response:
    f, version = editing.get_faq(ctx.db, faq_id)
    return render(request, "faq_edit", visitor, f=f, faq_id=faq_id, version=version, errors=[])


@router.post("", response_class=HTMLResponse)
def faq_create(request: Request, ctx: Context, visitor: Staff, form: Form) -> Response:
    return _save(request, ctx, visitor, form, None)


@router.post("/{faq_id}", response_class=HTMLResponse)
def faq_update(request: Request, ctx: Context, visitor: Staff, form: Form, faq_id: int) -> Response:
    return _save(request, ctx, visitor, form, faq_id)


def _save(request: Request, ctx: Context, visitor: Staff, form: Form, faq_id: int | None) -> Response:
    data: dict[str, Any] = {
        "questions": text(form, "questions", 100_000),
        "answer": form.get("answer"),
        "procedure": form.get("procedure"),
        "active": form.get("active") == "on",
    }
    version = int_or_none(form.get("version"))
    try:
        new_id = editing.save_faq(ctx.db, faq_id, data, user_of(visitor), version, ctx.tz)
    except (InvalidRecord, ConflictError) as exc:
        errors = [p.text() for p in exc.problems] if isinstance(exc, InvalidRecord) else [str(exc)]
        shown = {**data, "questions": str(data["questions"]).splitlines()}
        status = status_for(exc)
        return render(
            request, "faq_edit", visitor, status=status, f=shown, faq_id=faq_id, version=version, errors=errors
        )
    ctx.changed()
    message = "Đã tạo câu hỏi thường gặp; trợ lý dùng câu trả lời này ngay." if faq_id is None else "Đã lưu."
    return done(request, f"{PREFIX}/faqs/{new_id}", message)
