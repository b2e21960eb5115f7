"""PhoATIS (Vietnamese ATIS, Dao et al. 2021) through `motcua nlu train --data` and `nlu test`.

The data is not shipped with this project. Point the script at a PhoATIS folder as published
with JointIDSF (`PhoATIS/syllable-level` or `PhoATIS/word-level`, each with train/dev/test
folders holding `seq.in` and `label`). It writes Rasa 3 NLU YAML for train+dev and for test into
a temporary folder, trains a model with our own command line (no examples generated from
procedure names: the data is about flights), tests it on the test split and prints intent
accuracy, macro F1 and the time each step took. Multi-label intents ("atis_flight#atis_airfare"
in the original, "airfare#flight" here) are single labels as written, as the published
results count them.

Run: .venv/bin/python benchmarks/phoatis.py /path/to/PhoATIS/syllable-level [--train-only-train]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = 0.976
"""Intent accuracy of JointIDSF with PhoBERT on the syllable-level test split (the paper)."""


def read_split(folder: Path, split: str) -> list[tuple[str, str]]:
    texts = (folder / split / "seq.in").read_text(encoding="utf-8").splitlines()
    labels = (folder / split / "label").read_text(encoding="utf-8").splitlines()
    if len(texts) != len(labels):
        sys.exit(f"{folder / split}: {len(texts)} sentences but {len(labels)} labels")
    # word-level files join a word's syllables with "_"; people type spaces
    return [(t.replace("_", " ").strip(), lab.strip()) for t, lab in zip(texts, labels, strict=True) if t.strip()]


def to_rasa(pairs: list[tuple[str, str]]) -> str:
    """Rasa 3 NLU YAML, one block per intent."""
    by_intent: dict[str, list[str]] = {}
    for text, label in pairs:
        by_intent.setdefault(label, []).append(text)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        lines.extend(f"    - {text}" for text in by_intent[intent])
    return "\n".join(lines) + "\n"


def motcua(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=1800
    )
    took = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"motcua {' '.join(args)} failed:\n{out.stderr[-2000:]}")
    return out, took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="PhoATIS/syllable-level or PhoATIS/word-level")
    ap.add_argument("--train-only-train", action="store_true", help="train on the train split only (not train+dev)")
    a = ap.parse_args()
    train = read_split(a.folder, "train") + ([] if a.train_only_train else read_split(a.folder, "dev"))
    test = read_split(a.folder, "test")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "train.yml").write_text(to_rasa(train), encoding="utf-8")
        (tmpdir / "test.yml").write_text(to_rasa(test), encoding="utf-8")
        model = tmpdir / "phoatis.pkl"
        report = tmpdir / "report.json"
        env = {**os.environ, "MOTCUA_MODEL_PATH": str(model)}
        _, train_s = motcua(
            ["nlu", "train", "--data", str(tmpdir / "train.yml"), "--out", str(model), "--no-generated"], env
        )
        _, test_s = motcua(
            ["nlu", "test", "--data", str(tmpdir / "test.yml"), "--model", str(model), "--report", str(report)], env
        )
        r = json.loads(report.read_text(encoding="utf-8"))
    intents = len({label for _, label in train})
    print(f"PhoATIS {a.folder.name}: train {len(train)} examples ({intents} intents), test {len(test)}")
    print(f"nlu train: {train_s:.1f} s (whole command, target < 60 s)   nlu test: {test_s:.1f} s")
    print(
        f"intent accuracy {r['accuracy']:.4f}  macro F1 {r['macro_f1']:.4f}"
        f"  (target >= 0.97; JointIDSF+PhoBERT {PUBLISHED})"
    )
    worst = sorted(r["confused"], key=lambda c: -c["count"])[:5]
    print(
        "most confused (gold -> predicted: count): "
        + "; ".join(f"{c['gold']}->{c['predicted']}: {c['count']}" for c in worst)
    )


if __name__ == "__main__":
    main()
