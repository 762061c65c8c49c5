"""Processing-stage benchmark: clean → sentiment → aspects → dedup on one core and on two.

The baseline is the same stage with ``workers=1`` on the same records in the same run; the figure
is the ratio of docs/s with ``workers=2`` (worker start-up and model loads included) to it.
Records are reviews from ``../shared/data/reviews_9cats.csv`` wrapped as landing records.
``--quick`` uses 1,000 records (lowering the parallel threshold so both paths run).
"""

from __future__ import annotations

import csv
import random
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from koubei.model import make_id
from pipeline.process import process_records
from pipeline.sentiment import load_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "reviews_9cats.csv"


def landing_records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    with open(DATA, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    random.Random(seed).shuffle(rows)
    start = datetime.fromisoformat("2026-11-20T08:00:00+08:00")
    return [
        {
            "id": make_id("bench", n),
            "platform": "bench",
            "source": "bench",
            "kind": "review",
            "native_id": str(n),
            "text_raw": row["review"],
            "created_at": (start + timedelta(seconds=n)).isoformat(),
        }
        for n, row in enumerate(rows[:count])
    ]


def rate(records: list[dict[str, Any]], workers: int, parallel_min: int) -> float:
    model = load_model()
    with tempfile.TemporaryDirectory() as state:
        began = time.perf_counter()
        process_records(
            records,
            model=model,
            dedup_state_dir=Path(state),
            workers=workers,
            parallel_min=parallel_min,
        )
        return len(records) / (time.perf_counter() - began)


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    count = 1000 if quick else 12_000
    records = landing_records(count)
    rate(records[:200], 1, count + 1)  # warm imports, jieba's dictionary, the page cache
    rounds = 1 if quick else 3
    ratios = []
    for number in range(rounds):
        one = rate(records, 1, count + 1)
        two = rate(records, 2, 1)
        ratios.append(two / one)
        print(f"round {number + 1}: 1 worker {one:,.0f} docs/s, 2 workers {two:,.0f} docs/s, "
              f"ratio {two / one:.2f}")  # fmt: skip
    ratios.sort()
    median = ratios[len(ratios) // 2]
    print(f"{count:,} records; 2 workers / 1 worker, median of {rounds}: {median:.2f}")
    return 0
