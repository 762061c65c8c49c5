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
from koubei.timeutil import DEFAULT_TZ
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


def test_a_source_that_lost_a_page_on_every_run_for_a_day_raises_a_warning(tmp_path: Path) -> None:
    """Degraded runs are not alerted one by one; a crawl state stuck for a day is."""
    since = START
    for source, hours in (("stuck", 24), ("hiccup", 23)):
        record = {
            "source": source,
            "platform": "shop_json",
            "status": "degraded",
            "reason": "errors: {'malformed_json': 1}; blocked: {}",
            "finished_at": (since + timedelta(hours=hours)).isoformat(),
            "state_kept_since": since.isoformat(),
        }
        (tmp_path / f"{source}.json").write_text(json.dumps(record), encoding="utf-8")
    recovered = {"source": "fine", "status": "ok", "finished_at": since.isoformat()}
    (tmp_path / "fine.json").write_text(json.dumps({**recovered, "state_kept_since": None}))
    [stuck] = source_health_detections(read_health(tmp_path))
    assert (stuck.series, stuck.severity) == ("source:stuck", "warning")
    assert stuck.details == {"group": "operational", "source": "stuck", "status": "state_stuck"}
    local = since.astimezone(DEFAULT_TZ)
    assert str(stuck.reason).startswith(
        f"数据源 stuck（shop_json）自 {local:%m-%d %H:%M} 起每轮都有页面抓取失败，"
        "爬虫记录：errors: {'malformed_json': 1}"
    )
