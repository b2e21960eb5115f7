"""`motcua serve`: the web app (REST, widget, Telegram and Zalo webhooks, admin) under uvicorn."""

from __future__ import annotations

import subprocess
import sys

import click

from bot.runtime import model_is_current, open_repository
from bot.settings import Settings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Chạy máy chủ web: khung chat, API REST, webhook Telegram/Zalo, trang quản trị."""
    import uvicorn

    # Train and save the model once, before the workers start and each loads it; in a child
    # process, so this supervising process stays small.
    db, _repo = open_repository(settings, announce=lambda m: click.echo(m, err=True))
    db.dispose()
    if not model_is_current(settings):
        click.echo("Đang huấn luyện mô hình hiểu câu hỏi (chỉ lần đầu, mất vài giây)...", err=True)
        subprocess.run([sys.executable, "-m", "bot", "nlu", "train"], check=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(
        f"Trang mẫu có khung chat: http://{shown}:{port}/   (API: http://{shown}:{port}/docs, "
        f"quản trị: http://{shown}:{port}/admin)",
        err=True,
    )
    uvicorn.run(
        "channels.web.app:factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
