"""Faults under load: `motcua serve --workers 2` on 127.0.0.1, driven by concurrent REST
conversations while something breaks and comes back. Per fault it prints messages sent,
answered (HTTP 200), refused (the client was told: 503 or a dropped connection), stored (found in
the database at the end), lost (answered but not stored), duplicated, and how long /healthz took
to tell the truth after the fault and after the recovery.

Faults: a worker killed with SIGKILL; the SQLite file deleted (a copy restored later); the
SQLite file replaced by a copy; a PostgreSQL server of the benchmark's own stopped and started;
the Telegram Bot API down (a local fake one, stopped and started); replayed webhooks (the same
Telegram update_id / Zalo msg_id sent twice). Targets: lost 0, /healthz truthful within 2 s.

Run: nice .venv/bin/python benchmarks/faults.py [--seconds 9] [--rate 40] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import hashlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from _setup import ROOT, fresh_kb, questions, train

from bot.settings import Settings
from tests.own_postgres import OwnPostgres

TELEGRAM_TOKEN = "7000000001:FAULT-BENCH"
TELEGRAM_SECRET = "fault-bench-secret"
ZALO_APP_ID, ZALO_SECRET = "4242", "zalo-fault-bench"
MARK = re.compile(r"\[m(\d+)\]")
HAS_TELEGRAM_BASE = "telegram_api_base" in Settings.__dataclass_fields__
"""Whether this build can point Telegram at a local Bot API (never at the real one here)."""


# --- stand-ins for the Telegram Bot API and the Zalo OA API ---------------------------------


class FakeApi:
    """A local HTTP server answering Telegram's `getMe`/`sendMessage` and Zalo's OA message API;
    counts what it was asked to send, per recipient. `stop()` closes the port."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.sent: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    params = json.loads(raw or b"{}")
                except ValueError:
                    from urllib.parse import parse_qs

                    params = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                method = self.path.rsplit("/", 1)[-1]
                result: Any = True
                if method == "getMe":
                    result = {"id": 7000000001, "is_bot": True, "first_name": "Bot", "username": "fault_bench_bot"}
                elif method == "sendMessage":
                    outer.count(f"tg:{params.get('chat_id')}")
                    chat = {"id": int(params["chat_id"]), "type": "private"}
                    result = {"message_id": 1, "date": int(time.time()), "chat": chat, "text": params.get("text", "")}
                elif self.path.endswith("/v3.0/oa/message/cs"):
                    outer.count(f"zalo:{params.get('recipient', {}).get('user_id')}")
                    return self.reply({"error": 0, "message": "Success", "data": {"message_id": "x"}})
                self.reply({"ok": True, "result": result})

            def reply(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def count(self, key: str) -> None:
        with self._lock:
            self.sent[key] = self.sent.get(key, 0) + 1

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


# --- the server under test ---------------------------------------------------------------


class Server:
    """`motcua serve --workers N` in its own process group, over the given database."""

    def __init__(self, folder: Path, database_url: str, model: Path, workers: int, api: FakeApi) -> None:
        self.folder = folder
        self.port = _free_port()
        self.workers = workers
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "MOTCUA_DATABASE_URL": database_url,
            "MOTCUA_MODEL_PATH": str(model),
            "MOTCUA_ZALO_APP_ID": ZALO_APP_ID,
            "MOTCUA_ZALO_SECRET_KEY": ZALO_SECRET,
            "MOTCUA_ZALO_ACCESS_TOKEN": "zalo-token",
            "MOTCUA_ZALO_API_BASE": api.base,
        }
        if HAS_TELEGRAM_BASE:
            env |= {
                "MOTCUA_TELEGRAM_TOKEN": TELEGRAM_TOKEN,
                "MOTCUA_TELEGRAM_SECRET": TELEGRAM_SECRET,
                "MOTCUA_TELEGRAM_API_BASE": api.base + "/bot",
            }
        self.log = folder / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--port", str(self.port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "wb"),
            start_new_session=True,
        )
        ready: set[int] = set()
        deadline = time.monotonic() + 180
        while len(ready) < workers and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("server exited: " + self.log.read_text()[-2000:])
            try:
                health = httpx.get(self.base + "/healthz", timeout=1)
                if health.status_code == 200:
                    ready.add(health.json()["worker"])
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        if len(ready) < workers:
            raise SystemExit("server did not start: " + self.log.read_text()[-2000:])

    def worker_pids(self) -> list[int]:
        """The serving workers: children of the template the supervisor runs (channels/web/server.py)."""

        def children(pid: int) -> list[int]:
            try:
                return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
            except FileNotFoundError:
                return []

        return [w for template in children(self.process.pid) for w in children(template)]

    def pending(self) -> int:
        """Messages kept in memory by the workers that answer /healthz (new connection each time)."""
        seen: dict[int, int] = {}
        for _ in range(10):
            try:
                body = httpx.get(self.base + "/healthz", timeout=2).json()
                seen[body["worker"]] = body.get("pending_messages", 0)
            except (httpx.HTTPError, ValueError, KeyError):
                pass
        return sum(seen.values())

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)


