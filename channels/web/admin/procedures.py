"""Finding and editing procedures: name, aliases, popularity, submission channels with their
time and fee, documents. A save someone else overtook is refused, and the page then lists
what the officer had changed so nothing typed is lost."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from channels.web.admin.context import STAFF_ONLY, Context, Form, Staff, done, render, user_of
from channels.web.admin.errors import PREFIX
from channels.web.admin.forms import int_or_none, procedure_from_form
from knowledge import editing
from knowledge.errors import ConflictError
from knowledge.fields import CHANNEL_FIELDS, DOCUMENT_FIELDS, PROCEDURE, InvalidRecord, describe

router = APIRouter(prefix=f"{PREFIX}/procedures", include_in_schema=False, dependencies=STAFF_ONLY)

SUGGESTIONS = 12


@router.get("", response_class=HTMLResponse)
def procedures(request: Request, ctx: Context, visitor: Staff) -> Response:
    q = request.query_params.get("q", "")[:200]
    hits = ctx.repo.search(q, limit=50) if q.strip() else []
    popular = sorted((p for p in ctx.repo.catalog() if p.popularity > 0), key=lambda p: -p.popularity)
    return render(request, "procedures", visitor, q=q, hits=hits, popular=popular[:30])


@router.get("/suggest")
def suggest(request: Request, ctx: Context) -> Response:
    """Procedures whose name or alias has every word typed (for the search boxes)."""
    q = request.query_params.get("q", "")[:200]
    hits = ctx.repo.search(q, limit=SUGGESTIONS) if q.strip() else []
    return JSONResponse([{"code": p.code, "name": p.name} for p in hits])


def edit_page(
    request: Request,
    ctx: Context,
    visitor: Staff,
    code: str,
    *,
    errors: list[str] | None = None,
    data: dict[str, Any] | None = None,
    version: int | None = None,
    unsaved: list[Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    snapshot, current_version = editing.get_procedure_snapshot(ctx.db, code)
    return render(
        request,
        "procedure_edit",
        visitor,
        status=status,
        p=data or snapshot,
        version=version if version is not None else current_version,
        errors=errors or [],
        unsaved=unsaved or [],
        channel_fields=CHANNEL_FIELDS,
        document_fields=DOCUMENT_FIELDS,
        code=code,
        history=editing.audit_log(ctx.db, 20, "procedure", code),
    )


@router.get("/{code}", response_class=HTMLResponse)
def procedure_edit(request: Request, ctx: Context, visitor: Staff, code: str) -> Response:
    return edit_page(request, ctx, visitor, code)


@router.post("/{code}", response_class=HTMLResponse)
def procedure_save(request: Request, ctx: Context, visitor: Staff, form: Form, code: str) -> Response:
    data = procedure_from_form(form)
    version = int_or_none(form.get("version"))
    try:
        editing.update_procedure(ctx.db, code, data, user_of(visitor), version, ctx.tz)
    except InvalidRecord as exc:
        return edit_page(
            request,
            ctx,
            visitor,
            code,
            errors=[p.text() for p in exc.problems],
            data={**data, "code": code},
            version=version,
            status=400,
        )
    except ConflictError as exc:
        current, _ = editing.get_procedure_snapshot(ctx.db, code)
        try:
            theirs = editing.clean_procedure(data)
            unsaved = describe(PROCEDURE, editing.clean_procedure(current), theirs)
        except InvalidRecord:
            unsaved = []
        return edit_page(request, ctx, visitor, code, errors=[str(exc)], unsaved=unsaved, status=409)
    ctx.changed()
    return done(request, f"{PREFIX}/procedures/{code}", "Đã lưu. Trợ lý trả lời theo nội dung mới ngay.")
