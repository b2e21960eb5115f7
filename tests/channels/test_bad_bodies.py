"""Malformed bodies on every endpoint that takes one (REST, the widget's REST calls, the Telegram
and Zalo webhooks, the staff login form): invalid UTF-8, JSON nested 5,000 deep, bodies over the
limit with or without Content-Length. Each gets a Vietnamese 4xx, never Starlette's English;
chunked bodies are also sent through a real uvicorn. NUL bytes never reach storage."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import DataError

from bot.types import IncomingMessage
from channels.telegram.adapter import TelegramAdapter
from channels.web.app import create_app
from channels.web.limits import MAX_BODY, MAX_DEPTH, read_json, too_deep
from channels.zalo.adapter import ZaloAdapter
from knowledge.conversations import ConversationStore, Memory, TurnRecord
from knowledge.db import Database
from knowledge.models import Message
from tests.live_server import free_port, serve

ENGLISH = "There was an error parsing the body"
TELEGRAM_SECRET = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}
ENDPOINTS = {
    "rest": ("/webhooks/rest/webhook", {}),
    "widget": ("/webhooks/rest/webhook", {"Origin": "https://phuong-binhan.example.vn"}),
    "telegram": ("/telegram/webhook", TELEGRAM_SECRET),
    "zalo": ("/zalo/webhook", {}),
}
DEEP = b"[" * 5000 + b"]" * 5000
DEEP_INSIDE = b'{"sender": "a", "message": "x", "metadata": {"unit": ' + b"[" * 3000 + b"]" * 3000 + b"}}"
CASES = [
    # (id, body, status, words of the Vietnamese message)
    ("invalid-utf8", b'{"sender": "a", "message": "l\xe1\xbb\x87 ph\xff\xfe"}', 400, "UTF-8"),
    ("latin1", '{"sender": "a", "message": "lệ phí"}'.encode("cp1258", "replace"), 400, "UTF-8"),
    ("deep-5000", DEEP, 400, "lồng nhau quá sâu"),
    ("deep-inside-object", DEEP_INSIDE, 400, "lồng nhau quá sâu"),
    ("not-json", b"{sender: a}", 400, "JSON"),
    ("truncated", b'{"sender": "a", "message": "x', 400, "JSON"),
    ("over-limit", b'{"a": "' + b"x" * (MAX_BODY + 10) + b'"}', 413, "quá lớn"),
]


@pytest.fixture
def app(assistant, settings_for, kb_copy):
    settings = settings_for(
        kb_copy,
        cors_origins=("https://phuong-binhan.example.vn",),
        telegram_token="7000000001:TEST",
        telegram_secret="s3cret",
        telegram_api_base=f"http://127.0.0.1:{free_port()}/bot",  # nothing listens: no answer needed here
        zalo_app_id="4301234567890123456",
        zalo_secret_key="k",
        zalo_access_token="t",
        zalo_api_base=f"http://127.0.0.1:{free_port()}",
    )
    return create_app(
        settings,
        assistant,
        telegram=TelegramAdapter(settings, assistant),
        zalo=ZaloAdapter(settings, assistant),
        admin=True,
    )


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def error_of(r: httpx.Response) -> str:
    assert ENGLISH not in r.text
    return str(r.json()["error"])


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize(("body", "status", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_body_gets_a_vietnamese_4xx(
    client: TestClient, endpoint: str, body: bytes, status: int, words: str, caplog: pytest.LogCaptureFixture
) -> None:
    path, headers = ENDPOINTS[endpoint]
    with caplog.at_level(logging.WARNING):
        r = client.post(path, content=body, headers={"Content-Type": "application/json", **headers})
    assert r.status_code == status, r.text[:300]
    assert words in error_of(r)
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR]


def chunks(total: int, size: int = 4096) -> Iterator[bytes]:
    yield b'{"sender": "a", "message": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_chunked_body_over_the_limit_gets_413_in_the_test_client(client: TestClient, endpoint: str) -> None:
    path, headers = ENDPOINTS[endpoint]
    r = client.post(path, content=chunks(MAX_BODY * 2), headers={"Content-Type": "application/json", **headers})
    assert r.status_code == 413 and "quá lớn" in error_of(r)


def test_chunked_bodies_through_a_real_server(app, kb_copy) -> None:
    """uvicorn on 127.0.0.1: no Content-Length, the body in chunks (as curl -T- or a proxy sends)."""
    with serve(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        for path, headers in ENDPOINTS.values():
            r = http.post(path, content=chunks(MAX_BODY * 4), headers={"Content-Type": "application/json", **headers})
            assert r.status_code == 413, (path, r.status_code, r.text[:200])
            assert "quá lớn" in error_of(r)
            assert "content-length" not in {k.lower() for k in r.request.headers}
        small = (json.dumps({"sender": "chunked", "message": "lệ phí đăng ký kết hôn"}).encode(),)
        r = http.post("/webhooks/rest/webhook", content=iter(small), headers={"Content-Type": "application/json"})
        assert r.status_code == 200 and "Miễn phí" in r.json()[0]["text"]
        bad = iter([b'{"sender": "a", ', b'"message": "\xff"}'])
        r = http.post("/webhooks/rest/webhook", content=bad, headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "UTF-8" in error_of(r)
        r = http.post("/webhooks/rest/webhook", content=iter([DEEP]), headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "sâu" in error_of(r)
        assert http.get("/healthz").status_code == 200  # the server is still up


def test_staff_login_form_with_invalid_utf8_is_refused_in_vietnamese(client: TestClient) -> None:
    r = client.post(
        "/admin/login",
        content=b"csrf=x&username=\xff\xfe&password=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= r.status_code < 500
    assert ENGLISH not in r.text


@pytest.mark.parametrize(
    "text",
    [
        '/ask_fee{"procedure":' + "[" * 1500 + "]" * 1500 + "}",
        "/ask_fee{" + "{" * 1500 + "}" * 1500,
        '/ask_fee{"procedure":"1.001193","x":' + "[" * 400 + "]" * 400 + "}",
        "[" * 1500 + "]" * 1500,
    ],
    ids=["list-1500", "object-1500", "list-400", "plain-brackets"],
)
def test_deeply_nested_button_payload_gets_a_polite_reply_and_no_traceback(
    client: TestClient, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        r = client.post("/webhooks/rest/webhook", json={"sender": "nested", "message": text})
        update = {
            "update_id": 990001,
            "message": {
                "message_id": 1,
                "date": 1763888000,
                "chat": {"id": 42, "type": "private"},
                "from": {"id": 42, "is_bot": False, "first_name": "A"},
                "text": text,
            },
        }
        t = client.post("/telegram/webhook", json=update, headers=TELEGRAM_SECRET)
    assert r.status_code == 200 and r.json()[0]["text"]
    assert t.status_code == 200
    assert "RecursionError" not in caplog.text
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR and rec.name != "channels.delivery"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("lệ\x00 phí", "lệ phí"),
        ("\x00\x00", ""),
        ("bình thường", "bình thường"),
    ],
    ids=["nul-inside", "only-nul", "clean"],
)
def test_rest_text_is_stored_without_nul(client: TestClient, kb_copy: Database, raw: str, expected: str) -> None:
    body = json.dumps({"sender": "nul\x00-sender", "message": raw})  # \u0000 escapes
    r = client.post("/webhooks/rest/webhook", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()[0]["recipient_id"] == "nul\x00-sender"
    with kb_copy.sessions() as s:
        row = s.execute(select(Message.text).where(Message.direction == "in").order_by(Message.id.desc())).first()
    assert row is not None and row.text == expected


def test_rest_lone_surrogate_is_refused_in_vietnamese(client: TestClient) -> None:
    body = json.dumps({"sender": "s", "message": "a\ud800b"})  # valid JSON, no valid text
    r = client.post("/webhooks/rest/webhook", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "ký tự không hợp lệ" in error_of(r)


def test_telegram_text_with_nul_and_lone_surrogate_is_stored_clean(client: TestClient, kb_copy: Database) -> None:
    update = {
        "update_id": 990002,
        "message": {
            "message_id": 2,
            "date": 1763888000,
            "chat": {"id": 43, "type": "private"},
            "from": {"id": 43, "is_bot": False, "first_name": "B"},
            "text": "lệ phí\x00 kết hôn\ud800",
        },
    }
    body = json.dumps(update)
    r = client.post("/telegram/webhook", content=body, headers={"Content-Type": "application/json", **TELEGRAM_SECRET})
    assert r.status_code == 200
    with kb_copy.sessions() as s:
        texts = s.scalars(select(Message.text).where(Message.channel == "telegram", Message.direction == "in")).all()
    assert texts == ["lệ phí kết hôn\ufffd"]


def _turn(msg: IncomingMessage) -> TurnRecord:
    return TurnRecord(
        channel=msg.channel, sender=msg.sender, unit=None, question=msg.text, ref="r1", replies=["ok"], state={}
    )


def test_nul_is_stripped_before_storage_on_both_databases(db: Database) -> None:
    """PostgreSQL refuses NUL in text outright; SQLite would keep it. Neither sees one."""
    store = ConversationStore(db)
    msg = IncomingMessage(channel="zalo", sender="u\x001", text="đăng ký\x00 khai sinh\ud800")
    assert "\x00" not in msg.sender + msg.text
    store.record(Memory(None, {}), _turn(msg))
    with db.sessions() as s:
        assert s.scalars(select(Message.text).where(Message.direction == "in")).all() == ["đăng ký khai sinh\ufffd"]
    if db.engine.dialect.name == "postgresql":
        raw = TurnRecord(channel="zalo", sender="u2", unit=None, question="a\x00b", ref="r2", replies=[], state={})
        with pytest.raises((DataError, ValueError)):
            store.record(Memory(None, {}), raw)  # what the stripping spares us


@pytest.mark.parametrize(
    ("raw", "deep"),
    [
        (b"[]", False),
        (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, False),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), True),
        (b'{"t": "' + b"[" * 500 + b'"}', False),  # brackets inside a string do not nest
        (b'{"t": "\\"' + b"{" * 500 + b'"}', False),  # nor after an escaped quote
        (b'[{"a": [{"b": []}]}]' * 100, False),  # many, but shallow
    ],
    ids=["empty", "at-limit", "over-limit", "in-string", "escaped-quote", "many-shallow"],
)
def test_depth_is_counted_outside_strings(raw: bytes, deep: bool) -> None:
    assert too_deep(raw) is deep


def test_read_json_accepts_real_updates() -> None:
    from pathlib import Path

    for path in (Path(__file__).parent / "fixtures" / "telegram").glob("*.json"):
        data: Any = read_json(path.read_bytes())
        assert isinstance(data, dict) and "update_id" in data
