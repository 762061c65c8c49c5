"""The processing stage over landing files: rejects set aside, parallel equals sequential."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from koubei import jsonl
from koubei.model import make_id
from pipeline.process import process_file, process_records
from pipeline.sentiment import load_model

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "reviews_9cats.csv"


def reviews(count: int) -> list[dict[str, Any]]:
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


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_model()


def test_process_file_sets_aside_bad_records_with_the_reason(
    koubei_home: str, tmp_path: Path, model
) -> None:  # type: ignore[no-untyped-def]
    records = reviews(5)
    records[2] = {**records[2], "created_at": "yesterday-ish"}
    del records[3]["text_raw"]
    landing = tmp_path / "landing" / "test-shop" / "run1.jsonl"
    jsonl.write_atomic(landing, records)
    output = tmp_path / "processed.jsonl"

    report = process_file(landing, output, model=model)

    assert (report.processed, report.rejected) == (3, 2)
    rejected = list(jsonl.read(Path(report.rejected_file or "")))
    assert [r["line"] for r in rejected] == [3, 4]
    assert "created_at" in rejected[0]["reason"] and "text_raw" in rejected[1]["reason"]
    processed = list(jsonl.read(output))
    assert [r["id"] for r in processed] == [records[i]["id"] for i in (0, 1, 4)]
    for record in processed:
        assert "<p>" not in record["text_clean"]
        assert record["sentiment"]["model_version"] == model.version
        assert record["dup_cluster"]
    assert sum(report.labels.values()) == 3


def test_two_workers_give_exactly_the_sequential_result(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    records = reviews(240)
    records += [dict(records[0], id="shop_json:copy", native_id="copy")]  # a near-duplicate
    sequential = process_records(records, model=model, dedup_state_dir=tmp_path / "a")
    parallel = process_records(
        records, model=model, dedup_state_dir=tmp_path / "b", workers=2, parallel_min=100
    )
    assert json.dumps(parallel, sort_keys=True) == json.dumps(sequential, sort_keys=True)
    assert parallel[-1]["dup_cluster"] == parallel[0]["dup_cluster"]
