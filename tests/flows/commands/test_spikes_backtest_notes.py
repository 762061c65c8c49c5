"""What ``koubei spikes backtest`` says beside its pages, run as a user runs it: a subprocess."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np

from tests.flows.commands.test_spikes import run, write_series


def _burst(extra: float) -> list[int]:
    """Five days of a quiet brand's 5-minute mention counts (about 4 an hour) with a two-hour
    burst of ``extra`` more mentions a bin on the fifth day, after the detectors' warm-up."""
    rng = np.random.default_rng(41)
    values = rng.poisson(0.3, 5 * 288)
    onset = 4 * 288 + 150
    values[onset : onset + 24] += rng.poisson(extra, 24)
    return [int(v) for v in values]


def test_a_burst_below_the_rise_minimum_says_why_it_paged_nothing(tmp_path: Path) -> None:
    """A burst fivefold the usual level that stays below mention-surge's ``rise_min_count``
    (20 an hour in the shipped config/alerts.yaml) gave "0 pages" and nothing more, which read
    as the detectors missing it; the same burst a little higher pages."""
    low = tmp_path / "low.csv"
    write_series(low, _burst(1.2), datetime(2026, 3, 2))
    result = run("spikes", "backtest", str(low))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("0 pages")
    notes = [line for line in lines if line.startswith("note: 0 pages: ")]
    assert len(notes) == 1, result.stdout
    said = "mention-surge's rise_min_count is 20, and the largest count it saw in 1 h was 16"
    assert said in notes[0]
    assert notes[0].endswith("alerts.yaml, the detector's options")

    high = tmp_path / "high.csv"
    write_series(high, _burst(3.0), datetime(2026, 3, 2))
    result = run("spikes", "backtest", str(high))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("1 page ")
    assert "note: 0 pages" not in result.stdout
