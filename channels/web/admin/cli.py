"""`motcua admin ...`: staff accounts from the command line."""

from __future__ import annotations

import sys

import click

from bot.settings import Settings
from knowledge.db import Database
from knowledge.staff import ROLES, create_user


@click.group()
def admin() -> None:
    """Quản trị: tài khoản cán bộ."""


@admin.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="editor",
    show_default=True,
    help="editor: sửa thủ tục, câu hỏi thường gặp, đơn vị; admin: như editor, thêm quyền quản lý tài khoản.",
)
@click.option("--password-stdin", is_flag=True, help="Đọc mật khẩu từ stdin (cho script).")
@click.pass_obj
def create_user_cmd(settings: Settings, username: str, role: str, password_stdin: bool) -> None:
    """Tạo tài khoản cán bộ USERNAME (mật khẩu ít nhất 10 ký tự)."""
    db = Database(settings.database_url)
    db.require_initialised()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu")
    staff = create_user(db, username, password, role)
    db.dispose()
    click.echo(f"Đã tạo tài khoản {staff.username} ({staff.role}). Đăng nhập tại /admin.")
