"""The Rasa-compatible REST channel, health check, pages and bad input on every endpoint."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from knowledge.models import Message

URL = "/webhooks/rest/webhook"


def test_rasa_rest_contract(web) -> None:
    r = web.post(URL, json={"sender": "rest-1", "message": "làm giấy khai sinh cần gì"})
    assert r.status_code == 200
    replies = r.json()
    assert replies[0]["recipient_id"] == "rest-1"
    assert "Giấy chứng sinh" in replies[0]["text"]
    assert {"title": "Lệ phí", "payload": '/ask_fee{"procedure":"1.001193"}'} in replies[0]["buttons"]
    follow = web.post(URL, json={"sender": "rest-1", "message": '/ask_fee{"procedure":"1.001193"}'}).json()
    assert "Miễn phí" in follow[0]["text"]


def test_openapi_and_health(web) -> None:
    assert web.get("/docs").status_code == 200
    spec = web.get("/openapi.json").json()
    assert URL in spec["paths"] and "/healthz" in spec["paths"]
    health = web.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    assert health.json()["worker"] == os.getpid()  # which worker process answered


def test_health_reports_a_broken_database(web, assistant) -> None:
    assistant.db.engine.dispose()
    original = assistant.db.engine.url
    from sqlalchemy import create_engine

    assistant.db.engine = create_engine("sqlite:////nonexistent/dir/x.db")
    try:
        r = web.get("/healthz")
        assert r.status_code == 503 and r.json()["status"] == "error"
    finally:
        assistant.db.engine = create_engine(original)


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "JSON"),
        ({"json": {"sender": "a"}}, 400, "thiếu trường message"),
        ({"json": {"message": "xin chào"}}, 400, "thiếu trường sender"),
        ({"json": {"sender": 5, "message": "xin chào"}}, 400, "sai kiểu"),
        ({"json": {"sender": "a", "message": ["x"]}}, 400, "sai kiểu"),
        ({"json": ["sender", "message"]}, 400, "đối tượng JSON"),
        ({"json": {"sender": "", "message": "x"}}, 400, "không được để trống"),
        ({"json": {"sender": "a", "message": "x" * 5000}}, 400, "quá dài"),
        (
            {"content": b"{" + b" " * (1024 * 1024) + b"}", "headers": {"content-type": "application/json"}},
            413,
            "quá lớn",
        ),
    ],
    ids=[
        "malformed",
        "no-message",
        "no-sender",
        "sender-int",
        "message-list",
        "array",
        "empty-sender",
        "too-long",
        "one-megabyte",
    ],
)
def test_bad_requests_get_clear_4xx(web, kwargs: dict, status: int, message: str) -> None:
    r = web.post(URL, **kwargs)
    assert r.status_code == status
    assert message in r.json()["error"]


def test_empty_and_hostile_messages_get_polite_replies_and_are_all_stored(web, kb_copy) -> None:
    texts = ["", "   ", "<script>alert(1)</script>", "\x00\x01", "😀", "a" * 3999]
    for i, text in enumerate(texts):
        r = web.post(URL, json={"sender": f"odd-{i}", "message": text})
        assert r.status_code == 200 and r.json() and r.json()[0]["text"]
    with kb_copy.sessions() as s:
        stored = s.scalar(select(func.count(Message.id)).where(Message.direction == "in"))
    assert stored == len(texts)


def test_unknown_routes_and_methods(web) -> None:
    assert web.get("/nope").status_code == 404
    assert web.get(URL).status_code == 405
    page = web.get("/thu-tuc/9.999999", headers={"accept": "text/html"})
    assert page.status_code == 404 and "Không tìm thấy" in page.text


def test_cors_only_for_configured_origins(web) -> None:
    ok = web.options(
        URL, headers={"Origin": "https://phuong-binhan.example.vn", "Access-Control-Request-Method": "POST"}
    )
    assert ok.headers.get("access-control-allow-origin") == "https://phuong-binhan.example.vn"
    other = web.post(URL, json={"sender": "c", "message": "xin chào"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_demo_page_embeds_the_widget_and_shows_the_snippet(web) -> None:
    page = web.get("/")
    assert page.status_code == 200
    assert '<script src="/widget.js" data-unit="phuong-binh-an"' in page.text
    assert "&lt;script src=" in page.text  # the snippet to copy, escaped
    js = web.get("/widget.js")
    assert js.status_code == 200 and "textContent" in js.text and "innerHTML = r" not in js.text


def test_procedure_page(web) -> None:
    page = web.get("/thu-tuc/1.000894")
    assert page.status_code == 200 and "Thủ tục đăng ký kết hôn" in page.text and "Giấy chứng nhận kết hôn" in page.text


@pytest.mark.parametrize("threads", [0, 2])
def test_answers_on_the_event_loop_or_a_thread_pool_keep_every_message(
    assistant, settings_for, kb_copy, threads: int
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient

    from channels.web.app import create_app

    settings = settings_for(kb_copy, answer_threads=threads)
    with TestClient(create_app(settings, assistant)) as client:

        def ask(i: int) -> str:
            r = client.post(URL, json={"sender": f"pool-{threads}-{i % 4}", "message": "lệ phí đăng ký kết hôn"})
            assert r.status_code == 200
            return r.json()[0]["text"]

        with ThreadPoolExecutor(8) as callers:
            answers = list(callers.map(ask, range(24)))
    assert all(answers)
    with kb_copy.sessions() as s:
        stored = s.scalar(select(func.count(Message.id)).where(Message.direction == "in"))
    assert stored == 24
