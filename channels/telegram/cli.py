"""`motcua telegram`: run the Telegram bot with long polling (no public address needed)."""

from __future__ import annotations

import click

from bot.assistant import build_assistant
from bot.errors import ConfigError
from bot.settings import Settings


@click.command()
@click.pass_obj
def telegram(settings: Settings) -> None:
    """Chạy bot Telegram bằng long polling (cần MOTCUA_TELEGRAM_TOKEN)."""
    if not settings.telegram_token:
        raise ConfigError("Chưa đặt MOTCUA_TELEGRAM_TOKEN (mã bot do @BotFather cấp).")
    from channels.telegram.adapter import TelegramAdapter

    assistant = build_assistant(settings, announce=lambda m: click.echo(m, err=True))
    assistant.warm_up()
    adapter = TelegramAdapter(settings, assistant)
    click.echo("Bot Telegram đang chạy (long polling). Ctrl+C để dừng.", err=True)
    from telegram.ext import Updater

    # Polling needs an updater, which the webhook mode leaves out.
    adapter.application.updater = Updater(adapter.application.bot, update_queue=adapter.application.update_queue)
    adapter.application.run_polling(allowed_updates=["message", "edited_message", "callback_query"])
