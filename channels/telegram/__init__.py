"""Telegram channel (python-telegram-bot v22): long polling or a webhook inside `motcua serve`."""
