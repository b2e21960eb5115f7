"""The one-stop offices: name, address, hours, hotline — what citizens are told."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from channels.web.admin.context import STAFF_ONLY, Context, Form, Staff, done, render, user_of
from channels.web.admin.errors import PREFIX, status_for
from channels.web.admin.forms import int_or_none
from knowledge import editing
from knowledge.errors import ConflictError
from knowledge.fields import UNIT, InvalidRecord

router = APIRouter(prefix=f"{PREFIX}/units", include_in_schema=False, dependencies=STAFF_ONLY)


@router.get("", response_class=HTMLResponse)
def units(request: Request, ctx: Context, visitor: Staff) -> Response:
    return render(request, "units", visitor, units=ctx.repo.units(), fields=UNIT.fields, errors=[])


@router.post("/{code}", response_class=HTMLResponse)
def unit_save(request: Request, ctx: Context, visitor: Staff, form: Form, code: str) -> Response:
    data = {f.key: form.get(f.key) for f in UNIT.fields}
    try:
        editing.save_unit(ctx.db, code, data, user_of(visitor), int_or_none(form.get("version")), ctx.tz)
    except (InvalidRecord, ConflictError) as exc:
        errors = [p.text() for p in exc.problems] if isinstance(exc, InvalidRecord) else [str(exc)]
        status = status_for(exc)
        return render(
            request, "units", visitor, status=status, units=ctx.repo.units(), fields=UNIT.fields, errors=errors
        )
    ctx.changed()
    return done(request, f"{PREFIX}/units", "Đã lưu thông tin đơn vị; trợ lý dùng thông tin mới ngay.")
