"""Staff accounts (administrators only): create, lock and unlock. Locking ends the account's
sessions at once."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from channels.web.admin.context import ADMIN_ONLY, Context, Form, Staff, done, render
from channels.web.admin.errors import PREFIX
from channels.web.admin.forms import text
from knowledge import staff
from knowledge.errors import UsageError

router = APIRouter(prefix=f"{PREFIX}/users", include_in_schema=False, dependencies=ADMIN_ONLY)


def _page(request: Request, ctx: Context, visitor: Staff, status: int = 200, error: str | None = None) -> Response:
    roles = [(r, staff.ROLE_LABELS[r]) for r in staff.ROLES]
    return render(request, "users", visitor, status=status, users=staff.users(ctx.db), roles=roles, error=error)


@router.get("", response_class=HTMLResponse)
def users_page(request: Request, ctx: Context, visitor: Staff) -> Response:
    return _page(request, ctx, visitor)


@router.post("", response_class=HTMLResponse)
def users_create(request: Request, ctx: Context, visitor: Staff, form: Form) -> Response:
    try:
        made = staff.create_user(
            ctx.db, text(form, "username", 200), text(form, "password", 300), text(form, "role", 20)
        )
    except UsageError as exc:
        return _page(request, ctx, visitor, status=400, error=str(exc))
    return done(request, f"{PREFIX}/users", f"Đã tạo tài khoản {made.username} ({made.role_label}).")


@router.post("/{user_id}/active", response_class=HTMLResponse)
def users_active(request: Request, ctx: Context, visitor: Staff, form: Form, user_id: int) -> Response:
    if visitor.user and visitor.user.id == user_id:
        raise UsageError("Không thể tự khóa tài khoản của mình.")
    active = form.get("active") == "on"
    staff.set_active(ctx.db, user_id, active)
    found = staff.user(ctx.db, user_id)
    name = found.username if found else str(user_id)
    message = (
        f"Đã mở khóa tài khoản {name}."
        if active
        else f"Đã khóa tài khoản {name}; các phiên đăng nhập của tài khoản này đã kết thúc."
    )
    return done(request, f"{PREFIX}/users", message)
