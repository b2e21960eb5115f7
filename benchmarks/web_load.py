"""Load test of the REST channel: start `motcua serve --workers 2` on 127.0.0.1 over a fresh
SQLite knowledge base, drive it with 200 concurrent conversations paced at 300 messages/s offered
for a bounded time, and print throughput, latency, errors, LOST (answered messages that are not
stored rows: the database is counted after the server stopped) and every server process's memory.
Targets: >= 300 messages/s, p99 <= 100 ms, 0 errors, 0 lost, <= 300 MB per worker, a supervisor
holding no model.

Run: .venv/bin/python benchmarks/web_load.py [--seconds 60] [--workers 2] [--concurrency 200]
     [--rate 300] [--saturation]   (also a run with no pause between messages)
     [--answer-threads 0]          (1 or more: answer in a thread pool, as MOTCUA_ANSWER_THREADS)
     [--soak [--soak-minutes 10]]  (one long paced run: memory growth per 10,000 messages)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _setup import fresh_kb, questions, summary, train

FOLLOW_UPS = ["thế lệ phí bao nhiêu?", "mất mấy ngày", "nộp ở đâu", "nop online duoc ko", "cần giấy tờ gì"]
PERSONAL = ["sđt của tôi 0912 345 678", "CCCD 001.203.004.567 ạ", "liên hệ (+84) 912-345-678"]
"""Some citizens write their numbers: the load goes through masking as in real use."""


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _memory(pid: int) -> tuple[float, float]:
    """(RSS, PSS) of one process in MB. PSS shares the pages forked workers have in common."""
    rss = pss = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except (FileNotFoundError, PermissionError):
        pass
    return rss, pss


def server_processes(pid: int) -> dict[str, list[int]]:
    """The supervisor, the template that holds the model and forks, and the serving workers."""
    templates = _children(pid)
    return {"supervisor": [pid], "template": templates, "worker": [w for t in templates for w in _children(t)]}


def worker_pids(pid: int) -> list[int]:
    return server_processes(pid)["worker"]


def memory_report(pid: int) -> tuple[list[str], float]:
    """One line per server process, and the total RSS of the workers."""
    lines, workers = [], 0.0
    for role, pids in server_processes(pid).items():
        for p in pids:
            rss, pss = _memory(p)
            lines.append(f"{role} {p}: RSS {rss:.0f} MB, PSS {pss:.0f} MB")
            if role == "worker":
                workers += rss
    return lines, workers


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
        self.used = 0.0

    KEEP_ALIVE = 4.0
    """uvicorn closes a kept-alive connection idle for 5 s: a slower conversation reconnects."""

    async def post(self, path: str, payload: dict) -> tuple[int, bytes]:
        if self.writer is not None and time.monotonic() - self.used > self.KEEP_ALIVE:
            await self.close()
            self.writer = None
        self.used = time.monotonic()
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
        if not status_line:
            raise ConnectionResetError("the server closed the connection")
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


class Run:
    """What one run of conversations measured."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.accepted = 0
        """Messages answered with HTTP 200 and replies: each must be a stored row."""
        self.took = 0.0
        self.spread: list[int] = []
        self.steal = 0.0
        self.samples: list[tuple[int, float]] = []
        """(messages answered so far, total RSS of the workers in MB), for the soak."""


async def conversation(host: str, port: int, n: int, stop: float, texts: list[str], run: Run, interval: float) -> None:
    """One citizen: a message, the answer, then the next message `interval` seconds after the
    previous one was sent (0 = at once, to find the saturation point)."""
    rng = random.Random(f"{run.tag}-{n}")
    await asyncio.sleep(rng.random() * interval)  # conversations do not start in lockstep
    sender = f"{run.tag}-conv{n}"  # no digit run a masker would take for a personal number
    conn = Connection(host, port)
    i = 0
    while time.monotonic() < stop:
        if i % 3 == 2:
            message = rng.choice(FOLLOW_UPS)
        elif i % 17 == 5:
            message = rng.choice(PERSONAL)
        else:
            message = rng.choice(texts)
        started = time.perf_counter()
        try:
            status, body = await asyncio.wait_for(
                conn.post("/webhooks/rest/webhook", {"sender": sender, "message": message}), timeout=10
            )
            if status != 200 or not json.loads(body):
                run.errors.append(str(status))
            else:
                run.accepted += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            run.errors.append(type(exc).__name__)
            await conn.close()
            conn = Connection(host, port)
        took = time.perf_counter() - started
        run.latencies.append(took * 1000)
        i += 1
        if interval > took:
            await asyncio.sleep(interval - took)
    await conn.close()


async def drive(
    host: str, port: int, seconds: float, concurrency: int, rate: float, server_pid: int, tag: str, sample: float = 0
) -> Run:
    texts = questions()
    run = Run(tag)
    warm = Connection(host, port)
    for t in texts[:20]:  # warm-up, not measured
        await warm.post("/webhooks/rest/webhook", {"sender": "warm", "message": t})
    await warm.close()
    started = time.monotonic()
    stop = started + seconds
    interval = concurrency / rate if rate > 0 else 0.0

    async def spread() -> None:
        await asyncio.sleep(seconds / 2)
        run.spread = connections_per_worker(server_pid)

    async def memory() -> None:
        while sample and time.monotonic() < stop:
            run.samples.append((run.accepted, memory_report(server_pid)[1]))
            await asyncio.sleep(sample)

    stolen0, total0 = cpu_ticks()
    await asyncio.gather(
        spread(), memory(), *(conversation(host, port, n, stop, texts, run, interval) for n in range(concurrency))
    )
    stolen1, total1 = cpu_ticks()
    run.steal = (stolen1 - stolen0) / max(1, total1 - total0)
    run.took = time.monotonic() - started
    return run


