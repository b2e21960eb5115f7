"""NLU figures over the full knowledge base, in one process.

Prints: training time (target <= 30 s), model load time, parse latency p50/p99 on one core
(target p99 <= 10 ms), peak memory of the whole process (target <= 300 MB), and accuracy of the
chosen classifier next to the alternatives on the evaluation sets in tests/nlu/data.
Run: .venv/bin/python benchmarks/nlu.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _setup import ROOT, fresh_kb, peak_mb, questions, summary

from bot.nlu.engine import NluEngine
from bot.nlu.evaluate import evaluate
from bot.runtime import catalog_entries
from knowledge.repository import Repository

EVAL_SETS = ["eval_questions.jsonl", "eval_portal.jsonl"]


def load(name: str) -> list[dict]:
    path = ROOT / "tests" / "nlu" / "data" / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def serve(url: str, model: Path) -> None:
    """Child process: load the saved model over the knowledge base, then parse on one core."""
    from knowledge.db import Database

    db = Database(url)
    started = time.perf_counter()
    engine = NluEngine.load(model, catalog_entries(Repository(db).catalog()))
    print(f"model load (classifier + matcher over the catalog): {time.perf_counter() - started:.2f} s")
    texts = questions()
    for t in texts[:50]:
        engine.parse(t)
    times = []
    for _ in range(3):
        for t in texts:
            s = time.perf_counter()
            engine.parse(t)
            times.append((time.perf_counter() - s) * 1000)
    print(summary("parse latency (one core)", times) + "  (target p99 <= 10 ms)")
    peak = peak_mb()
    print(f"peak memory of a process that loads the model and parses: {peak:.0f} MB (target <= 300 MB)")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        serve(sys.argv[2], Path(sys.argv[3]))
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    with tempfile.TemporaryDirectory() as tmp:
        db = fresh_kb(Path(tmp))
        catalog = catalog_entries(Repository(db).catalog())
        rows = []
        chosen = None
        for kind, label in (("logreg", "logistic regression (chosen)"), ("svm", "linear SVM"), ("nb", "naive Bayes")):
            started = time.perf_counter()
            engine, report = NluEngine.train(catalog, kind=kind)
            took = time.perf_counter() - started
            scores = [evaluate(engine, load(name)) for name in EVAL_SETS]
            rows.append((label, took, scores))
            if kind == "logreg":
                chosen = engine
                print(
                    f"training: {report.examples} examples ({report.generated} generated) in {took:.1f} s"
                    " (target <= 30 s)"
                )
        assert chosen is not None
        model = Path(tmp) / "model.pkl"
        chosen.save(model)
        # Load and parse in a fresh process, so its memory is that of a process that serves.
        child = subprocess.run(
            [sys.executable, __file__, "--serve", db.url, str(model)], capture_output=True, text=True, check=True
        )
        print(child.stdout, end="")
        print()
        header = f"{'classifier':32s} {'train s':>8s}"
        for name in EVAL_SETS:
            header += f" | {name[:-6]:>14s}: intent  proc@1  abstain  oos"
        print(header)
        for label, took, scores in rows:
            line = f"{label:32s} {took:8.1f}"
            for r in scores:
                line += (
                    f" | {'':14s}  {r['accuracy']:.3f}   {r.get('procedure_top1', 0):.3f}   "
                    f"{r.get('abstention', 0):.3f}   {r.get('out_of_scope_recall', 0):.3f}"
                )
            print(line)
        db.dispose()


if __name__ == "__main__":
    main()
