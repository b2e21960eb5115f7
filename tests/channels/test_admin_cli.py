"""`motcua admin create-user`."""

from __future__ import annotations

from click.testing import CliRunner

from bot.cli import main
from knowledge import staff


def test_create_user_from_the_command_line(kb_copy) -> None:
    runner = CliRunner()
    env = {"MOTCUA_DATABASE_URL": kb_copy.url}
    ok = runner.invoke(
        main,
        ["admin", "create-user", "hoa", "--role", "admin", "--password-stdin"],
        input="mot-mat-khau-dai\n",
        env=env,
    )
    assert ok.exit_code == 0, ok.output
    assert staff.authenticate(kb_copy, "hoa", "mot-mat-khau-dai") is not None
    short = runner.invoke(main, ["admin", "create-user", "minh", "--password-stdin"], input="ngan\n", env=env)
    assert short.exit_code == 2 and "ít nhất 10 ký tự" in short.output
    again = runner.invoke(
        main, ["admin", "create-user", "hoa", "--password-stdin"], input="mot-mat-khau-dai\n", env=env
    )
    assert again.exit_code == 2 and "đã có" in again.output
