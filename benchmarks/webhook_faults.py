"""Webhook faults on 127.0.0.1: the Telegram Bot API down (connection refused, then HTTP 502)
while updates arrive, the Zalo OA API answering 503, and every update or event delivered twice
by two senders at once. Prints, per fault: sent, HTTP 200, stored, answered, duplicates refused,
lost (accepted but never stored). Target: lost 0, stored once per event, every answer delivered
once the API is back.

Run: nice .venv/bin/python benchmarks/webhook_faults.py [--updates 100]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import uvicorn
from _setup import fresh_kb, questions, train
from sqlalchemy import func, select

from bot.assistant import Assistant
from bot.settings import Settings
from channels.delivery import RetryPolicy
from channels.telegram.adapter import TelegramAdapter
from channels.web.app import create_app
from channels.zalo.adapter import ZaloAdapter, signature
from knowledge.db import Database
from knowledge.models import Message

TOKEN = "7000000001:BENCH"
APP_ID = "4301234567890123456"
ZALO_SECRET = "bench-secret"
RETRY = RetryPolicy(attempts=30, first_delay=0.2, factor=1.5, max_delay=1.0)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class FakeApi:
    """The Bot API and the OA API on one port: `fail` is None, "502" or "503"; `stop()` closes it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.fail: str | None = None
        self.sent: list[tuple[str, str]] = []  # (platform, recipient)
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.fail:
                    return self.reply(int(outer.fail), {"ok": False, "error_code": int(outer.fail)})
                method = self.path.rsplit("/", 1)[-1]
                if self.path.startswith("/v3.0/oa/"):
                    with outer.lock:
                        outer.sent.append(("zalo", json.loads(raw)["recipient"]["user_id"]))
                    return self.reply(200, {"error": 0, "message": "Success"})
                params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                if method == "getMe":
                    user = {"id": 7000000001, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
                    return self.reply(200, {"ok": True, "result": user})
                if method == "sendMessage":
                    with outer.lock:
                        outer.sent.append(("telegram", params["chat_id"]))
                    chat = {"id": int(params["chat_id"]), "type": "private"}
                    result = {"message_id": 1, "date": 1763888100, "chat": chat, "text": params["text"]}
                    return self.reply(200, {"ok": True, "result": result})
                self.reply(200, {"ok": True, "result": True})

            def reply(self, status: int, body: dict[str, Any]) -> None:
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

    def count(self, platform: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.sent if p == platform)


def update(n: int, text: str) -> dict[str, Any]:
    chat = 5_000_000 + n % 40
    return {
        "update_id": 300_000 + n,
        "message": {
            "message_id": n,
            "date": 1763888000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "A"},
            "text": text,
        },
    }


def zalo_event(n: int, text: str) -> bytes:
    data = {
        "app_id": APP_ID,
        "event_name": "user_send_text",
        "timestamp": str(int(time.time() * 1000)),
        "sender": {"id": f"zalo-user-{n % 40}"},
        "recipient": {"id": "oa"},
        "message": {"msg_id": f"bench-msg-{n}", "text": text},
    }
    return json.dumps(data, ensure_ascii=False).encode()


def stored(db: Database, channel: str, direction: str) -> int:
    with db.sessions() as s:
        q = select(func.count()).where(Message.channel == channel, Message.direction == direction)
        return int(s.scalar(q) or 0)