# --- load, health watching and counting ------------------------------------------------------


@dataclass
class Tally:
    """What the clients saw, by message number."""

    accepted: set[int] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    apologies: int = 0
    sent: int = 0


class HealthWatch:
    """Polls /healthz every 50 ms on a new connection; remembers when each status was seen."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.seen: list[tuple[float, int, int | None]] = []
        """(when, status, worker process) of every poll; status 0 when no answer came."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            worker = None
            try:
                r = httpx.get(self.base + "/healthz", timeout=2)
                status, worker = r.status_code, r.json().get("worker")
            except (httpx.HTTPError, ValueError):
                status = 0
            self.seen.append((time.monotonic(), status, worker))
            self._stop.wait(0.05)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def first(self, status: int, after: float, until: float | None = None) -> float | None:
        """Seconds from `after` to the first poll answered `status` (before `until`)."""
        for at, seen, _worker in self.seen:
            if at >= after and (until is None or at < until) and seen == status:
                return at - after
        return None


async def rest_load(base: str, seconds: float, rate: float, conversations: int, first: int, tally: Tally) -> None:
    """`conversations` citizens, together `rate` messages/s, for `seconds`; each message carries
    its number ([mN]) so the stored rows can be matched to the messages."""
    texts = questions()
    interval = conversations / rate
    stop = time.monotonic() + seconds
    counter = iter(range(first, first + 10**6))

    async def citizen(n: int) -> None:
        await asyncio.sleep(n * interval / conversations)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            i = 0
            while time.monotonic() < stop:
                number = next(counter)
                started = time.monotonic()
                tally.sent += 1
                text = f"{texts[(n * 31 + i) % len(texts)]} [m{number}]"
                try:
                    r = await client.post(
                        "/webhooks/rest/webhook", json={"sender": f"fault-{first}-{n}", "message": text}
                    )
                    if r.status_code == 200:
                        tally.accepted.add(number)
                        tally.apologies += r.json()[0]["text"].startswith("Xin lỗi, hệ thống đang gặp sự cố")
                    else:
                        tally.refused.append(str(r.status_code))
                except httpx.HTTPError as exc:
                    tally.refused.append(type(exc).__name__)
                i += 1
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    await asyncio.gather(*(citizen(n) for n in range(conversations)))


def stored_numbers(read: Callable[[str], list[str]], first: int, last: int) -> list[int]:
    """Message numbers found in stored questions (repeated when stored twice)."""
    found = []
    for text in read("SELECT text FROM message WHERE direction = 'in'"):
        for m in MARK.finditer(text or ""):
            if first <= int(m.group(1)) < last:
                found.append(int(m.group(1)))
    return found


def sqlite_reader(path: Path) -> Callable[[str], list[str]]:
    def read(sql: str) -> list[str]:
        with sqlite3.connect(path) as conn:  # the file the path names now
            return [row[0] for row in conn.execute(sql)]

    return read


def pg_reader(url: str) -> Callable[[str], list[str]]:
    from sqlalchemy import create_engine, text

    def read(sql: str) -> list[str]:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                return [row[0] for row in conn.execute(text(sql))]
        finally:
            engine.dispose()

    return read


