"""Zalo OA: signed real-shaped events in; replies arrive at a local HTTP server standing in for
the OA message API; bad or missing signatures get 401/403 and no reply."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from channels.delivery import RetryPolicy
from channels.web.app import create_app
from channels.zalo.adapter import NOT_TEXT, ZaloAdapter, signature
from knowledge.models import Message
from tests.live_server import free_port

APP_ID = "4301234567890123456"
SECRET = "oa-secret-key-for-tests"


class FakeOA:
    """A real HTTP server on 127.0.0.1 recording what the adapter sends."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.failures = 0
        """Requests still to be answered with HTTP 503 (the OA API being down)."""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.failures > 0:
                    outer.failures -= 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                outer.received.append(
                    {"path": self.path, "token": self.headers.get("access_token"), "json": json.loads(body)}
                )
                answer = json.dumps({"error": 0, "message": "Success", "data": {"message_id": "m1"}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def oa() -> Iterator[FakeOA]:
    server = FakeOA()
    yield server
    server.close()


FAST_RETRY = RetryPolicy(attempts=40, first_delay=0.05, factor=1.5, max_delay=0.3)


def make_app(assistant, settings_for, db, base: str):
    settings = settings_for(
        db, zalo_app_id=APP_ID, zalo_secret_key=SECRET, zalo_access_token="tok-123", zalo_api_base=base
    )
    return create_app(settings, assistant, zalo=ZaloAdapter(settings, assistant, retry=FAST_RETRY))


@pytest.fixture
def client(assistant, settings_for, kb_copy, oa):
    with TestClient(make_app(assistant, settings_for, kb_copy, oa.base)) as c:
        yield c


def stored_questions(db) -> list[str]:
    with db.sessions() as s:
        return list(s.scalars(select(Message.text).where(Message.channel == "zalo", Message.direction == "in")))


def event(name: str = "user_send_text", text: str = "lệ phí đăng ký kết hôn bao nhiêu", ts: int | None = None) -> dict:
    data: dict[str, Any] = {
        "app_id": APP_ID,
        "user_id_by_app": "552177279717587730",
        "event_name": name,
        "timestamp": str(ts if ts is not None else int(time.time() * 1000)),
        "sender": {"id": "8273468203681230975"},
        "recipient": {"id": "579745863508352884"},
    }
    if name == "user_send_text":
        data["message"] = {"msg_id": "This is message id", "text": text}
    elif name == "user_send_image":
        data["message"] = {"msg_id": "img", "attachments": [{"type": "image", "payload": {"url": "https://x/y.jpg"}}]}
    return data


def post(client: TestClient, data: dict, sign: bool = True, secret: str = SECRET, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(data, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json"}
    if sign:
        headers["X-ZEvent-Signature"] = signature(APP_ID, body.decode(), str(data.get("timestamp", "")), secret)
    return client.post("/zalo/webhook", content=body, headers=headers)


def test_signed_text_event_is_answered_through_the_oa_api(client, oa: FakeOA) -> None:
    r = post(client, event())
    assert r.status_code == 200
    sent = oa.wait(1)
    assert sent[0]["path"] == "/v3.0/oa/message/cs" and sent[0]["token"] == "tok-123"
    message = sent[0]["json"]
    assert message["recipient"] == {"user_id": "8273468203681230975"}
    assert "Miễn phí" in message["message"]["text"]
    buttons = message["message"]["attachment"]["payload"]["buttons"]
    assert buttons[0]["type"] == "oa.query.hide" and buttons[0]["payload"].startswith("/")


def test_non_text_event_gets_a_polite_reply(client, oa: FakeOA) -> None:
    assert post(client, event("user_send_image")).status_code == 200
    assert oa.wait(1)[0]["json"]["message"]["text"] == NOT_TEXT


def test_other_events_need_no_answer(client, oa: FakeOA) -> None:
    assert post(client, event("follow")).status_code == 200
    time.sleep(0.5)
    assert oa.received == []


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [({"sign": False}, 401), ({"secret": "wrong"}, 403)],
    ids=["missing-signature", "bad-signature"],
)
def test_bad_signature_is_refused_and_nothing_is_sent(client, oa: FakeOA, kwargs: dict, status: int) -> None:
    assert post(client, event(), **kwargs).status_code == status
    time.sleep(0.5)
    assert oa.received == []


def test_stale_or_tampered_events_are_refused(client, oa: FakeOA) -> None:
    stale = event(ts=int(time.time() * 1000) - 3600_000)
    assert post(client, stale).status_code == 403
    data = event()
    signed = signature(APP_ID, json.dumps(data, ensure_ascii=False), data["timestamp"], SECRET)
    data["message"]["text"] = "đã bị sửa"
    r = client.post(
        "/zalo/webhook", content=json.dumps(data, ensure_ascii=False).encode(), headers={"X-ZEvent-Signature": signed}
    )
    assert r.status_code == 403
    assert client.post("/zalo/webhook", content=b"{oops").status_code == 400
    time.sleep(0.5)
    assert oa.received == []


def test_oa_api_answering_503_is_retried_after_the_question_is_stored(client, oa: FakeOA, kb_copy) -> None:
    oa.failures = 3
    assert post(client, event()).status_code == 200
    assert stored_questions(kb_copy) == ["lệ phí đăng ký kết hôn bao nhiêu"]
    sent = oa.wait(1)
    assert oa.failures == 0 and len(sent) == 1 and "Miễn phí" in sent[0]["json"]["message"]["text"]


def test_oa_api_unreachable_then_up(assistant, settings_for, kb_copy, caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    with TestClient(make_app(assistant, settings_for, kb_copy, f"http://127.0.0.1:{port}")) as c:
        assert post(c, event()).status_code == 200
        assert len(stored_questions(kb_copy)) == 1
        time.sleep(0.5)  # connection refused, retried
        oa = FakeOA(port)
        try:
            sent = oa.wait(1)
        finally:
            oa.close()
    assert len(sent) == 1 and sent[0]["json"]["recipient"] == {"user_id": "8273468203681230975"}
    assert any("Zalo OA unreachable" in r.getMessage() for r in caplog.records)


def test_replayed_event_is_answered_and_stored_once(client, oa: FakeOA, kb_copy) -> None:
    data = event()
    assert post(client, data).json() == {"ok": True}
    for _ in range(3):
        r = post(client, data)
        assert r.status_code == 200 and r.json()["duplicate"] is True
    other = event(text="làm giấy khai sinh cần gì")
    other["message"]["msg_id"] = "another message id"
    assert post(client, other).json() == {"ok": True}
    assert len(oa.wait(2)) == 2
    time.sleep(0.3)
    assert len(oa.received) == 2
    assert len(stored_questions(kb_copy)) == 2
