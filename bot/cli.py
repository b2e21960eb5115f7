"""The `motcua` command line: composition root that reads settings and wires components."""

from __future__ import annotations

import logging
import sys
from importlib.metadata import entry_points
from typing import Any

import click

from bot.errors import MotcuaError
from bot.settings import Settings


class _Group(click.Group):
    """Turns project errors into one readable line on stderr and their exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MotcuaError as exc:
            click.echo(f"Lỗi: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("\nĐã dừng.", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Ghi nhật ký chi tiết ra stderr.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Trợ lý Một cửa: hướng dẫn thủ tục hành chính cho người dân."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    ctx.obj = Settings.from_env()


def _register() -> None:
    from bot.commands.chat import chat, converse
    from bot.commands.kb import kb
    from bot.commands.nlu import nlu, parse

    for command in (kb, nlu, parse, chat, converse):
        main.add_command(command)
    # Commands of the layers above `bot` (channels) are declared as entry points in
    # pyproject.toml, so `bot` never imports them.
    for ep in entry_points(group="motcua.commands"):
        try:
            main.add_command(ep.load(), ep.name)
        except ImportError as exc:  # an optional extra is not installed
            logging.getLogger(__name__).debug("command %s unavailable: %s", ep.name, exc)


_register()
