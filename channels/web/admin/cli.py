"""`motcua admin ...`: staff accounts from the command line."""

from __future__ import annotations

import sys

import click

from bot.settings import Settings
from knowledge import staff
from knowledge.db import Database
from knowledge.errors import UsageError


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu"))


@click.group()
def admin() -> None:
    """Quản trị: tài khoản cán bộ."""


@admin.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(staff.ROLES),
    default="editor",
    show_default=True,
    help="editor (biên tập viên): sửa thủ tục, câu hỏi thường gặp, đơn vị; "
    "admin (quản trị viên): như biên tập viên, thêm quyền quản lý tài khoản.",
)
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ stdin (cho script).")
@click.pass_obj
def create_user_cmd(settings: Settings, username: str, role: str, password_stdin: bool) -> None:
    """Tạo tài khoản cán bộ USERNAME (mật khẩu ít nhất 10 ký tự, khó đoán)."""
    db = Database(settings.database_url)
    db.require_initialised()
    made = staff.create_user(db, username, _password(password_stdin), role)
    db.dispose()
    click.echo(f"Đã tạo tài khoản {made.username} ({made.role_label}). Đăng nhập tại /admin.")


@admin.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ stdin (cho script).")
@click.pass_obj
def set_password_cmd(settings: Settings, username: str, password_stdin: bool) -> None:
    """Đặt mật khẩu mới cho USERNAME; mọi phiên đăng nhập của tài khoản kết thúc."""
    db = Database(settings.database_url)
    db.require_initialised()
    found = next((u for u in staff.users(db) if u.username == staff.normalize_username(username)), None)
    if found is None:
        raise UsageError(f"Không có tài khoản {username!r}.")
    staff.set_password(db, found.id, _password(password_stdin))
    db.dispose()
    click.echo(f"Đã đặt mật khẩu mới cho {found.username}; các phiên đăng nhập cũ đã kết thúc.")
