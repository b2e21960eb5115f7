"""Logging in and out, and changing one's own password.

Failed logins slow down the account (a delay that doubles, never a lock) and, far above an
office's normal mistakes, the address; a browser that signed in as that colleague before is
kept out of a delay someone else caused."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from channels.web.admin.context import (
    STAFF_ONLY,
    Context,
    Form,
    Staff,
    current_visitor,
    done,
    read_form,
    render,
    user_of,
)
from channels.web.admin.errors import PREFIX, FormExpired
from channels.web.admin.forms import text
from channels.web.admin.sessions import Visitor
from knowledge import staff
from knowledge.errors import UsageError

router = APIRouter(prefix=PREFIX, include_in_schema=False)
account = APIRouter(prefix=PREFIX, include_in_schema=False, dependencies=STAFF_ONLY)

Anyone = Annotated[Visitor | None, Depends(current_visitor)]


async def login_form(request: Request, visitor: Anyone) -> AsyncIterator[FormData]:
    """The login form, once its token matched the one handed out with the page."""
    async for form in read_form(request, visitor):
        yield form


def _wait_text(seconds: float) -> str:
    if seconds < 60:
        return f"{math.ceil(seconds)} giây"
    return f"{math.ceil(seconds / 60)} phút"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, ctx: Context, visitor: Anyone) -> Response:
    if visitor and visitor.user:
        return RedirectResponse(PREFIX, status_code=303)
    if visitor is not None:  # a login page open in another tab keeps working
        return render(request, "login", visitor, error=None)
    fresh, cookie = ctx.cookies.anonymous()
    response = render(request, "login", fresh, error=None)
    ctx.cookies.set_anonymous(response, cookie)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, ctx: Context, visitor: Anyone, form: Annotated[FormData, Depends(login_form)]) -> Response:
    username = staff.normalize_username(text(form, "username", 100))
    password = text(form, "password", staff.PASSWORD_MAX)
    address = request.client.host if request.client else "?"
    device = ctx.cookies.device_key(request, username)
    key = device or staff.account_key(username)
    if staff.address_blocked(ctx.db, address):
        return render(
            request,
            "login",
            visitor,
            status=429,
            error="Có quá nhiều lần đăng nhập sai từ địa chỉ mạng này. Vui lòng thử lại sau 15 phút.",
        )
    wait = staff.login_wait(ctx.db, key)
    if wait > 0:
        return render(
            request,
            "login",
            visitor,
            status=429,
            error=f"Tài khoản này vừa bị nhập sai mật khẩu nhiều lần. Vui lòng chờ {_wait_text(wait)} rồi thử lại.",
            username=username,
        )
    found = staff.authenticate(ctx.db, username, password)
    if found is None:
        staff.record_failed_login(ctx.db, [key, staff.address_key(address)])
        return render(
            request, "login", visitor, status=401, error="Sai tên đăng nhập hoặc mật khẩu.", username=username
        )
    staff.clear_failed_logins(ctx.db, [key, staff.account_key(username)])
    response = RedirectResponse(PREFIX, status_code=303)
    ctx.cookies.start_session(response, found)
    ctx.cookies.remember_device(response, found)
    return response


@account.post("/logout")
def logout(ctx: Context, visitor: Staff, _form: Form) -> Response:
    if visitor.token:
        staff.end_session(ctx.db, visitor.token)
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    ctx.cookies.end(response)
    return response


@account.get("/password", response_class=HTMLResponse)
def password_page(request: Request, visitor: Staff) -> Response:
    return render(request, "password", visitor, error=None)


@account.post("/password", response_class=HTMLResponse)
def password_change(request: Request, ctx: Context, visitor: Staff, form: Form) -> Response:
    new = text(form, "new", staff.PASSWORD_MAX + 1)
    if new != text(form, "again", staff.PASSWORD_MAX + 1):
        return render(request, "password", visitor, status=400, error="Hai lần nhập mật khẩu mới không giống nhau.")
    if visitor.user is None:
        raise FormExpired
    try:
        staff.change_password(ctx.db, visitor.user.id, text(form, "current", staff.PASSWORD_MAX), new, visitor.token)
    except UsageError as exc:
        return render(request, "password", visitor, status=400, error=str(exc))
    return done(
        request,
        PREFIX,
        f"Đã đổi mật khẩu của {user_of(visitor)}. Các phiên đăng nhập khác của tài khoản này đã kết thúc.",
    )
