"""The Telegram webhook against a real local HTTP server standing in for the Bot API, which is
down (connection refused, HTTP 502, too slow) and then up: the question is stored and the
webhook answered 200 at once; the answer is sent when the API is back. Replays of an update are
answered once."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from telegram.request import HTTPXRequest

from channels.delivery import RetryPolicy
from channels.telegram.adapter import TelegramAdapter
from channels.web.app import create_app
from knowledge.db import Database
from knowledge.models import Message, WebhookEvent
from tests.live_server import free_port

FIXTURES = Path(__file__).parent / "fixtures" / "telegram"
TOKEN = "7000000001:TEST-TOKEN"
SECRET = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Trợ lý Một cửa", "username": "motcua_test_bot"}
FAST_RETRY = RetryPolicy(attempts=40, first_delay=0.05, factor=1.5, max_delay=0.3)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


class FakeBotApi:
    """A Bot API on 127.0.0.1:`port`: `mode` is "up", "502" (Bad Gateway) or "slow" (answers
    after the client's read timeout); `stop()` closes the port (connection refused)."""

    def __init__(self, port: int, mode: str = "up") -> None:
        self.port = port
        self.mode = mode
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                method = self.path.rsplit("/", 1)[-1]
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or b"{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                if outer.mode == "502":
                    return self.answer(502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
                if outer.mode == "slow":
                    time.sleep(1.0)
                    return self.answer(200, {"ok": True, "result": True})
                outer.calls.append((method, params))
                result: Any = True
                if method == "getMe":
                    result = BOT_USER
                elif method == "sendMessage":
                    chat = {"id": int(params["chat_id"]), "type": "private"}
                    result = {"message_id": len(outer.calls), "date": 1763888100, "chat": chat, "text": params["text"]}
                self.answer(200, {"ok": True, "result": result})

            def answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def sent(self) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == "sendMessage"]

    def wait_sent(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.sent()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.sent()


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi(free_port())
    yield api
    api.stop()


def make_client(assistant, settings_for, db: Database, api: FakeBotApi, retry: RetryPolicy = FAST_RETRY):
    settings = settings_for(
        db, telegram_token=TOKEN, telegram_secret="s3cret", telegram_api_base=f"http://127.0.0.1:{api.port}/bot"
    )
    request = HTTPXRequest(connect_timeout=0.5, read_timeout=0.4, write_timeout=0.5, pool_timeout=0.5)
    adapter = TelegramAdapter(settings, assistant, request=request, retry=retry)
    return adapter, TestClient(create_app(settings, assistant, telegram=adapter))


def stored_questions(db: Database) -> list[str]:
    with db.sessions() as s:
        rows = s.scalars(select(Message.text).where(Message.channel == "telegram", Message.direction == "in"))
        return list(rows)


@pytest.mark.parametrize("fault", ["refused", "502", "slow"])
def test_bot_api_down_then_up_question_stored_first_answer_sent_later(
    assistant, settings_for, kb_copy, bot_api: FakeBotApi, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    if fault != "refused":
        bot_api.mode = fault
        bot_api.start()
    _adapter, client = make_client(assistant, settings_for, kb_copy, bot_api)
    with client, caplog.at_level(logging.WARNING):
        started = time.monotonic()
        r = client.post("/telegram/webhook", json=fixture("text"), headers=SECRET)
        assert r.status_code == 200, r.text
        assert time.monotonic() - started < 3.0  # not held up by the retries
        assert stored_questions(kb_copy) == [fixture("text")["message"]["text"]]
        time.sleep(0.6)  # a few failed tries
        assert bot_api.sent() == []
        if fault == "refused":
            bot_api.start()
        bot_api.mode = "up"
        sent = bot_api.wait_sent(1)
        assert sent and "Giấy chứng sinh" in sent[0]["text"] and int(sent[0]["chat_id"]) == 5551234
    retries = [r.getMessage() for r in caplog.records if r.name == "channels.delivery"]
    assert any("failed" in m and "try 2" in m for m in retries), retries
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_send_that_keeps_failing_is_given_up_and_logged(
    assistant, settings_for, kb_copy, bot_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    bot_api.mode = "502"
    bot_api.start()
    policy = RetryPolicy(attempts=3, first_delay=0.05, factor=2.0, max_delay=0.2)
    adapter, client = make_client(assistant, settings_for, kb_copy, bot_api, retry=policy)
    with client, caplog.at_level(logging.WARNING):
        assert client.post("/telegram/webhook", json=fixture("text"), headers=SECRET).status_code == 200
        deadline = time.monotonic() + 10
        while adapter.outbox.failed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert adapter.outbox.failed == 1
    assert any("not sent after 3 tries" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert len(stored_questions(kb_copy)) == 1  # the question is kept for the staff to see


def test_replayed_update_is_answered_and_stored_once(assistant, settings_for, kb_copy, bot_api: FakeBotApi) -> None:
    bot_api.start()
    _adapter, client = make_client(assistant, settings_for, kb_copy, bot_api)
    with client:
        first = client.post("/telegram/webhook", json=fixture("text"), headers=SECRET)
        again = [client.post("/telegram/webhook", json=fixture("text"), headers=SECRET) for _ in range(3)]
        assert first.json() == {"ok": True}
        assert all(r.status_code == 200 and r.json()["duplicate"] for r in again)
        other = fixture("follow_up")  # another update of the same chat is answered
        assert client.post("/telegram/webhook", json=other, headers=SECRET).json() == {"ok": True}
        assert len(bot_api.wait_sent(2)) == 2
        time.sleep(0.3)
        assert len(bot_api.sent()) == 2
    assert len(stored_questions(kb_copy)) == 2
    with kb_copy.sessions() as s:
        sources = s.scalars(select(WebhookEvent.source).distinct()).all()
        assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 2
        assert all(e.answered_at is not None for e in s.scalars(select(WebhookEvent)))
    assert sources == ["telegram:7000000001"]


def test_button_press_acknowledged_then_answered_in_order(
    assistant, settings_for, kb_copy, bot_api: FakeBotApi
) -> None:
    bot_api.start()
    _adapter, client = make_client(assistant, settings_for, kb_copy, bot_api)
    with client:
        assert client.post("/telegram/webhook", json=fixture("callback"), headers=SECRET).status_code == 200
        bot_api.wait_sent(1)
    methods = [m for m, _ in bot_api.calls if m != "getMe"]
    assert methods[0] == "answerCallbackQuery" and "sendMessage" in methods
