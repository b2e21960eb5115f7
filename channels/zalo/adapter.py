"""Zalo OA: verify X-ZEvent-Signature, answer 200 at once, reply through the OA message API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx
from fastapi import Request
from fastapi.responses import JSONResponse

from bot.assistant import Assistant
from bot.render import BUDGETS, button_title
from bot.settings import Settings
from bot.types import IncomingMessage, Reply

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
    def __init__(self, settings: Settings, assistant: Assistant, client: httpx.AsyncClient | None = None) -> None:
        if not (settings.zalo_app_id and settings.zalo_secret_key and settings.zalo_access_token):
            raise ValueError("Zalo OA settings are incomplete")
        self.settings = settings
        self.assistant = assistant
        self.client = client or httpx.AsyncClient(timeout=10.0)
        self.pending: set[asyncio.Task[None]] = set()

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

    async def send(self, user_id: str, replies: list[Reply]) -> None:
        url = f"{self.settings.zalo_api_base}/v3.0/oa/message/cs"
        headers = {"access_token": self.settings.zalo_access_token or "", "Content-Type": "application/json"}
        for reply in replies:
            try:
                resp = await self.client.post(url, headers=headers, json=self.render(user_id, reply))
                body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
                if resp.status_code != 200 or body.get("error", 0) != 0:
                    log.warning("Zalo OA refused a message: %s %s", resp.status_code, body)
            except httpx.HTTPError as exc:
                log.warning("Zalo OA unreachable: %s", exc)

    async def process(self, data: dict[str, Any]) -> None:
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
            await self.send(user_id, list(turn.replies))
        elif event in NON_TEXT_EVENTS:
            await self.send(user_id, [Reply(NOT_TEXT)])
        # follow, seen, delivered and the OA's own events need no answer

    async def respond(self, msg: IncomingMessage) -> Any:
        """The assistant's answer in a thread; inside the web app, the app's own `respond` (mount)."""
        return await asyncio.to_thread(self.assistant.respond, msg)

    def mount(self, app: Any) -> None:
        self.respond = app.state.respond  # type: ignore[method-assign]

        @app.post("/zalo/webhook", tags=["Zalo"], summary="Webhook của Zalo Official Account")
        async def zalo_webhook(request: Request) -> JSONResponse:
            raw = await request.body()
            try:
                data = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError):
                return JSONResponse({"error": "Nội dung không phải JSON hợp lệ."}, status_code=400)
            if not isinstance(data, dict):
                return JSONResponse({"error": "Cần một sự kiện Zalo (đối tượng JSON)."}, status_code=400)
            problem = self.verify(raw, request.headers.get("X-ZEvent-Signature"), data)
            if problem:
                return JSONResponse({"error": problem}, status_code=401 if "Thiếu chữ ký" in problem else 403)
            # Zalo wants 200 at once; the answer goes out through the OA API afterwards.
            task = asyncio.create_task(self._safe_process(data))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
            return JSONResponse({"ok": True})

    async def _safe_process(self, data: dict[str, Any]) -> None:
        try:
            await self.process(data)
        except Exception:
            log.exception("failed to answer a Zalo event")
