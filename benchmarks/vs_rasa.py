"""Our NLU engine and Rasa 3.6 side by side, on the same held-out questions of tests/.

Both are trained on the same data (Rasa gets our project from `motcua rasa export`), both parse
the same questions in a process of their own (loaded model, in-process parse calls), and one
table is printed: intent accuracy (all / unaccented), parse latency p50/p99, training time and
the peak memory of the process that loads the model and parses.
Needs the Rasa environment that scripts/rasa_e2e.sh creates (.venv-rasa, Python 3.10).
Run: .venv/bin/python benchmarks/vs_rasa.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import EVAL, ROOT, fresh_kb, peak_mb, percentile, train

from bot.nlu.engine import DEFAULT_DATA, NluEngine, data_fingerprint
from bot.nlu.evaluate import has_diacritics
from bot.responses import load as load_responses
from bot.runtime import catalog_entries
from channels.rasa.export import export_project
from knowledge.db import Database
from knowledge.repository import Repository

RASA_PYTHON = Path(os.environ.get("RASA_VENV", ROOT / ".venv-rasa")) / "bin" / "python"

RASA_CHILD = r"""
import asyncio, json, sys, time, logging, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.disable(logging.WARNING)
project, questions_path, out_dir = sys.argv[1:4]
from rasa.model_training import train_nlu
started = time.perf_counter()
model = train_nlu(config=f"{project}/config.yml", nlu_data=f"{project}/data/nlu.yml", output=out_dir,
                  fixed_model_name="nlu", domain=f"{project}/domain.yml")
train_seconds = time.perf_counter() - started
from rasa.core.agent import Agent
started = time.perf_counter()
agent = Agent.load(model)
load_seconds = time.perf_counter() - started
texts = [json.loads(l)["text"] for l in open(questions_path, encoding="utf-8") if l.strip()]
async def run():
    for t in texts[:20]:
        await agent.parse_message(t)
    out = []
    for t in texts:
        s = time.perf_counter()
        r = await agent.parse_message(t)
        out.append(((time.perf_counter() - s) * 1000, (r.get("intent") or {}).get("name")))
    return out
results = asyncio.run(run())
peak = 0
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        peak = int(line.split()[1]) / 1024
print(json.dumps({"train": train_seconds, "load": load_seconds, "results": results, "peak": peak}))
"""


def ours_child(url: str, model: str, questions: str) -> None:
    """Child process: load our saved model and parse every question."""
    db = Database(url)
    started = time.perf_counter()
    engine = NluEngine.load(Path(model), catalog_entries(Repository(db).catalog()))
    load_seconds = time.perf_counter() - started
    texts = [json.loads(line)["text"] for line in Path(questions).read_text(encoding="utf-8").splitlines() if line]
    for t in texts[:20]:
        engine.parse(t)
    results = []
    for t in texts:
        s = time.perf_counter()
        r = engine.parse(t)
        results.append(((time.perf_counter() - s) * 1000, r.intent))
    print(json.dumps({"load": load_seconds, "results": results, "peak": peak_mb()}))


def summarise(name: str, train_s: float, data: dict, gold: list[dict]) -> list[str]:
    latencies = [ms for ms, _ in data["results"]]
    predicted = [intent for _, intent in data["results"]]
    hits = [p == g["intent"] for p, g in zip(predicted, gold, strict=True)]
    unaccented = [h for h, g in zip(hits, gold, strict=True) if not has_diacritics(g["text"])]
    return [
        name,
        f"{sum(hits) / len(hits):.3f}",
        f"{sum(unaccented) / max(1, len(unaccented)):.3f}",
        f"{percentile(latencies, 0.5):.2f}",
        f"{percentile(latencies, 0.99):.2f}",
        f"{train_s:.1f}",
        f"{data['load']:.1f}",
        f"{data['peak']:.0f}",
    ]


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--ours":
        ours_child(*sys.argv[2:5])
        return
    if not RASA_PYTHON.exists():
        raise SystemExit(f"Rasa environment not found at {RASA_PYTHON.parent.parent}: run scripts/rasa_e2e.sh first.")
    gold = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = fresh_kb(folder)
        engine, our_train = train(db)
        model = folder / "ours.pkl"
        engine.save(model, fingerprint=data_fingerprint(DEFAULT_DATA))
        repo = Repository(db)
        export_project(folder / "rasa", repo.catalog(), load_responses(), repo.unit(None))
        db.dispose()
        ours = json.loads(
            subprocess.run(
                [sys.executable, __file__, "--ours", db.url, str(model), str(EVAL)],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        print("training Rasa (DIET, CPU)...", file=sys.stderr)
        done = subprocess.run(
            [str(RASA_PYTHON), "-c", RASA_CHILD, str(folder / "rasa"), str(EVAL), str(folder / "models")],
            capture_output=True,
            text=True,
            cwd=folder,  # Rasa keeps its training cache (.rasa/) in the working directory
        )
        if done.returncode != 0:
            raise SystemExit("Rasa failed:\n" + done.stderr[-3000:])
        rasa = json.loads(done.stdout.strip().splitlines()[-1])
    rows = [
        ["engine", "intent acc", "unaccented", "p50 ms", "p99 ms", "train s", "load s", "peak MB"],
        summarise("Trợ lý Một cửa (this project)", our_train, ours, gold),
        summarise("Rasa 3.6.21 (DIET, exported project)", rasa["train"], rasa, gold),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(
        f"Held-out questions: {EVAL.relative_to(ROOT)} ({len(gold)} questions); parse in-process, one question "
        "at a time; same training data."
    )
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
