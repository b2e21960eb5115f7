"""`motcua serve`: the web app (REST, widget, Telegram and Zalo webhooks, admin) under uvicorn."""

from __future__ import annotations

import os
import sys

import click

from bot.settings import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Chạy máy chủ web: khung chat, API REST, webhook Telegram/Zalo, trang quản trị."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(
        f"Trang mẫu có khung chat: http://{shown}:{port}/   (API: http://{shown}:{port}/docs, "
        f"quản trị: http://{shown}:{port}/admin)",
        err=True,
    )
    # This process has imported every command (the model's libraries with them): it becomes the
    # small supervisor instead, same pid, so a SIGTERM sent to it stops the whole server.
    # See channels/web/server.py for the processes it runs.
    verbose = ["--verbose"] if _verbose() else []
    sys.stdout.flush()
    sys.stderr.flush()
    argv = [sys.executable, "-m", "channels.web.server", "supervise", "--host", host, "--port", str(port)]
    os.execv(sys.executable, [*argv, "--workers", str(workers), *verbose])


def _verbose() -> bool:
    import logging

    return logging.getLogger().getEffectiveLevel() <= logging.DEBUG
