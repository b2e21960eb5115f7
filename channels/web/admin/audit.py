"""The audit log: who changed what and when (only the changed parts, before → after), and
reverting one change without undoing a colleague's later one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from channels.web.admin.context import STAFF_ONLY, Context, Form, Staff, done, render, user_of
from channels.web.admin.errors import PREFIX
from channels.web.admin.forms import int_or_none
from knowledge import editing

router = APIRouter(prefix=f"{PREFIX}/audit", include_in_schema=False, dependencies=STAFF_ONLY)

PAGE_SIZE = 50


@router.get("", response_class=HTMLResponse)
def audit(request: Request, ctx: Context, visitor: Staff) -> Response:
    page = max(1, int_or_none(request.query_params.get("trang")) or 1)
    total = editing.audit_count(ctx.db)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(page, pages)
    entries = editing.audit_log(ctx.db, PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(request, "audit", visitor, entries=entries, page=page, pages=pages, total=total)


@router.post("/{entry_id}/revert")
def audit_revert(request: Request, ctx: Context, visitor: Staff, _form: Form, entry_id: int) -> Response:
    done_entry = editing.revert(ctx.db, entry_id, user_of(visitor), ctx.tz)
    ctx.changed()
    parts = ", ".join(c.label for c in done_entry.changes[:6]) or "không có phần nào"
    return done(
        request,
        f"{PREFIX}/audit",
        f"Đã hoàn tác thay đổi số {entry_id} ({done_entry.entity_label} {done_entry.key}): {parts}.",
    )
