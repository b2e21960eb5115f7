"""Zalo OA: verify X-ZEvent-Signature, take each event in once (store the question), answer 200,
then reply through the OA message API in the background, retried while the API is down."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.assistant import Assistant
from bot.render import BUDGETS, button_title
from bot.settings import Settings
from bot.types import IncomingMessage, Reply
from channels.delivery import Outbox, Refused, RetryPolicy, Send, Transient
from channels.web.limits import read_json
from knowledge.errors import DatabaseError
from knowledge.events import SeenEvents

log = logging.getLogger(__name__)

CHANNEL = "zalo"
TEXT_LIMIT = BUDGETS[CHANNEL].chars
"""Zalo OA refuses text messages over 2,000 characters (the length budget keeps answers under)."""
BUTTON_TITLE = 100
BUTTONS = 5
"""A Zalo OA message template holds at most five buttons."""
NOT_TEXT = "Xin lỗi, hiện tôi chỉ đọc được tin nhắn chữ. Anh/chị vui lòng gõ câu hỏi về thủ tục hành chính."
NON_TEXT_EVENTS = {
    "user_send_image",
    "user_send_sticker",
    "user_send_audio",
    "user_send_video",
    "user_send_file",
    "user_send_location",
    "user_send_gif",
    "user_send_link",
    "user_send_business_card",
}


def signature(app_id: str, body: str, timestamp: str, secret: str) -> str:
    """Zalo's mac: sha256 over app id + raw body + timestamp + OA secret key, hex, "mac=" prefixed."""
    return "mac=" + hashlib.sha256(f"{app_id}{body}{timestamp}{secret}".encode()).hexdigest()


