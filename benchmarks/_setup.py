"""Shared by the benchmarks: a fresh knowledge base and a trained NLU engine in a temp folder."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.nlu.engine import NluEngine  # noqa: E402
from bot.runtime import catalog_entries  # noqa: E402
from knowledge.db import Database  # noqa: E402
from knowledge.repository import Repository  # noqa: E402
from knowledge.seed import initialise  # noqa: E402

EVAL = ROOT / "tests" / "nlu" / "data" / "eval_questions.jsonl"


def fresh_kb(folder: Path) -> Database:
    db = Database(f"sqlite:///{folder / 'bench.db'}")
    initialise(db)
    return db


def train(db: Database) -> tuple[NluEngine, float]:
    started = time.perf_counter()
    engine, _ = NluEngine.train(catalog_entries(Repository(db).catalog()))
    return engine, time.perf_counter() - started


def questions() -> list[str]:
    return [json.loads(line)["text"] for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(label: str, ms: list[float]) -> str:
    return (
        f"{label}: n={len(ms)} p50 {statistics.median(ms):.2f} ms  p99 {percentile(ms, 0.99):.2f} ms"
        f"  max {max(ms):.2f} ms"
    )


def peak_mb() -> float:
    """Peak resident memory of this process (VmHWM). Unlike ru_maxrss it is not inherited
    from the parent that forked an exec'd child."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
