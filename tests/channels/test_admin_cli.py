"""`motcua admin create-user` and `set-password`."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from knowledge import staff


def test_create_user_from_the_command_line(kb_copy) -> None:
    runner = CliRunner()
    env = {"MOTCUA_DATABASE_URL": kb_copy.url}
    ok = runner.invoke(
        main,
        ["admin", "create-user", "Hoa", "--role", "admin", "--password-stdin"],
        input="mot-mat-khau-dai\n",
        env=env,
    )
    assert ok.exit_code == 0, ok.output
    assert "Đã tạo tài khoản hoa (Quản trị viên)" in ok.output
    assert staff.authenticate(kb_copy, "hoa ", "mot-mat-khau-dai") is not None
    short = runner.invoke(main, ["admin", "create-user", "minh", "--password-stdin"], input="ngan\n", env=env)
    assert short.exit_code == 2 and "ít nhất 10 ký tự" in short.output
    weak = runner.invoke(main, ["admin", "create-user", "minh", "--password-stdin"], input="1234567890\n", env=env)
    assert weak.exit_code == 2 and "quá dễ đoán" in weak.output
    again = runner.invoke(
        main, ["admin", "create-user", "HOA", "--password-stdin"], input="mot-mat-khau-dai\n", env=env
    )
    assert again.exit_code == 2 and "đã có" in again.output


def test_set_password_ends_the_sessions(kb_copy) -> None:
    runner = CliRunner()
    env = {"MOTCUA_DATABASE_URL": kb_copy.url}
    user = staff.create_user(kb_copy, "lan", "mot-mat-khau-dai", "editor")
    token, _ = staff.open_session(kb_copy, user.id)
    r = runner.invoke(
        main, ["admin", "set-password", "Lan", "--password-stdin"], input="buoi sang uong tra sen\n", env=env
    )
    assert r.exit_code == 0, r.output
    assert staff.session_for(kb_copy, token) is None
    assert staff.authenticate(kb_copy, "lan", "buoi sang uong tra sen") is not None
    missing = runner.invoke(main, ["admin", "set-password", "ai-do", "--password-stdin"], input="x\n", env=env)
    assert missing.exit_code == 2 and "Không có tài khoản" in missing.output
