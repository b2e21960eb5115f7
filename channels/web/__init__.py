"""The ASGI app serving every web-facing channel: REST, widget, Telegram and Zalo webhooks, admin."""
