"""`motcua rasa export DIR` and `motcua actions` (the rasa-sdk action server)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.responses import load as load_responses
from bot.runtime import open_repository
from bot.settings import Settings


@click.group()
def rasa() -> None:
    """Làm việc với Rasa 3.6: xuất dự án Rasa dùng chung cơ sở tri thức."""


@rasa.command("export")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--action-port", default=5055, show_default=True, help="Cổng của máy chủ hành động (motcua actions).")
@click.pass_obj
def export_cmd(settings: Settings, target: Path, action_port: int) -> None:
    """Ghi một dự án Rasa 3.6 hoàn chỉnh vào thư mục TARGET."""
    from channels.rasa.export import export_project

    if target.exists() and not target.is_dir():
        raise click.UsageError(f"{target} không phải thư mục.")
    db, repo = open_repository(settings, announce=lambda m: click.echo(m, err=True))
    files = export_project(target, repo.catalog(), load_responses(), repo.unit(settings.default_unit), action_port)
    db.dispose()
    for f in files:
        click.echo(f"  {f}")
    click.echo(f"Đã xuất dự án Rasa vào {target}. Huấn luyện: rasa train (trong thư mục đó).")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5055, show_default=True, type=int)
@click.pass_obj
def actions(settings: Settings, host: str, port: int) -> None:
    """Chạy máy chủ hành động rasa-sdk dùng chung các câu trả lời và cơ sở tri thức."""
    try:
        from rasa_sdk.endpoint import create_app
    except ImportError as exc:  # the optional extra is not installed
        raise click.ClickException("Cần rasa-sdk: pip install '.[rasa]'") from exc
    from bot.assistant import build_assistant
    from channels.rasa.actions import build_executor

    assistant = build_assistant(settings, announce=lambda m: click.echo(m, err=True))
    app = create_app(build_executor(assistant), cors_origins=None)
    click.echo(f"Máy chủ hành động: http://{host}:{port}/webhook", err=True)
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
