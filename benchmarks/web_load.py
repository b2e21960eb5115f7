"""Load test of the REST channel: start `motcua serve --workers 2` on 127.0.0.1 over a fresh
SQLite knowledge base, drive it with 50 concurrent conversations for a bounded time, print
throughput, latency and the server's memory. Targets: >= 300 messages/s, p99 <= 100 ms, 0 errors.
Run: .venv/bin/python benchmarks/web_load.py [--seconds 20] [--workers 2] [--concurrency 50]
     [--answer-threads 0]   (1 or more: answer in a thread pool, as MOTCUA_ANSWER_THREADS)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _setup import fresh_kb, questions, summary, train

FOLLOW_UPS = ["thế lệ phí bao nhiêu?", "mất mấy ngày", "nộp ở đâu", "nop online duoc ko", "cần giấy tờ gì"]


def server_memory_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total / 1024


def worker_pids(pid: int) -> list[int]:
    """The server's uvicorn workers (not multiprocessing's resource tracker)."""
    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [c for c in children if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()]


def worker_cpu_seconds(pid: int) -> list[float]:
    """User + system CPU time of each worker process of the server."""
    out = []
    for child in worker_pids(pid):
        fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        out.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    return out


def connections_per_worker(pid: int) -> list[int]:
    """Open sockets of each worker (the listening one included), read from /proc."""
    out = []
    for child in worker_pids(pid):
        fds = Path(f"/proc/{child}/fd")
        out.append(sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:")))
    return out


def cpu_ticks() -> tuple[int, int]:
    """(stolen by the hypervisor, total) CPU ticks of the machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[7], sum(fields)


class Connection:
    """A minimal HTTP/1.1 keep-alive client: the load generator must cost far less CPU than the
    server it measures (both share this machine's two cores)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, payload: dict) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        body = json.dumps(payload, ensure_ascii=False).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
        data = await self.reader.readexactly(length)
        return int(status_line.split()[1]), data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def conversation(
    host: str,
    port: int,
    n: int,
    stop: float,
    texts: list[str],
    latencies: list[float],
    errors: list[str],
    interval: float,
) -> None:
    """One citizen: a message, the answer, then the next message `interval` seconds after the
    previous one was sent (0 = at once, to find the saturation point)."""
    rng = random.Random(n)
    await asyncio.sleep(rng.random() * interval)  # conversations do not start in lockstep
    sender = f"load-{n}-{rng.random():.6f}"
    conn = Connection(host, port)
    i = 0
    while time.monotonic() < stop:
        message = rng.choice(FOLLOW_UPS) if i % 3 == 2 else rng.choice(texts)
        started = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(
                conn.post("/webhooks/rest/webhook", {"sender": sender, "message": message}), timeout=10
            )
            if status != 200 or not json.loads(body):
                errors.append(str(status))
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
            errors.append(type(exc).__name__)
            await conn.close()
            conn = Connection(host, port)
        took = time.perf_counter() - started
        latencies.append(took * 1000)
        i += 1
        if interval > took:
            await asyncio.sleep(interval - took)
    await conn.close()


async def drive(
    host: str, port: int, seconds: float, concurrency: int, rate: float, server_pid: int
) -> tuple[list[float], list[str], float, list[int], float]:
    texts = questions()
    latencies: list[float] = []
    errors: list[str] = []
    warm = Connection(host, port)
    for t in texts[:20]:  # warm-up, not measured
        await warm.post("/webhooks/rest/webhook", {"sender": "warm", "message": t})
    await warm.close()
    started = time.monotonic()
    stop = started + seconds
    interval = concurrency / rate if rate > 0 else 0.0

    async def sample() -> list[int]:
        await asyncio.sleep(seconds / 2)
        return connections_per_worker(server_pid)

    stolen0, total0 = cpu_ticks()
    spread, *_ = await asyncio.gather(
        sample(), *(conversation(host, port, n, stop, texts, latencies, errors, interval) for n in range(concurrency))
    )
    stolen1, total1 = cpu_ticks()
    steal = (stolen1 - stolen0) / max(1, total1 - total0)
    return latencies, errors, time.monotonic() - started, spread, steal


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument(
        "--answer-threads",
        type=int,
        default=0,
        help="MOTCUA_ANSWER_THREADS for the server (0: answer on each worker's event loop)",
    )
    ap.add_argument(
        "--rate",
        type=float,
        default=330.0,
        help="messages/s offered by all conversations together (each pauses between messages)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = fresh_kb(folder)
        engine, _ = train(db)
        engine.save(folder / "model.pkl", fingerprint=_fingerprint())
        db.dispose()
        # The load generator must not pause itself: a full garbage collection over the model
        # trained above (hundreds of MB of objects) stalls every request in flight by up to a
        # second, and that stall would be counted as the server's latency.
        del engine
        gc.collect()
        gc.freeze()
        port = 8765 + os.getpid() % 1000
        env = {
            **os.environ,
            "MOTCUA_DATABASE_URL": db.url,
            "MOTCUA_MODEL_PATH": str(folder / "model.pkl"),
            "MOTCUA_ANSWER_THREADS": str(args.answer_threads),
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "server.log", "wb"),
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # Every worker must be serving before the conversations connect: a worker still
            # loading would leave all 50 kept-alive connections to the other one.
            ready: set[int] = set()
            deadline = time.monotonic() + 120
            while len(ready) < args.workers and time.monotonic() < deadline:
                if server.poll() is not None:
                    raise SystemExit("server exited: " + (folder / "server.log").read_text()[-2000:])
                try:
                    health = httpx.get(base + "/healthz", timeout=1)  # a new connection each time
                    if health.status_code == 200:
                        ready.add(health.json()["worker"])
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            if len(ready) < args.workers:
                raise SystemExit("server did not start: " + (folder / "server.log").read_text()[-2000:])
            runs = []
            for rate in (args.rate, 0.0):
                load = drive("127.0.0.1", port, args.seconds, args.concurrency, rate, server.pid)
                runs.append((rate, *asyncio.run(load)))
            memory = server_memory_mb(server.pid)
            cpu = worker_cpu_seconds(server.pid)
        finally:
            _stop(server)
        print(
            f"REST load on 127.0.0.1: {args.workers} workers, {args.concurrency} concurrent conversations, "
            f"{args.seconds:.0f} s per run, "
            + (
                f"{args.answer_threads} answering thread(s) per worker"
                if args.answer_threads
                else "answers on each worker's event loop"
            )
        )
        for rate, latencies, errors, took, spread, steal in runs:
            label = f"paced at {rate:.0f} msg/s offered" if rate else "no pause between messages (saturation)"
            print(f"- {label}:")
            print(f"    throughput {len(latencies) / took:.0f} messages/s (target >= 300)")
            print("    " + summary("latency", latencies) + " (target p99 <= 100 ms)")
            print(f"    errors {len(errors)} (target 0){' ' + str(sorted(set(errors))) if errors else ''}")
            print(
                f"    sockets held by each worker mid-run: {' / '.join(map(str, spread))}; "
                f"CPU time taken by the hypervisor (steal): {steal:.0%}"
            )
        print(f"server memory (supervisor + workers, after the runs): {memory:.0f} MB")
        print("CPU time of each worker (start-up included): " + ", ".join(f"{c:.1f} s" for c in cpu))


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers: gently, then for sure."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def _fingerprint() -> str:
    from bot.nlu.engine import DEFAULT_DATA, data_fingerprint

    return data_fingerprint(DEFAULT_DATA)


if __name__ == "__main__":
    main()
