"""Landing records made from the real labelled reviews, for the processing-stage tests."""

from __future__ import annotations

import csv
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from koubei import jsonl
from koubei.model import make_id
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.process import process_file
from koubei.pipeline.sentiment import load_model
from tests.data import REVIEWS_SAMPLE

DATA = REVIEWS_SAMPLE


@pytest.fixture(scope="session")
def review_records() -> Callable[[int], list[dict[str, Any]]]:
    """``review_records(n)``: the first ``n`` reviews as landing records (HTML-wrapped text)."""

    def make(count: int) -> list[dict[str, Any]]:
        start = datetime.fromisoformat("2026-11-20T08:00:00+08:00")
        with open(DATA, encoding="utf-8") as handle:
            rows = [row for _, row in zip(range(count), csv.DictReader(handle), strict=False)]
        return [
            {
                "id": make_id("shop_json", n),
                "platform": "shop_json",
                "source": "test-shop",
                "kind": "review",
                "native_id": str(n),
                "text_raw": f"<p>{row['review']}</p>",
                "created_at": (start + timedelta(minutes=n)).isoformat(),
            }
            for n, row in enumerate(rows)
        ]

    return make


def processed(records: list[dict[str, Any]], home: str | Path) -> list[dict[str, Any]]:
    """``records`` landed as one file under ``home`` (a test's ``koubei_home``) and put through
    the process stage as ``koubei process`` runs it: the processed records, every one kept."""
    landing = Path(home) / "landing" / "export" / "run1.jsonl"
    jsonl.write_atomic(landing, records)
    output = Path(home) / "processed" / "export" / "run1.jsonl"
    report = process_file(landing, output, model=load_model(), lexicon=load_aspects())
    assert report.rejected == 0, report.rejected_file
    return list(jsonl.read(output))


@pytest.fixture(scope="session")
def adapted_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model adapted to the sample's texts, written by the command a user runs (a model other
    than the shipped one, as a source's ``sentiment_model`` names)."""
    from koubei.flows.cli import main

    folder = tmp_path_factory.mktemp("model")
    with open(DATA, encoding="utf-8") as handle:
        texts = [row["review"].replace("\n", " ") for row in csv.DictReader(handle)]
    (folder / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = folder / "adapted.json.gz"
    assert main(["sentiment", "adapt", str(folder / "texts.txt"), "--out", str(out)]) == 0
    return out
