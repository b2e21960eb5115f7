"""Printable QR codes: one per procedure (widget deep link, Telegram start link) and a sheet
of the most asked procedures. A warning when the public address only works on the server."""

from __future__ import annotations

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from channels.web.admin.context import STAFF_ONLY, AdminContext, Context, Staff, render
from channels.web.admin.errors import PREFIX
from knowledge import analytics
from knowledge.errors import NotFoundError

router = APIRouter(prefix=f"{PREFIX}/qr", include_in_schema=False, dependencies=STAFF_ONLY)


def qr_svg(url: str) -> Markup:
    return Markup(segno.make(url, error="m").svg_inline(scale=4, dark="#111", omitsize=False))


def links(ctx: AdminContext, code: str) -> dict[str, str]:
    found = {"web": f"{ctx.settings.public_url}/?p={code}"}
    if ctx.settings.telegram_bot_name:
        # Telegram allows only letters, digits, "_" and "-" in start parameters.
        found["telegram"] = f"https://t.me/{ctx.settings.telegram_bot_name}?start={code.replace('.', '_')}"
    return found


@router.get("", response_class=HTMLResponse)
def qr_sheet(request: Request, ctx: Context, visitor: Staff) -> Response:
    items = [
        (p, links(ctx, p.code)["web"], qr_svg(links(ctx, p.code)["web"]))
        for p in ctx.repo.procedures(analytics.most_asked(ctx.db))
    ]
    return render(
        request, "qr_sheet", visitor, items=items, local_url=ctx.public_url_is_local, public_url=ctx.settings.public_url
    )


@router.get("/{code}", response_class=HTMLResponse)
def qr_page(request: Request, ctx: Context, visitor: Staff, code: str) -> Response:
    p = ctx.repo.procedure(code)
    if p is None:
        raise NotFoundError(f"Không có thủ tục mã {code}.")
    found = links(ctx, code)
    return render(
        request,
        "qr",
        visitor,
        p=p,
        links=found,
        codes={k: qr_svg(v) for k, v in found.items()},
        local_url=ctx.public_url_is_local,
        public_url=ctx.settings.public_url,
    )
