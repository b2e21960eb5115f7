"""`motcua chat` and `motcua converse` (filled in by the dialogue work)."""

from __future__ import annotations

import click


@click.command()
def chat() -> None:
    """Trò chuyện với trợ lý trong terminal."""
    raise click.ClickException("chưa có")


@click.command()
def converse() -> None:
    """Hội thoại qua JSON lines trên stdin/stdout."""
    raise click.ClickException("chưa có")