def stored(db_file: Path, tag: str) -> int:
    """Questions of one run's conversations found as rows in the database."""
    with sqlite3.connect(db_file) as conn:
        row = conn.execute(
            "SELECT count(*) FROM message m JOIN conversation c ON c.id = m.conversation_id "
            "WHERE m.direction = 'in' AND c.sender LIKE ?",
            (f"{tag}-%",),
        ).fetchone()
    return int(row[0])


def growth_per_10k(samples: list[tuple[int, float]]) -> tuple[float, int]:
    """Least-squares slope of the workers' memory against messages answered, per 10,000
    messages, past the first fifth of the run (caches filling up); and the samples used."""
    kept = samples[len(samples) // 5 :]
    if len(kept) < 3:
        return 0.0, len(kept)
    xs, ys = [float(x) for x, _ in kept], [y for _, y in kept]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return slope * 10_000, len(kept)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument(
        "--rate",
        type=float,
        default=300.0,
        help="messages/s offered by all conversations together (each pauses between messages)",
    )
    ap.add_argument("--saturation", action="store_true", help="also a run with no pause between messages")
    ap.add_argument(
        "--answer-threads",
        type=int,
        default=0,
        help="MOTCUA_ANSWER_THREADS for the server (0: answer on each worker's event loop)",
    )
    ap.add_argument("--soak", action="store_true", help="one long paced run reporting memory growth")
    ap.add_argument("--soak-minutes", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = fresh_kb(folder)
        db_file = folder / "bench.db"
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
        log = folder / "server.log"
        command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as err:
            server = subprocess.Popen(
                [*command, "--workers", str(args.workers)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
            )
        base = f"http://127.0.0.1:{port}"
        launched = time.monotonic()
        try:
            # Every worker must be serving before the conversations connect: a worker still
            # loading would leave all kept-alive connections to the other one.
            ready: set[int] = set()
            deadline = time.monotonic() + 120
            while len(ready) < args.workers and time.monotonic() < deadline:
                if server.poll() is not None:
                    raise SystemExit("server exited: " + log.read_text()[-2000:])
                try:
                    health = httpx.get(base + "/healthz", timeout=1)  # a new connection each time
                    if health.status_code == 200:
                        ready.add(health.json()["worker"])
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
            if len(ready) < args.workers:
                raise SystemExit("server did not start: " + log.read_text()[-2000:])
            start_seconds = time.monotonic() - launched
            runs: list[tuple[float, Run]] = []
            if args.soak:
                seconds = args.soak_minutes * 60
                load = drive("127.0.0.1", port, seconds, args.concurrency, args.rate, server.pid, "soak", sample=10)
                runs.append((args.rate, asyncio.run(load)))
            else:
                for i, rate in enumerate([args.rate] + ([0.0] if args.saturation else [])):
                    load = drive("127.0.0.1", port, args.seconds, args.concurrency, rate, server.pid, f"run{i}")
                    runs.append((rate, asyncio.run(load)))
            memory, _workers_rss = memory_report(server.pid)
            cpu = worker_cpu_seconds(server.pid)
        finally:
            _stop(server)
        restarts = log.read_text(errors="replace").count("exited")
        print(
            f"REST load on 127.0.0.1: {args.workers} workers, {args.concurrency} concurrent conversations, "
            + (f"{args.soak_minutes:g} min soak, " if args.soak else f"{args.seconds:.0f} s per run, ")
            + (
                f"{args.answer_threads} answering thread(s) per worker"
                if args.answer_threads
                else "answers on each worker's event loop"
            )
        )
        print(f"server ready (every worker answering) {start_seconds:.1f} s after launch; worker restarts: {restarts}")
        for rate, run in runs:
            label = f"paced at {rate:.0f} msg/s offered" if rate else "no pause between messages (saturation)"
            rows = stored(db_file, run.tag)
            print(f"- {label}:")
            print(f"    throughput {len(run.latencies) / run.took:.0f} messages/s (target >= 300)")
            print("    " + summary("latency", run.latencies) + " (target p99 <= 100 ms)")
            print(f"    errors {len(run.errors)} (target 0){' ' + str(sorted(set(run.errors))) if run.errors else ''}")
            print(
                f"    accepted {run.accepted}, stored {rows}, LOST {max(0, run.accepted - rows)} (target 0)"
                f"{f'; {rows - run.accepted} stored but not answered in time' if rows > run.accepted else ''}"
            )
            print(
                f"    sockets held by each worker mid-run: {' / '.join(map(str, run.spread))}; "
                f"CPU time taken by the hypervisor (steal): {run.steal:.0%}"
            )
            if run.samples:
                per10k, used = growth_per_10k(run.samples)
                first, last = run.samples[0][1], run.samples[-1][1]
                print(
                    f"    workers' RSS {first:.0f} MB at the start, {last:.0f} MB after {run.accepted} messages; "
                    f"growth {per10k:+.2f} MB per 10,000 messages (slope over {used} samples; target ~0)"
                )
        print("server memory after the runs (target <= 300 MB RSS per worker; the supervisor holds no model):")
        for line in memory:
            print("    " + line)
        print("CPU time of each worker: " + ", ".join(f"{c:.1f} s" for c in cpu))


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers: gently (SIGTERM to the supervisor), then for sure."""
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def _fingerprint() -> str:
    from bot.nlu.engine import DEFAULT_DATA, data_fingerprint

    return data_fingerprint(DEFAULT_DATA)


if __name__ == "__main__":
    main()
