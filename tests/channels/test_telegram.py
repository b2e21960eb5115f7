"""Telegram handlers driven offline: the library's request layer is replaced by one that records
outgoing calls, and real Update JSON goes through Application.process_update."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from telegram import Update
from telegram.request import BaseRequest, RequestData

from channels.telegram.adapter import EDITED, NOT_TEXT, TelegramAdapter
from channels.web.app import create_app

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
BOT_USER = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Trợ lý Một cửa",
    "username": "motcua_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class RecordingRequest(BaseRequest):
    """Answers the Bot API like Telegram would, without a network, and keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        self.calls.append((endpoint, params))
        if endpoint == "getMe":
            result: Any = BOT_USER
        elif endpoint == "sendMessage":
            result = {
                "message_id": len(self.calls),
                "date": 1763888100,
                "from": BOT_USER,
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params.get("text", ""),
            }
        else:
            result = True
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self) -> list[dict[str, Any]]:
        return [p for endpoint, p in self.calls if endpoint == "sendMessage"]


@pytest.fixture
def telegram(assistant, settings_for, kb_copy):
    settings = settings_for(kb_copy, telegram_token="123456:TEST-TOKEN", telegram_secret="s3cret")
    request = RecordingRequest()
    return TelegramAdapter(settings, assistant, request=request), request


async def drive(adapter: TelegramAdapter, name: str) -> None:
    await adapter.ensure_initialised()
    await adapter.application.process_update(Update.de_json(fixture(name), adapter.application.bot))
    assert await adapter.outbox.drain(5)  # answers go out in the background


def wait_sent(request: RecordingRequest, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The sendMessage calls once `count` have been made (the webhook answers before them)."""
    deadline = time.monotonic() + timeout
    while len(request.sent()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return request.sent()


async def test_text_answer_with_inline_keyboard_and_follow_up(telegram) -> None:
    adapter, request = telegram
    await drive(adapter, "text")
    first = request.sent()[-1]
    assert first["chat_id"] == 5551234 and "Giấy chứng sinh" in first["text"]
    keyboard = first["reply_markup"]["inline_keyboard"]
    assert {"text": "Lệ phí", "callback_data": '/ask_fee{"procedure":"1.001193"}'} in [
        b for row in keyboard for b in row
    ]
    await drive(adapter, "follow_up")
    assert "Miễn phí" in request.sent()[-1]["text"]


async def test_button_press_answers_the_callback_and_the_question(telegram) -> None:
    adapter, request = telegram
    await drive(adapter, "callback")
    endpoints = [e for e, _ in request.calls]
    assert "answerCallbackQuery" in endpoints
    assert "Thời hạn giải quyết thủ tục đăng ký khai sinh" in request.sent()[-1]["text"]


async def test_start_help_and_deep_link(telegram) -> None:
    adapter, request = telegram
    await drive(adapter, "start")
    assert "Xin chào" in request.sent()[-1]["text"]
    await drive(adapter, "help")
    assert "giấy tờ cần chuẩn bị" in request.sent()[-1]["text"]
    await drive(adapter, "start_deep_link")
    assert "Thủ tục đăng ký kết hôn" in request.sent()[-1]["text"]


@pytest.mark.parametrize(
    ("name", "reply"), [("sticker", NOT_TEXT), ("photo", NOT_TEXT), ("voice", NOT_TEXT), ("edited", EDITED)]
)
async def test_non_text_gets_a_polite_reply(telegram, name: str, reply: str) -> None:
    adapter, request = telegram
    await drive(adapter, name)
    assert request.sent()[-1]["text"] == reply


async def test_unknown_update_types_are_ignored(telegram) -> None:
    adapter, request = telegram
    await drive(adapter, "my_chat_member")
    assert request.sent() == []


def test_webhook_checks_the_secret_token(telegram, settings_for, kb_copy, assistant) -> None:
    adapter, request = telegram
    app = create_app(adapter.settings, assistant, telegram=adapter)
    with TestClient(app) as client:
        assert client.post("/telegram/webhook", json=fixture("text")).status_code == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "nope"}
        assert client.post("/telegram/webhook", json=fixture("text"), headers=wrong).status_code == 403
        assert request.sent() == []
        ok = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
        assert client.post("/telegram/webhook", json=fixture("text"), headers=ok).status_code == 200
        assert "Giấy chứng sinh" in wait_sent(request, 1)[-1]["text"]
        assert client.post("/telegram/webhook", content=b"{x", headers=ok).status_code == 400
        assert client.post("/telegram/webhook", json={"hello": 1}, headers=ok).status_code == 400
        assert client.post("/telegram/webhook", json=fixture("my_chat_member"), headers=ok).status_code == 200