@contextmanager
def write_turn(path: Path) -> Iterator[None]:
    """Hold the SQLite writers' lock (as every worker takes it to write), so the copy taken for
    a restore holds every write made before it."""
    with open(path.with_name(path.name + ".write-lock"), "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        yield


def backup(path: Path, to: Path) -> None:
    src, dst = sqlite3.connect(path), sqlite3.connect(to)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()


@dataclass
class Row:
    fault: str
    sent: int = 0
    answered: int = 0
    apologies: int = 0
    refused: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    health: str = ""
    note: str = ""


def wait_flushed(server: Server, within: float = 8.0) -> None:
    deadline = time.monotonic() + within
    while server.pending() and time.monotonic() < deadline:
        time.sleep(0.2)


def run_rest_fault(
    name: str,
    server: Server,
    read: Callable[[str], list[str]],
    first: int,
    seconds: float,
    rate: float,
    fault: Callable[[], None],
    recover: Callable[[], None] | None,
    health: Callable[[HealthWatch, float, float | None], str],
) -> Row:
    tally = Tally()
    with HealthWatch(server.base) as watch:

        async def scenario() -> tuple[float, float | None]:
            load = asyncio.create_task(rest_load(server.base, seconds, rate, 8, first, tally))
            await asyncio.sleep(seconds / 3)
            await asyncio.to_thread(fault)
            fault_at = time.monotonic()  # when the fault is complete (a copy of the file takes a moment)
            recovered_at = None
            if recover is not None:
                await asyncio.sleep(seconds / 3)
                await asyncio.to_thread(recover)
                recovered_at = time.monotonic()
            await load
            return fault_at, recovered_at

        fault_at, recovered_at = asyncio.run(scenario())
        wait_flushed(server)
        time.sleep(0.5)
    found = stored_numbers(read, first, first + 10**6)
    unique = set(found)
    return Row(
        fault=name,
        sent=tally.sent,
        answered=len(tally.accepted),
        apologies=tally.apologies,
        refused=len(tally.refused),
        stored=len(found),
        lost=len(tally.accepted - unique),
        duplicated=len(found) - len(unique),
        health=health(watch, fault_at, recovered_at),
    )


def counts(r: Row) -> list[int]:
    return [r.sent, r.answered, r.apologies, r.refused, r.stored, r.lost, r.duplicated]


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def db_health(watch: HealthWatch, fault_at: float, recovered_at: float | None) -> str:
    down = watch.first(503, fault_at, recovered_at)
    text = f"503 after {_secs(down)}"
    back = watch.first(200, recovered_at if recovered_at is not None else fault_at + (down or 0) + 0.01)
    return text + f", 200 again after {_secs(back)}" + (" of the recovery" if recovered_at is not None else "")


# --- webhooks: Telegram down, replays ---------------------------------------------------------


def telegram_update(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100000,
            "from": {"id": chat, "is_bot": False, "first_name": "Lan"},
            "chat": {"id": chat, "first_name": "Lan", "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }


def zalo_event(user: str, msg_id: str, text: str) -> tuple[bytes, dict[str, str]]:
    timestamp = str(int(time.time() * 1000))
    data = {
        "app_id": ZALO_APP_ID,
        "event_name": "user_send_text",
        "timestamp": timestamp,
        "sender": {"id": user},
        "recipient": {"id": "579745863508352884"},
        "message": {"msg_id": msg_id, "text": text},
    }
    body = json.dumps(data, ensure_ascii=False)
    mac = "mac=" + hashlib.sha256(f"{ZALO_APP_ID}{body}{timestamp}{ZALO_SECRET}".encode()).hexdigest()
    return body.encode(), {"Content-Type": "application/json", "X-ZEvent-Signature": mac}


def run_telegram_down(server: Server, api: FakeApi, read: Callable[[str], list[str]], first: int, n: int) -> Row:
    """`n` updates, one chat each; the Bot API is down for the middle third of them."""
    row = Row("Telegram Bot API down, then up")
    texts = questions()
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    accepted: set[int] = set()
    with httpx.Client(base_url=server.base, timeout=15) as client:
        for i in range(n):
            if i == n // 3:
                api.stop()
            if i == 2 * n // 3:
                api.start()
            number = first + i
            update = telegram_update(500000 + number, 900000 + number, f"{texts[i % len(texts)]} [m{number}]")
            row.sent += 1
            try:
                r = client.post("/telegram/webhook", json=update, headers=headers)
                if r.status_code == 200:
                    accepted.add(number)
                else:
                    row.refused += 1
            except httpx.HTTPError:
                row.refused += 1
    wait_flushed(server)
    time.sleep(3)  # sends retried in the background
    found = stored_numbers(read, first, first + n)
    delivered = sum(1 for i in range(n) if api.sent.get(f"tg:{900000 + first + i}"))
    row.answered, row.stored = len(accepted), len(found)
    row.lost = len(accepted - set(found))
    row.duplicated = len(found) - len(set(found))
    row.health = "— (not a database fault)"
    row.note = f"webhook 200 for {len(accepted)}; replies delivered to {delivered} of {n} chats"
    return row


def run_replays(server: Server, api: FakeApi, read: Callable[[str], list[str]], first: int, n: int) -> list[Row]:
    """`n` Telegram updates and `n` Zalo events, each sent twice with the same id."""
    texts = questions()
    rows = []
    with httpx.Client(base_url=server.base, timeout=15) as client:
        if HAS_TELEGRAM_BASE:
            row = Row("Telegram update_id replayed")
            headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            for i in range(n):
                number = first + i
                update = telegram_update(700000 + number, 800000 + number, f"{texts[i % len(texts)]} [m{number}]")
                for _ in range(2):
                    row.sent += 1
                    r = client.post("/telegram/webhook", json=update, headers=headers)
                    row.answered += r.status_code == 200
                    row.refused += r.status_code != 200
            rows.append((row, first, "tg", 800000))
        else:
            rows.append((Row("Telegram update_id replayed", note=_NO_TELEGRAM), first, "", 0))
        zfirst = first + n
        row = Row("Zalo msg_id replayed")
        for i in range(n):
            number = zfirst + i
            body, headers = zalo_event(f"77{number}", f"msg-{number}", f"{texts[i % len(texts)]} [m{number}]")
            for _ in range(2):
                row.sent += 1
                r = client.post("/zalo/webhook", content=body, headers=headers)
                row.answered += r.status_code == 200
                row.refused += r.status_code != 200
        rows.append((row, zfirst, "zalo", 0))
    time.sleep(3)  # Zalo answers after its 200
    out = []
    for row, start, kind, chat0 in rows:
        if not kind:
            out.append(row)
            continue
        found = stored_numbers(read, start, start + n)
        row.stored = len(found)
        row.duplicated = len(found) - len(set(found))
        row.lost = n - len(set(found))
        if kind == "tg":
            replies = [api.sent.get(f"tg:{chat0 + start + i}", 0) for i in range(n)]
        else:
            replies = [api.sent.get(f"zalo:77{start + i}", 0) for i in range(n)]
        row.health = "— (not a database fault)"
        row.note = f"{n} distinct ids, each sent twice; messages sent to the platform API: {sum(replies)}"
        out.append(row)
    return out


_NO_TELEGRAM = "not run: this build has no MOTCUA_TELEGRAM_API_BASE (never aimed at the real Bot API)"


# --- main --------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=9.0, help="load per fault")
    ap.add_argument("--rate", type=float, default=30.0, help="REST messages/s offered during a fault")
    ap.add_argument("--webhooks", type=int, default=60, help="Telegram updates in the Bot-API-down run")
    ap.add_argument("--replays", type=int, default=40, help="ids sent twice per channel")
    ap.add_argument("--skip-postgres", action="store_true")
    args = ap.parse_args()
    started = time.monotonic()
    rows: list[Row] = []
    api = FakeApi()
    api.start()
    with tempfile.TemporaryDirectory(prefix="motcua-faults-") as tmp:
        folder = Path(tmp)
        db = fresh_kb(folder)
        engine, _ = train(db)
        from bot.nlu.engine import DEFAULT_DATA, data_fingerprint

        model = folder / "model.pkl"
        engine.save(model, fingerprint=data_fingerprint(DEFAULT_DATA))
        del engine
        path = Path(str(db.engine.url.database))
        db.dispose()
        read = sqlite_reader(path)
        print(f"[{time.monotonic() - started:.0f} s] knowledge base and model ready; SQLite faults", file=sys.stderr)

        server = Server(folder, f"sqlite:///{path}", model, 2, api)
        try:
            killed: dict[str, Any] = {}

            def kill_worker() -> None:
                workers = server.worker_pids()
                killed["workers"] = set(workers)
                os.kill(workers[0], signal.SIGKILL)

            def kill_health(watch: HealthWatch, fault_at: float, _recovered: float | None) -> str:
                # The other worker keeps serving, so 200 is the truth; the killed one is replaced.
                statuses = sorted({s for at, s, _ in watch.seen if at >= fault_at})
                new = next((at for at, _, w in watch.seen if at >= fault_at and w not in killed["workers"]), None)
                deadline = time.monotonic() + 90
                while new is None and time.monotonic() < deadline:  # before the next fault starts
                    try:
                        if httpx.get(server.base + "/healthz", timeout=1).json()["worker"] not in killed["workers"]:
                            new = time.monotonic()
                    except (httpx.HTTPError, ValueError, KeyError):
                        pass
                    time.sleep(0.05)
                return (
                    f"statuses seen {statuses}; the replacement worker answered after {_secs(new and new - fault_at)}"
                )

            rows.append(
                run_rest_fault(
                    "worker killed (SIGKILL)", server, read, 0, args.seconds, args.rate, kill_worker, None, kill_health
                )
            )
            copy = folder / "restore.db"

            def delete() -> None:
                with write_turn(path):
                    backup(path, copy)
                    path.unlink()

            rows.append(
                run_rest_fault(
                    "SQLite file deleted, copy restored",
                    server,
                    read,
                    100000,
                    args.seconds,
                    args.rate,
                    delete,
                    lambda: os.replace(copy, path),
                    db_health,
                )
            )

            def replace_file() -> None:
                with write_turn(path):
                    backup(path, copy)
                    os.replace(copy, path)

            rows.append(
                run_rest_fault(
                    "SQLite file replaced by a copy",
                    server,
                    read,
                    200000,
                    args.seconds,
                    args.rate,
                    replace_file,
                    None,
                    db_health,
                )
            )
            if HAS_TELEGRAM_BASE:
                rows.append(run_telegram_down(server, api, read, 300000, args.webhooks))
            else:
                rows.append(Row("Telegram Bot API down, then up", note=_NO_TELEGRAM))
            rows += run_replays(server, api, read, 400000, args.replays)
        finally:
            server.stop()

        if not args.skip_postgres:
            print(f"[{time.monotonic() - started:.0f} s] PostgreSQL of our own", file=sys.stderr)
            from knowledge.db import Database
            from knowledge.seed import initialise

            pg = OwnPostgres()
            try:
                pg.start()
                pg_db = Database(pg.url)
                initialise(pg_db)
                pg_db.dispose()
                server = Server(folder, pg.url, model, 2, api)
                try:
                    rows.append(
                        run_rest_fault(
                            "PostgreSQL stopped, then started",
                            server,
                            pg_reader(pg.url),
                            600000,
                            args.seconds,
                            args.rate,
                            pg.stop,
                            pg.start,
                            db_health,
                        )
                    )
                finally:
                    server.stop()
            finally:
                pg.close()
    api.stop()
    took = time.monotonic() - started
    print(
        f"Faults under load: motcua serve --workers 2 on 127.0.0.1, REST at {args.rate:.0f} msg/s offered "
        f"by 8 conversations for {args.seconds:.0f} s per fault (fault at 1/3, recovery at 2/3); "
        f"{took:.0f} s in all"
    )
    head = ("fault", "sent", "answered", "apologies", "refused", "stored", "lost", "duplicated", "/healthz")
    table = [(r.fault, *(["—"] * 7 if r.note.startswith("not run") else counts(r)), r.health or "—") for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *table, strict=True)]
    for line in (head, *table):
        print(
            "  ".join(
                str(x).ljust(w) if i in (0, 8) else str(x).rjust(w)
                for i, (x, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    for r in rows:
        if r.note:
            print(f"- {r.fault}: {r.note}")
    print(
        "answered = HTTP 200 (apologies included: the message was kept and written later); refused = the "
        "client was told (503, dropped connection) and may send again; lost = answered but not stored "
        "(target 0); /healthz polled every 50 ms (target: truthful within 2 s)"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    main()
