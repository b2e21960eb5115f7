"""Import all national records into a fresh SQLite file, then time `show` lookups.

Targets: import under 20 s on a 2-core machine; lookup p99 under 5 ms.
Run: .venv/bin/python benchmarks/kb_import.py
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.db import Database
from knowledge.importer import QUALITY_LABELS, SHIPPED_NATIONAL, import_national
from knowledge.repository import Repository


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        db.migrate()
        started = time.perf_counter()
        report = import_national(db, SHIPPED_NATIONAL)
        took = time.perf_counter() - started
        print(f"import: {report.total} records into a fresh SQLite file in {took:.2f} s (target < 20 s)")
        for key, hit, total, share in report.quality.rows():
            print(f"  parse quality  {QUALITY_LABELS[key]:36s} {hit:5d}/{total:<5d} {share:6.1%}")
        repo = Repository(db)
        codes = [p.code for p in repo.catalog()]
        rng = random.Random(7)
        sample = [rng.choice(codes) for _ in range(2000)]
        for code in sample[:50]:  # warm-up
            repo.procedure(code)
        times = []
        for code in sample:
            t = time.perf_counter()
            info = repo.procedure(code)
            times.append((time.perf_counter() - t) * 1000)
            assert info is not None
        print(
            f"show lookups: n={len(times)} p50 {statistics.median(times):.2f} ms "
            f"p99 {percentile(times, 0.99):.2f} ms max {max(times):.2f} ms (target p99 < 5 ms)"
        )
        db.dispose()


if __name__ == "__main__":
    main()
