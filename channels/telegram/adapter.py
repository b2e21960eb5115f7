"""Translate Telegram updates to IncomingMessage and replies to messages with inline keyboards.
No dialogue logic here: the assistant decides what to say."""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update, User
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import payloads
from bot.assistant import Assistant
from bot.render import button_title, item_lines
from bot.settings import Settings
from bot.types import IncomingMessage, Reply
from channels.delivery import Outbox, Refused, RetryPolicy, Send, Transient
from channels.web.limits import read_json
from knowledge.errors import DatabaseError
from knowledge.events import SeenEvents

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


class _Bot(ExtBot[None]):
    """The library's bot, able to start while the Bot API is unreachable. Starting asks the API
    who the bot is (getMe); without an answer, a worker could not take in a single update. The
    stand-in (id from the token, configured user name) serves until the next start; commands
    addressed as /start@name only match when MOTCUA_TELEGRAM_BOT_NAME is set."""

    def __init__(self, *args: Any, bot_name: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._name = bot_name

    async def get_me(self, *args: Any, **kwargs: Any) -> User:
        try:
            return await super().get_me(*args, **kwargs)
        except (NetworkError, RetryAfter) as exc:
            if isinstance(exc, BadRequest):
                raise
            log.warning("Telegram Bot API unreachable at start (%s); going on without getMe", exc)
            prefix = self.token.split(":", 1)[0]
            bot_id = int(prefix) if prefix.isdigit() else 0
            stand_in = User(bot_id, self._name or "bot", True, username=self._name or "")
            self._bot_user = stand_in  # what getMe would have cached
            return stand_in


def _retry_after(exc: RetryAfter) -> float:
    wait = exc.retry_after
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)


def _call(method: Any, *args: Any, **kwargs: Any) -> Send:
    """One Bot API call for the outbox, made anew at each try (a coroutine runs only once)."""
    return lambda: _bot_api(method(*args, **kwargs))


async def _bot_api(call: Any) -> None:
    """Await one Bot API call, telling a failure worth retrying from a refusal."""
    try:
        await call
    except RetryAfter as exc:
        raise Transient(str(exc), retry_after=_retry_after(exc)) from exc
    except BadRequest as exc:  # a subclass of NetworkError, but final
        raise Refused(str(exc)) from exc
    except NetworkError as exc:  # unreachable, timed out, 5xx
        raise Transient(str(exc)) from exc
    except TelegramError as exc:  # blocked by the user, bad token, chat migrated
        raise Refused(str(exc)) from exc


class TelegramAdapter:
    """Owns a python-telegram-bot Application wired to the assistant."""

    def __init__(
        self,
        settings: Settings,
        assistant: Assistant,
        request: BaseRequest | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not settings.telegram_token:
            raise ValueError("MOTCUA_TELEGRAM_TOKEN is not set")
        self.settings = settings
        self.assistant = assistant
        bot = _Bot(
            settings.telegram_token,
            base_url=settings.telegram_api_base,
            request=request,
            get_updates_request=request,
            bot_name=settings.telegram_bot_name,
        )
        builder = Application.builder().bot(bot).updater(None).post_stop(self._drain)
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.outbox = Outbox(CHANNEL, retry)
        self.seen = SeenEvents(assistant.db)
        self.source = f"{CHANNEL}:{settings.telegram_token.split(':', 1)[0]}"
        """Update ids are per bot: the bot's id (the token's first part) scopes them."""
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

    async def answer(self, update: Update, text: str, first: list[Send] | None = None) -> None:
        """Store the question and its answer, then send the answer in the background."""
        chat = update.effective_chat
        if chat is None:
            return
        msg = IncomingMessage(channel=CHANNEL, sender=str(chat.id), text=text)
        turn = await self.respond(msg)
        bot = self.application.bot
        sends = [*(first or []), *(_call(bot.send_message, chat.id, **render(r)) for r in turn.replies)]
        self.outbox.submit(str(chat.id), sends)

    async def say(self, update: Update, text: str) -> None:
        if update.effective_chat is not None:
            chat_id = update.effective_chat.id
            self.outbox.submit(str(chat_id), [_call(self.application.bot.send_message, chat_id, text)])

    async def _drain(self, _application: Any) -> None:
        await self.outbox.drain()

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
        # The spinner on the button stops once the press is acknowledged; it goes out first.
        acknowledge = _call(self.application.bot.answer_callback_query, query.id)
        if query.data:
            await self.answer(update, query.data, first=[acknowledge])
        elif update.effective_chat is not None:
            self.outbox.submit(str(update.effective_chat.id), [acknowledge])

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
            data = read_json(await request.body())  # 400 in Vietnamese when it is no JSON we read
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                return JSONResponse({"error": "Cần một Update của Telegram (có update_id)."}, status_code=400)
            await self.ensure_initialised()
            try:
                update = Update.de_json(data, self.application.bot)
            except (TelegramError, TypeError, ValueError, KeyError) as exc:
                log.warning("unreadable telegram update: %s", exc)
                return JSONResponse({"error": "Update không đọc được."}, status_code=400)
            if not self.first_delivery(update.update_id):
                return JSONResponse({"ok": True, "duplicate": True})
            # Handlers store the question and queue the answer; sending never holds this up,
            # and a handler's failure is logged by on_error: Telegram gets 200 either way, or it
            # would redeliver the update, and hold back the bot's later ones, for hours.
            await self.application.process_update(update)
            self.settle(update.update_id)
            return JSONResponse({"ok": True})

    def first_delivery(self, update_id: int) -> bool:
        """False for an update already taken in (Telegram redelivers when an answer is slow)."""
        try:
            return self.seen.first_time(self.source, str(update_id))
        except (SQLAlchemyError, DatabaseError) as exc:
            # Better an answer twice than none: the message goes on to be answered and stored.
            log.warning("could not record telegram update %s: %s", update_id, exc)
            return True

    def settle(self, update_id: int) -> None:
        """The update's question is stored: a later redelivery is a replay, whatever its age."""
        try:
            self.seen.answered(self.source, str(update_id))
        except (SQLAlchemyError, DatabaseError) as exc:
            log.warning("could not mark telegram update %s answered: %s", update_id, exc)
