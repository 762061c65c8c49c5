"""``koubei spikes backtest FILE.csv --json`` carries the notes the text output prints (a
history inside the warm-up, a burst below a detector's minimum count) in ``notes``: they were
printed as text only, so a JSON consumer read "pages": 0 as a checked, quiet history. Run as a
user runs it (a subprocess); the series are those of test_spikes_backtest_notes.py."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tests.flows.commands.test_spikes import run, write_series
from tests.flows.commands.test_spikes_backtest_notes import _burst


def _weeks(path: Path) -> list[dict]:
    result = run("spikes", "backtest", str(path), "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def _text_notes(path: Path) -> list[str]:
    result = run("spikes", "backtest", str(path))
    assert result.returncode == 0, result.stderr
    return [
        line.removeprefix("note: ")
        for line in result.stdout.splitlines()
        if line.startswith("note: ")
    ]


def test_the_below_minimum_note_is_in_every_weeks_json(tmp_path: Path) -> None:
    low = tmp_path / "low.csv"
    write_series(low, _burst(1.2), datetime(2026, 3, 2))
    weeks = _weeks(low)
    assert [w["week"] for w in weeks] == ["2026-W10"]  # the week keys as before
    (week,) = weeks
    assert week["pages"] == 0 and week["alerts"] == []
    (note,) = week["notes"]
    assert note["kind"] == "below_minimum"
    said = "mention-surge's rise_min_count is 20, and the largest count it saw in 1 h was 16"
    assert said in note["text"] and note["text"].startswith("0 pages: ")
    assert [n["text"] for n in week["notes"]] == _text_notes(low)  # the text's words

    high = tmp_path / "high.csv"
    write_series(high, _burst(3.0), datetime(2026, 3, 2))
    (week,) = _weeks(high)
    assert week["pages"] == 1 and week["notes"] == []


def test_the_warm_up_note_is_in_every_weeks_json(tmp_path: Path) -> None:
    """Sunday noon to Monday 05:55: two weeks, both inside the detectors' warm-up."""
    path = tmp_path / "weekend.csv"
    write_series(path, [3] * (18 * 12), datetime(2026, 3, 8, 12, 0))
    weeks = _weeks(path)
    assert [w["week"] for w in weeks] == ["2026-W10", "2026-W11"]
    for week in weeks:
        kinds = [n["kind"] for n in week["notes"]]
        assert kinds[0] == "warmup", week
        assert "(warmup): 0.8 days cannot show a page" in week["notes"][0]["text"]
        assert [n["text"] for n in week["notes"]] == _text_notes(path)