def wait_for(check: Any, timeout: float) -> float:
    started = time.monotonic()
    while not check() and time.monotonic() - started < timeout:
        time.sleep(0.1)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=100, help="updates (and Zalo events) per fault")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    n = args.updates
    texts = questions()
    rows: list[tuple[str, int, int, int, int, int, int, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_kb(Path(tmp))
        engine, _ = train(db)
        api = FakeApi(free_port())
        base = f"http://127.0.0.1:{api.port}"
        settings = Settings.from_env(
            {
                "MOTCUA_DATABASE_URL": db.url,
                "MOTCUA_TELEGRAM_TOKEN": TOKEN,
                "MOTCUA_TELEGRAM_SECRET": "s3cret",
                "MOTCUA_TELEGRAM_API_BASE": f"{base}/bot",
                "MOTCUA_ZALO_APP_ID": APP_ID,
                "MOTCUA_ZALO_SECRET_KEY": ZALO_SECRET,
                "MOTCUA_ZALO_ACCESS_TOKEN": "tok",
                "MOTCUA_ZALO_API_BASE": base,
            }
        )
        assistant = Assistant(settings, db, engine)
        from telegram.request import HTTPXRequest

        request = HTTPXRequest(connect_timeout=1.0, read_timeout=2.0)
        telegram = TelegramAdapter(settings, assistant, request=request, retry=RETRY)
        zalo = ZaloAdapter(settings, assistant, retry=RETRY)
        app = create_app(settings, assistant, telegram=telegram, zalo=zalo)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        wait_for(lambda: server.started, 30)
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret"}

        def post_update(i: int) -> httpx.Response:
            return http.post("/telegram/webhook", json=update(i, texts[i % len(texts)]), headers=headers)

        def post_zalo(i: int) -> httpx.Response:
            body = zalo_event(i, texts[i % len(texts)])
            data = json.loads(body)
            sig = signature(APP_ID, body.decode(), data["timestamp"], ZALO_SECRET)
            return http.post("/zalo/webhook", content=body, headers={"X-ZEvent-Signature": sig})

        def run(label: str, channel: str, post: Any, ids: range, twice: bool, recover: Any) -> None:
            before_in = stored(db, channel, "in")
            before_sent = api.count(channel)
            jobs = [i for i in ids for _ in range(2 if twice else 1)]
            with ThreadPoolExecutor(8 if twice else 4) as pool:
                responses = list(pool.map(post, jobs))
            ok = sum(1 for r in responses if r.status_code == 200)
            duplicates = sum(1 for r in responses if r.status_code == 200 and r.json().get("duplicate"))
            recover()
            took = time.monotonic()
            got_in = stored(db, channel, "in") - before_in
            expected_out = stored(db, channel, "out")  # every stored answer is one message to send
            done_before_out = done_before[channel]

            def delivered() -> int:
                return api.count(channel) - before_sent

            wait_for(lambda: delivered() >= expected_out - done_before[channel], 60)
            took = time.monotonic() - took
            answered = delivered()
            done_before[channel] = expected_out
            replies = expected_out - done_before_out
            rows.append((label, len(jobs), ok, got_in, replies, answered, duplicates, ok - duplicates - got_in, took))

        done_before = {"telegram": 0, "zalo": 0}

        # 1. Bot API refusing connections (getMe included), then answering 502, then up.
        def back_after_502() -> None:
            api.fail = "502"
            api.start()
            time.sleep(1.0)
            api.fail = None

        run("Telegram API down (refused, then 502)", "telegram", post_update, range(n), False, back_after_502)
        # 2. Zalo OA API answering 503 for 2 s.
        api.fail = "503"
        threading.Timer(2.0, lambda: setattr(api, "fail", None)).start()
        run("Zalo OA API 503 for 2 s", "zalo", post_zalo, range(n), False, lambda: None)
        # 3. Every update / event twice, from two senders at once.
        run("Telegram updates replayed (x2)", "telegram", post_update, range(n, 2 * n), True, lambda: None)
        run("Zalo events replayed (x2)", "zalo", post_zalo, range(n, 2 * n), True, lambda: None)
        http.close()
        server.should_exit = True
        api.stop()
        db.dispose()
    head = f"{'fault':38} {'sent':>5} {'200':>5} {'stored':>6} {'replies':>7} {'delivered':>9} {'dup':>4} {'lost':>4}"
    print(head + f" {'drain s':>7}")
    for label, sent, ok, got, replies, delivered, dup, lost, took in rows:
        print(f"{label:38} {sent:5d} {ok:5d} {got:6d} {replies:7d} {delivered:9d} {dup:4d} {lost:4d} {took:7.1f}")
    print(
        "sent: webhook calls; stored: questions stored; replies: answers stored (messages to send); delivered:"
        " messages the API received after it came back; dup: calls answered as replays; lost: accepted"
        " (200, not a replay) but not stored. Targets: lost 0, delivered = replies, stored once per event."
    )


if __name__ == "__main__":
    main()
