"""Translate Telegram updates to IncomingMessage and replies to messages with inline keyboards.
No dialogue logic here: the assistant decides what to say."""

from __future__ import annotations

import asyncio
import html
import json
import logging
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import payloads
from bot.assistant import Assistant
from bot.render import button_title, item_lines
from bot.settings import Settings
from bot.types import IncomingMessage, Reply

log = logging.getLogger(__name__)

CHANNEL = "telegram"
CALLBACK_LIMIT = 64
"""Telegram refuses callback_data longer than 64 bytes."""
HELP = (
    "Tôi hướng dẫn thủ tục hành chính: giấy tờ cần chuẩn bị, lệ phí, thời hạn giải quyết, nơi nộp "
    'và cách nộp trực tuyến. Anh/chị cứ nhắn câu hỏi, ví dụ: "làm giấy khai sinh cần gì?", '
    '"lệ phí đăng ký kết hôn bao nhiêu".'
)
NOT_TEXT = "Xin lỗi, hiện tôi chỉ đọc được tin nhắn chữ. Anh/chị vui lòng gõ câu hỏi về thủ tục hành chính."
EDITED = "Tôi đã nhận tin nhắn được sửa. Để hỏi tiếp, anh/chị vui lòng gửi tin nhắn mới."


BUTTON_TITLE = 64
"""Longer button titles are cut at a word: Telegram shows a long one cut anyway."""


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Buttons as an inline keyboard, two per row; a payload too long for Telegram is left out."""
    buttons = [
        InlineKeyboardButton(button_title(b.title, BUTTON_TITLE), callback_data=b.payload)
        for b in reply.buttons
        if len(b.payload.encode("utf-8")) <= CALLBACK_LIMIT
    ]
    if not buttons:
        return None
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


def html_text(reply: Reply) -> str:
    """The reply in Telegram's HTML: the title and section headings bold, numbered or bulleted
    items, the page as a "Xem đầy đủ" link; everything else escaped, so a "<" in a record or
    a staff answer is shown, never parsed."""
    if not reply.sections:
        return html.escape(reply.text, quote=False)
    lines = [f"<b>{html.escape(reply.title, quote=False)}</b>"] if reply.title else []
    for section in reply.sections:
        if section.heading:
            lines.append(f"<b>{html.escape(section.heading, quote=False)}</b>")
        lines += [html.escape(line, quote=False) for line in item_lines(section, section.items, whole=False)]
    if reply.cut and reply.link:
        lines.append(f'<a href="{html.escape(reply.link, quote=True)}">Xem đầy đủ</a>')
    return "\n".join(lines)


def render(reply: Reply) -> dict[str, Any]:
    """The sendMessage arguments for one reply."""
    return {"text": html_text(reply), "parse_mode": "HTML", "reply_markup": keyboard(reply)}


class TelegramAdapter:
    """Owns a python-telegram-bot Application wired to the assistant."""

    def __init__(self, settings: Settings, assistant: Assistant, request: BaseRequest | None = None) -> None:
        if not settings.telegram_token:
            raise ValueError("MOTCUA_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.assistant = assistant
        builder = Application.builder().token(settings.telegram_token).updater(None)
        if request is not None:
            builder = builder.request(request).get_updates_request(request)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self._ready = asyncio.Lock()
        self._initialised = False
        app = self.application
        app.add_handler(CommandHandler("start", self.on_start))
        app.add_handler(CommandHandler("help", self.on_help))
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(filters.UpdateType.EDITED, self.on_edited))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.on_text))
        app.add_handler(MessageHandler(filters.ALL, self.on_other))
        app.add_error_handler(self.on_error)

    @classmethod
    def from_settings(cls, settings: Settings, assistant: Assistant) -> TelegramAdapter | None:
        return cls(settings, assistant) if settings.telegram_token else None

    async def ensure_initialised(self) -> None:
        async with self._ready:
            if not self._initialised:
                await self.application.initialize()
                self._initialised = True

    # --- translation ------------------------------------------------------------------

    async def answer(self, update: Update, text: str) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        msg = IncomingMessage(channel=CHANNEL, sender=str(chat.id), text=text)
        turn = await self.respond(msg)
        for reply in turn.replies:
            await self.application.bot.send_message(chat.id, **render(reply))

    async def say(self, update: Update, text: str) -> None:
        if update.effective_chat is not None:
            await self.application.bot.send_message(update.effective_chat.id, text)

    # --- handlers ---------------------------------------------------------------------

    async def on_start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        code = (context.args or [""])[0]
        if code:  # deep link from a QR code: https://t.me/<bot>?start=1.001193
            await self.answer(update, payloads.make("ask_overview", procedure=code.replace("_", ".")))
        else:
            await self.answer(update, payloads.make("greet"))

    async def on_help(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.say(update, HELP)

    async def on_text(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.message is not None and update.message.text is not None:
            await self.answer(update, update.message.text)

    async def on_button(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        await query.answer()
        if query.data:
            await self.answer(update, query.data)

    async def on_edited(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.say(update, EDITED)

    async def on_other(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.say(update, NOT_TEXT)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("telegram handler failed: %s", context.error, exc_info=context.error)

    # --- webhook inside the web app ---------------------------------------------------

    async def respond(self, msg: IncomingMessage) -> Any:
        """The assistant's answer in a thread; inside the web app, the app's own `respond` (mount)."""
        return await asyncio.to_thread(self.assistant.respond, msg)

    def mount(self, app: Any) -> None:
        self.respond = app.state.respond  # type: ignore[method-assign]

        @app.post("/telegram/webhook", tags=["Telegram"], summary="Webhook của Telegram")
        async def telegram_webhook(request: Request) -> JSONResponse:
            secret = self.settings.telegram_secret
            if not secret or request.headers.get("X-Telegram-Bot-Api-Secret-Token") != secret:
                return JSONResponse({"error": "Sai hoặc thiếu mã bí mật của webhook."}, status_code=403)
            try:
                data = json.loads(await request.body())
            except (json.JSONDecodeError, UnicodeDecodeError):
                return JSONResponse({"error": "Nội dung không phải JSON hợp lệ."}, status_code=400)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return JSONResponse({"error": "Cần một Update của Telegram (có update_id)."}, status_code=400)
            await self.ensure_initialised()
            try:
                update = Update.de_json(data, self.application.bot)
            except (TelegramError, TypeError, ValueError, KeyError) as exc:
                log.warning("unreadable telegram update: %s", exc)
                return JSONResponse({"error": "Update không đọc được."}, status_code=400)
            await self.application.process_update(update)
            return JSONResponse({"ok": True})