class ZaloAdapter:
    def __init__(
        self,
        settings: Settings,
        assistant: Assistant,
        client: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not (settings.zalo_app_id and settings.zalo_secret_key and settings.zalo_access_token):
            raise ValueError("Zalo OA settings are incomplete")
        self.settings = settings
        self.assistant = assistant
        self.client = client or httpx.AsyncClient(timeout=10.0)
        self.outbox = Outbox(CHANNEL, retry)
        self.seen = SeenEvents(assistant.db)
        self.source = f"{CHANNEL}:{settings.zalo_app_id}"

    @classmethod
    def from_settings(cls, settings: Settings, assistant: Assistant) -> ZaloAdapter | None:
        if settings.zalo_app_id and settings.zalo_secret_key and settings.zalo_access_token:
            return cls(settings, assistant)
        return None

    def verify(self, raw: bytes, header: str | None, data: dict[str, Any]) -> str | None:
        """None when the event is authentic and fresh; otherwise why it is refused."""
        if not header:
            return "Thiếu chữ ký X-ZEvent-Signature."
        timestamp = str(data.get("timestamp", ""))
        expected = signature(
            self.settings.zalo_app_id or "",
            raw.decode("utf-8", "replace"),
            timestamp,
            self.settings.zalo_secret_key or "",
        )
        if not hmac.compare_digest(header.strip(), expected):
            return "Chữ ký không hợp lệ."
        try:
            age = abs(time.time() * 1000 - int(timestamp)) / 1000
        except ValueError:
            return "Thiếu hoặc sai thời điểm (timestamp)."
        if age > self.settings.zalo_max_age_seconds:
            return "Sự kiện đã quá hạn."
        return None

    def render(self, user_id: str, reply: Reply) -> dict[str, Any]:
        """The OA message for one reply: the text within Zalo's limit (cut at a line when a
        reply that is no answer, such as a long staff FAQ, exceeds it) and up to five buttons."""
        text = reply.text
        if len(text) > TEXT_LIMIT:
            cut = text.rfind("\n", 0, TEXT_LIMIT - 2)
            text = text[: cut if cut > TEXT_LIMIT // 2 else TEXT_LIMIT - 2].rstrip() + "\n…"
        message: dict[str, Any] = {"text": text}
        if reply.buttons:
            message["attachment"] = {
                "type": "template",
                "payload": {
                    "buttons": [
                        {"title": button_title(b.title, BUTTON_TITLE), "type": "oa.query.hide", "payload": b.payload}
                        for b in reply.buttons[:BUTTONS]
                    ]
                },
            }
        return {"recipient": {"user_id": user_id}, "message": message}

    def send(self, user_id: str, replies: list[Reply]) -> None:
        """Queue the replies for the OA message API (sent in order, retried while it is down)."""
        self.outbox.submit(user_id, [self._poster(self.render(user_id, r)) for r in replies])

    def _poster(self, message: dict[str, Any]) -> Send:
        return lambda: self._post(message)

    async def _post(self, message: dict[str, Any]) -> None:
        url = f"{self.settings.zalo_api_base}/v3.0/oa/message/cs"
        headers = {"access_token": self.settings.zalo_access_token or "", "Content-Type": "application/json"}
        try:
            resp = await self.client.post(url, headers=headers, json=message)
        except httpx.HTTPError as exc:  # unreachable, timed out
            raise Transient(f"Zalo OA unreachable: {exc!r}") from exc
        if resp.status_code >= 500 or resp.status_code == 429:
            raise Transient(f"Zalo OA answered HTTP {resp.status_code}")
        try:
            body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        except ValueError:
            body = {}
        if resp.status_code != 200 or not isinstance(body, dict) or body.get("error", 0) != 0:
            # Zalo says why in "error"/"message" (user not following the OA, token expired, ...).
            raise Refused(f"HTTP {resp.status_code} {body}")

    async def process(self, data: dict[str, Any]) -> None:
        """Store the question and queue its answer (an event that needs none is left alone)."""
        event = data.get("event_name")
        sender: dict[str, Any] = data["sender"] if isinstance(data.get("sender"), dict) else {}
        user_id = str(sender.get("id") or data.get("user_id_by_app") or "")
        if not user_id:
            return
        if event == "user_send_text":
            message: dict[str, Any] = data["message"] if isinstance(data.get("message"), dict) else {}
            text = message["text"] if isinstance(message.get("text"), str) else ""
            msg = IncomingMessage(channel=CHANNEL, sender=user_id, text=text)
            turn = await self.respond(msg)
            self.send(user_id, list(turn.replies))
        elif event in NON_TEXT_EVENTS:
            self.send(user_id, [Reply(NOT_TEXT)])
        # follow, seen, delivered and the OA's own events need no answer

    @staticmethod
    def message_id(data: dict[str, Any]) -> str | None:
        """The event's message.msg_id; None for events without one (follow, seen, ...)."""
        message = data.get("message")
        msg_id = message.get("msg_id") if isinstance(message, dict) else None
        if not isinstance(msg_id, str | int) or isinstance(msg_id, bool) or msg_id == "":
            return None
        return str(msg_id)

    def first_delivery(self, msg_id: str | None) -> bool:
        """False for an event already taken in: Zalo redelivers one it saw no 200 for."""
        if msg_id is None:
            return True  # nothing to answer twice
        try:
            return self.seen.first_time(self.source, msg_id)
        except (SQLAlchemyError, DatabaseError) as exc:
            log.warning("could not record zalo event %s: %s", msg_id, exc)
            return True

    def settle(self, msg_id: str | None) -> None:
        if msg_id is None:
            return
        try:
            self.seen.answered(self.source, msg_id)
        except (SQLAlchemyError, DatabaseError) as exc:
            log.warning("could not mark zalo event %s answered: %s", msg_id, exc)

    async def respond(self, msg: IncomingMessage) -> Any:
        """The assistant's answer in a thread; inside the web app, the app's own `respond` (mount)."""
        return await asyncio.to_thread(self.assistant.respond, msg)

    def mount(self, app: Any) -> None:
        self.respond = app.state.respond  # type: ignore[method-assign]

        @app.post("/zalo/webhook", tags=["Zalo"], summary="Webhook của Zalo Official Account")
        async def zalo_webhook(request: Request) -> JSONResponse:
            raw = await request.body()
            data = read_json(raw)  # 400 in Vietnamese when it is no JSON we read
            if not isinstance(data, dict):
                return JSONResponse({"error": "Cần một sự kiện Zalo (đối tượng JSON)."}, status_code=400)
            problem = self.verify(raw, request.headers.get("X-ZEvent-Signature"), data)
            if problem:
                return JSONResponse({"error": problem}, status_code=401 if "Thiếu chữ ký" in problem else 403)
            msg_id = self.message_id(data)
            if not self.first_delivery(msg_id):
                return JSONResponse({"ok": True, "duplicate": True})
            # The question is stored before the 200 (a few milliseconds); the answer goes out
            # through the OA API afterwards, so a slow or failing OA API never delays the 200.
            try:
                await self.process(data)
            except Exception:
                log.exception("failed to answer a Zalo event")
            self.settle(msg_id)
            return JSONResponse({"ok": True})
