"""Rebuild ``tests/data/reviews_sample.csv`` from the full labelled corpus (how the committed
file was made; not a benchmark, hence the underscore).

Usage: ``python -m bench._make_reviews_sample [FULL.csv]`` (default: the corpus
``koubei.paths.reviews_csv()`` finds, ``$KOUBEI_REVIEWS_CSV``). Takes up to ``PER_CLASS``
reviews of at most ``MAX_BYTES`` bytes from each category and label, seeded, kept in the
corpus's order, so the tests get all nine categories and both labels in under 300 KB.
"""

from __future__ import annotations

import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

PER_CLASS = 140
MAX_BYTES = 240
SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "reviews_sample.csv"


def main(source: Path) -> None:
    with open(source, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if len(row["review"].encode()) <= MAX_BYTES:
            groups[row["cat"], row["label"]].append(i)
    rng = random.Random(15)
    keep = sorted(i for ids in groups.values() for i in rng.sample(ids, min(PER_CLASS, len(ids))))
    with open(SAMPLE, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["cat", "label", "review"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows[i] for i in keep)


if __name__ == "__main__":
    from koubei.paths import reviews_csv

    main(Path(sys.argv[1]) if len(sys.argv) > 1 else reviews_csv())
