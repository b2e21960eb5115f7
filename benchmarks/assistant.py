"""Per-message latency through Assistant.handle with the database in the loop, on one core.

Target: p99 <= 25 ms. Conversations mix first questions, follow-ups and button presses.
Run: .venv/bin/python benchmarks/assistant.py
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

from _setup import fresh_kb, questions, summary, train

from bot import payloads
from bot.assistant import Assistant
from bot.settings import Settings
from bot.types import IncomingMessage

FOLLOW_UPS = ["thế lệ phí bao nhiêu?", "mất mấy ngày", "nộp ở đâu", "nop online duoc ko", "cần giấy tờ gì"]


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_kb(Path(tmp))
        engine, _ = train(db)
        settings = Settings.from_env({"MOTCUA_DATABASE_URL": db.url})
        assistant = Assistant(settings, db, engine)
        rng = random.Random(3)
        texts = questions()
        messages: list[IncomingMessage] = []
        for i in range(600):
            sender = f"bench-{i % 120}"
            messages.append(IncomingMessage("web", sender, rng.choice(texts)))
            if i % 3 == 0:
                messages.append(IncomingMessage("web", sender, rng.choice(FOLLOW_UPS)))
            if i % 5 == 0:
                messages.append(IncomingMessage("web", sender, payloads.make("ask_fee", procedure="1.001193")))
        for m in messages[:50]:  # warm-up
            assistant.handle(m)
        times = []
        started = time.perf_counter()
        for m in messages:
            t = time.perf_counter()
            assistant.handle(m)
            times.append((time.perf_counter() - t) * 1000)
        took = time.perf_counter() - started
        print(summary("Assistant.handle (SQLite, one core)", times) + "  (target p99 <= 25 ms)")
        print(f"throughput: {len(messages) / took:.0f} messages/s on one core")
        db.dispose()


if __name__ == "__main__":
    main()
