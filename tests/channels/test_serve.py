"""`motcua serve --workers 2` on a busy machine: both workers serve, none is restarted, a killed
worker is replaced at once, the supervisor holds no model, and SIGTERM stops every process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from knowledge.db import Database
from tests.live_server import free_port

BUSY_SECONDS = 90
"""Each busy loop ends by itself after this long, whatever happens to the test."""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _worker(base: str) -> int | None:
    try:
        r = httpx.get(base + "/healthz", timeout=2)  # a new connection each time
    except httpx.HTTPError:
        return None
    return int(r.json()["worker"]) if r.status_code == 200 else None


@pytest.fixture
def busy() -> Iterator[None]:
    """One bounded busy loop per core, at normal priority, for the whole test."""
    loop = f"import time\nend = time.monotonic() + {BUSY_SECONDS}\nwhile time.monotonic() < end:\n    pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", loop]) for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_two_workers_start_and_stop_under_load(busy, full_sqlite: Database, trained_model: Path, tmp_path) -> None:
    db_file = tmp_path / "motcua.db"
    shutil.copyfile(str(full_sqlite.engine.url.database), db_file)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MOTCUA_DATABASE_URL": f"sqlite:///{db_file}",
        "MOTCUA_MODEL_PATH": str(trained_model),
        "MOTCUA_SECRET_KEY": "test-secret",
        "MOTCUA_PUBLIC_URL": "https://phuong.example.vn",
    }
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "bot", "serve", "--port", str(port), "--workers", "2"]
    with log.open("wb") as err:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 120  # the first start loads the model once, on a busy machine
        while len(workers) < 2 and time.monotonic() < deadline:
            assert server.poll() is None, log.read_text()
            pid = _worker(base)
            if pid is not None:
                workers.add(pid)
            else:
                time.sleep(0.2)
        assert len(workers) == 2, log.read_text()
        assert _rss_mb(server.pid) < 60, "the supervisor must hold no model"

        # ~20 s under load: every answer comes from one of the two first workers.
        seen: set[int] = set()
        watch_until = time.monotonic() + 20
        while time.monotonic() < watch_until:
            pid = _worker(base)
            assert pid is not None, log.read_text()
            seen.add(pid)
            time.sleep(0.25)
        assert seen == workers
        assert "exited" not in log.read_text()

        # A worker killed outright is replaced by one that serves within 5 s.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        replaced: int | None = None
        while time.monotonic() - killed < 5 and replaced is None:
            pid = _worker(base)
            if pid is not None and pid not in workers:
                replaced = pid
            time.sleep(0.05)
        assert replaced is not None, log.read_text()
        workers = (workers - {victim}) | {replaced}

        # SIGTERM to the supervisor stops every worker: nothing listens or answers after it.
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        stopped = time.monotonic() + 5
        while any(_alive(p) for p in workers) and time.monotonic() < stopped:
            time.sleep(0.1)
        assert not any(_alive(p) for p in workers), "a worker outlived the supervisor"
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
