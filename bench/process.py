"""Processing-stage benchmark: clean → sentiment → aspects → dedup on one core and on two.

The baseline is the same stage with ``workers=1`` on the same records in the same run; the figure
is the ratio of docs/s with ``workers=2`` to it. Two situations:

- **cold**: each measurement in a fresh interpreter (as ``koubei process`` runs: fork server
  started before the records are read), timed from the model load on, so what is left of the
  helper's start-up (fork server, imports, jieba, model) is included;
- **warm**: repeated runs in one process (as ``koubei serve`` runs flows), where later helpers
  fork from the already-loaded fork server;
- **ceiling**: the best two processes can do on this machine: the per-record work alone, split
  in two halves run at the same time by two independent processes, against one process doing
  it all (no start-up, no coordination, no de-duplication).

Records are reviews from the labelled corpus (``KOUBEI_REVIEWS_CSV``, default
``../shared/data/reviews_9cats.csv``) wrapped as landing records.
``--quick`` uses 2,000 records and one round. ``--dask [--n=N]``: landing → indexed on a Dask
cluster against the local runner and against the bare stage functions (``bench/_dask_process.py``).
"""

from __future__ import annotations

import csv
import multiprocessing
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from koubei import paths
from koubei.model import make_id
from koubei.pipeline.aspects import AspectLexicon, load_aspects
from koubei.pipeline.enrich import Enricher, enrich_chunk, prewarm
from koubei.pipeline.process import process_records
from koubei.pipeline.sentiment import SentimentModel, load_model


def landing_records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` landing records from the labelled reviews (shuffled); past the corpus's 52,773
    rows the texts repeat with a ``#n`` suffix, so every record stays distinct."""
    with open(paths.reviews_csv(), encoding="utf-8") as handle:
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
            "text_raw": rows[n % len(rows)]["review"]
            + (f" #{n // len(rows)}" if n >= len(rows) else ""),
            "created_at": (start + timedelta(seconds=n)).isoformat(),
        }
        for n in range(count)
    ]


def rate(records: list[dict[str, Any]], workers: int) -> float:
    """docs/s of ``process_records`` with a new enricher, model load and helper start included."""
    with tempfile.TemporaryDirectory() as state:
        began = time.perf_counter()
        model, lexicon = load_model(), load_aspects()
        with Enricher(model, lexicon, workers=workers, parallel_min=1) as enricher:
            process_records(
                records,
                model=model,
                lexicon=lexicon,
                dedup_state_dir=Path(state),
                enricher=enricher,
            )
        return len(records) / (time.perf_counter() - began)


def cold_rate(count: int, workers: int) -> float:
    """``rate`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.process", "--child", str(count), str(workers)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    return float(out.strip().splitlines()[-1])


def paired(label: str, measure: Callable[[int], float], rounds: int) -> float:
    """Alternate one and two workers ``rounds`` times; print each round and the median ratio."""
    ratios = []
    for number in range(rounds):
        one, two = measure(1), measure(2)
        ratios.append(two / one)
        print(f"{label} round {number + 1}: 1 worker {one:,.0f} docs/s, 2 workers {two:,.0f} "
              f"docs/s, ratio {two / one:.2f}", flush=True)  # fmt: skip
    ratios.sort()
    median = ratios[len(ratios) // 2]
    print(f"{label}: 2 workers / 1 worker, median of {rounds}: {median:.2f}", flush=True)
    return median


_ceiling_model: SentimentModel | None = None
_ceiling_lexicon: AspectLexicon | None = None


def _time_chunks(chunks: list[list[dict[str, Any]]]) -> float:
    assert _ceiling_model is not None and _ceiling_lexicon is not None
    began = time.perf_counter()
    for chunk in chunks:
        enrich_chunk(chunk, _ceiling_model, _ceiling_lexicon)
    return time.perf_counter() - began


def ceiling(records: list[dict[str, Any]], rounds: int) -> float:
    """Median of ``rounds``: (time of one process doing all) / (time of two doing half each)."""
    global _ceiling_model, _ceiling_lexicon
    _ceiling_model, _ceiling_lexicon = load_model(), load_aspects()
    chunks = [records[i : i + 100] for i in range(0, len(records), 100)]
    _time_chunks(chunks[:2])  # load jieba before forking, so both halves start warm
    ratios = []
    # fork: the bench runs no threads here, and the forked process inherits the loaded model.
    with multiprocessing.get_context("fork").Pool(1) as pool:
        for _ in range(rounds):
            alone = _time_chunks(chunks)
            other = pool.apply_async(_time_chunks, (chunks[1::2],))
            mine = _time_chunks(chunks[::2])
            ratios.append(alone / max(mine, other.get()))
    ratios.sort()
    median = ratios[len(ratios) // 2]
    print(f"ceiling: rounds {', '.join(f'{r:.2f}' for r in ratios)}; median {median:.2f}")
    return median


def main(argv: list[str]) -> int:
    if "--dask" in argv:
        from bench._dask_process import main as dask_main

        return dask_main(argv)
    try:
        paths.reviews_csv()
    except paths.MissingDataError as exc:
        print(f"bench process: {exc}", file=sys.stderr)
        return 2
    quick = "--quick" in argv
    count = 2000 if quick else 12_000
    rounds = 1 if quick else 3
    records = landing_records(count)
    print(f"{count:,} records, {rounds} round(s) each")
    ceiling(records, rounds)
    paired("cold", lambda workers: cold_rate(count, workers), rounds)
    rate(records[:200], 2)  # start the fork server: the situation of a long-lived process
    paired("warm", lambda workers: rate(records, workers), rounds)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        count, workers = int(sys.argv[2]), int(sys.argv[3])
        if workers > 1:
            prewarm()  # as ``koubei process`` does before reading big landing files
        print(rate(landing_records(count), workers))
