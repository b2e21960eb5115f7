"""Import and export of procedures and FAQs (Excel, YAML): bulk edits in a spreadsheet."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from channels.web.admin.context import STAFF_ONLY, Context, Form, Staff, render, user_of
from channels.web.admin.errors import PREFIX, UploadTooLarge
from knowledge import transfer
from knowledge.errors import NotFoundError, UsageError

router = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=STAFF_ONLY)

MAX_UPLOAD = 16 * 1024 * 1024
"""The whole catalog exports to about 1.6 MB of Excel or 10 MB of YAML."""
ERRORS_SHOWN = 200
_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "yaml": "application/x-yaml; charset=utf-8",
}


@router.get("/transfer", response_class=HTMLResponse)
def transfer_page(request: Request, visitor: Staff) -> Response:
    return render(request, "transfer", visitor, errors=[], result=None)


@router.get("/export.{fmt}")
def export(request: Request, ctx: Context, fmt: str) -> Response:
    if fmt not in _TYPES:
        raise NotFoundError("Định dạng không hỗ trợ (chỉ có .xlsx và .yaml).")
    codes = [c for c in request.query_params.get("codes", "").replace(",", " ").split() if c] or None
    content = transfer.export_xlsx(ctx.db, codes) if fmt == "xlsx" else transfer.export_yaml(ctx.db, codes)
    stamp = datetime.now(ctx.tz).strftime("%Y%m%d-%H%M")
    return Response(
        content,
        media_type=_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="thu-tuc-{stamp}.{fmt}"'},
    )


@router.post("/import", response_class=HTMLResponse)
def import_file(request: Request, ctx: Context, visitor: Staff, form: Form) -> Response:
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(request, "transfer", visitor, status=400, errors=["Chưa chọn tệp."], result=None)
    content = upload.file.read(MAX_UPLOAD + 1)
    if len(content) > MAX_UPLOAD:
        raise UploadTooLarge(f"Tệp quá lớn (tối đa {MAX_UPLOAD // (1024 * 1024)} MB).")
    try:
        plan = transfer.plan_import(ctx.db, content, upload.filename, ctx.tz)
        if plan.errors:
            return render(
                request,
                "transfer",
                visitor,
                status=400,
                errors=plan.errors[:ERRORS_SHOWN],
                more=max(0, len(plan.errors) - ERRORS_SHOWN),
                result=None,
            )
        result = transfer.apply_import(ctx.db, plan, user_of(visitor))
    except UsageError as exc:
        return render(request, "transfer", visitor, status=400, errors=[str(exc)], result=None)
    ctx.changed()
    return render(request, "transfer", visitor, errors=[], result=result)
