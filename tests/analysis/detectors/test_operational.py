"""A blocked source is unknown volume, not a quiet brand, and not a spike when it comes back."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np

from koubei.analysis.detectors import CountSeries
from koubei.analysis.detectors.negative_volume import NegativeVolume
from koubei.analysis.detectors.operational import (
    mark_unknown,
    read_health,
    source_health_detections,
)
from tests.analysis.detectors.conftest import PER_DAY, START, poisson_series


def test_recovery_after_a_block_is_not_a_spike_once_the_gap_is_marked_unknown() -> None:
    series = poisson_series(np.full(2 * PER_DAY, 30.0), seed=41)
    block_start, block_end = PER_DAY + 20, PER_DAY + 80
    zeros = list(series.negative)
    zeros[block_start:block_end] = [0] * (block_end - block_start)  # what a blocked crawl shows
    naive = CountSeries.from_values(START, zeros)
    assert NegativeVolume().detect(naive), "read as zero, the return looks like a spike"
    marked = mark_unknown(naive, [(naive.start[block_start], naive.start[block_end])])
    assert marked.filled[block_start] and not marked.filled[block_end]
    assert marked.negative[block_start + 5] == zeros[block_start - 1]
    assert NegativeVolume().detect(marked) == []


def test_blocked_and_empty_sources_raise_operational_detections(tmp_path: Path) -> None:
    finished = (START + timedelta(hours=3)).isoformat()
    for source, status in (("weibo-a", "blocked"), ("tmall", "ok"), ("xhs", "empty")):
        record = {"source": source, "platform": "x", "status": status, "finished_at": finished}
        (tmp_path / f"{source}.json").write_text(json.dumps(record), encoding="utf-8")
    found = source_health_detections(read_health(tmp_path))
    assert [(d.series, d.severity) for d in found] == [
        ("source:weibo-a", "warning"),
        ("source:xhs", "info"),
    ]
    assert found[0].details["group"] == "operational"
    assert json.loads(json.dumps(found[0].to_dict()))["timestamp"] == finished
    assert read_health(tmp_path / "missing") == []
