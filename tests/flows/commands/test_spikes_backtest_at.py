"""``koubei spikes backtest FILE.csv --at TIME``: why the bin holding TIME paged or did not, run
as a user runs it (a subprocess). The series are those of test_spikes_backtest_notes.py: a
quiet brand's 5-minute counts with a two-hour burst on the fifth day, past the warm-up."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import numpy as np
import yaml

from tests.flows.commands.test_spikes import REPO, run, write_series

START = datetime(2026, 3, 2)


def _burst(extra: float = 3.0, days: int = 5) -> list[int]:
    """The burst that pages once with the shipped config/alerts.yaml (at 13:25 on Mar 6)."""
    rng = np.random.default_rng(41)
    values = rng.poisson(0.3, 5 * 288)
    onset = 4 * 288 + 150
    values[onset : onset + 24] += rng.poisson(extra, 24)
    return [int(v) for v in values[: days * 288]]


def _csv(tmp_path: Path, values: list[int], name: str = "brand.csv") -> Path:
    path = tmp_path / name
    write_series(path, values, START)
    return path


def _detector(lines: list[str], name: str) -> list[str]:
    """The lines about detector ``name``: its verdict and its gates."""
    at = next(i for i, line in enumerate(lines) if line.startswith(f"{name}: "))
    end = next((i for i in range(at + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[at:end]


def test_the_bin_that_paged_says_fired_and_paged(tmp_path: Path) -> None:
    result = run("spikes", "backtest", str(_csv(tmp_path, _burst())), "--at", "2026-03-06 13:27")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # the bin holding 13:27, as the file writes it
    assert "the bin 2026-03-06 13:25 .. 13:30" in lines[0]
    assert "its row reads '2026-03-06 13:25:00'" in lines[0]
    surge = _detector(lines, "mention-surge")
    assert surge[0] == "mention-surge: fired at this bin"
    # the gate that let it through, with its figures and the option that sets it
    assert "    lowest robust z over 15 min 5.47 vs 5.25 (z_sustained) pass" in surge
    assert lines[-1].startswith("paging: paged warning at this bin (mention-surge): ")

    # --json: one object
    result = run(
        "spikes", "backtest", str(tmp_path / "brand.csv"), "--at", "2026-03-06T13:25", "--json"
    )
    assert result.returncode == 0, result.stderr
    (record,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["label"] == "2026-03-06 13:25:00"
    assert record["paging"]["decision"] == "paged"
    assert record["detectors"][0]["name"] == "mention-surge"
    assert record["detectors"][0]["fired"] is True


def test_a_burst_held_by_one_gate_names_it_as_alerts_yaml_does(tmp_path: Path) -> None:
    """With mention-surge's peak_ratio raised to 4 (4 x the usual daily peak of 9 an hour:
    36), the burst's 29 an hour passes every other gate and pages nothing; the explanation
    names peak_ratio, the option to change in the user's alerts.yaml, with both figures."""
    config = tmp_path / "config"
    config.mkdir()
    shipped = (REPO / "config" / "alerts.yaml").read_text(encoding="utf-8")
    assert shipped.count("peak_ratio: 0.8") == 1  # mention-surge's
    (config / "alerts.yaml").write_text(
        shipped.replace("peak_ratio: 0.8", "peak_ratio: 4.0"), encoding="utf-8"
    )
    options = yaml.safe_load((config / "alerts.yaml").read_text(encoding="utf-8"))
    surge = next(d for d in options["detectors"] if d["name"] == "mention-surge")
    assert surge["options"]["peak_ratio"] == 4.0

    path = _csv(tmp_path, _burst())
    result = run(
        "spikes", "backtest", str(path), "--at", "2026-03-06 13:25", "--config", str(config)
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    said = _detector(lines, "mention-surge")
    assert said[0] == "mention-surge: did not fire, held by peak_ratio"
    assert "    count over 1 h vs 4 x the usual daily peak 29 vs 36 (peak_ratio) fail" in said
    assert lines[-1] == "paging: no detector fired at this bin: nothing to page"


def test_a_later_bin_of_the_incident_is_held_one_page_per_incident(tmp_path: Path) -> None:
    path = _csv(tmp_path, _burst())
    result = run("spikes", "backtest", str(path), "--at", "2026-03-06 13:30")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert _detector(lines, "mention-surge")[0] == "mention-surge: fired at this bin"
    assert lines[-1].startswith(
        "paging: held: inside the incident opened at 2026-03-06 13:25 (paged warning), "
        "no new page: one page per incident, open until no detector fired for 12 h "
        "(paging.quiet)"
    )


def test_what_is_said_at_a_time_uses_the_data_up_to_it_only(tmp_path: Path) -> None:
    """Causal: the day after the burst (more bins, another burst) changes nothing printed at
    its bins, as it could not have changed what the live cycle did then."""
    short, long = tmp_path / "a", tmp_path / "b"
    short.mkdir()
    long.mkdir()
    values = _burst()
    later = [v + (40 if 100 <= i < 130 else 0) for i, v in enumerate(_burst()[:288])]
    _csv(short, values)
    _csv(long, values + later)
    for at in ("2026-03-06 13:25", "2026-03-06 13:30", "2026-03-06 23:55"):
        printed = [
            run("spikes", "backtest", str(folder / "brand.csv"), "--at", at, "--json").stdout
            for folder in (short, long)
        ]
        assert printed[0] == printed[1].replace(str(long), str(short))
        assert printed[0]


def test_a_time_outside_the_series_is_one_error_line(tmp_path: Path) -> None:
    path = _csv(tmp_path, _burst())
    for at in ("2026-03-07 00:00", "2026-03-01 23:59"):
        result = run("spikes", "backtest", str(path), "--at", at)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"koubei: error: --at {at} is outside the series: its bins start from "
            "2026-03-02 00:00 to 2026-03-06 23:55, 5 minutes each (Asia/Shanghai)"
        ]
    # not a time at all: argparse's usage error, also exit 2
    result = run("spikes", "backtest", str(path), "--at", "yesterday")
    assert result.returncode == 2
    assert "argument --at: timestamp 'yesterday' is not a time" in result.stderr


def test_a_config_enabling_no_detector_says_nothing_was_checked(tmp_path: Path) -> None:
    """An alerts.yaml whose detectors are all ``enabled: false`` (a user silencing a brand):
    before, ``--at`` printed "paging: no detector fired at this bin: nothing to page", as if
    they had been asked and were quiet, while the backtest without ``--at`` says "detectors:
    none enabled" and ``spikes detect`` a note; now the same note as ``detect``, with --json
    too (stdout stays one object)."""
    config = tmp_path / "config"
    config.mkdir()
    options = yaml.safe_load((REPO / "config" / "alerts.yaml").read_text(encoding="utf-8"))
    for detector in options["detectors"]:
        detector["enabled"] = False
    (config / "alerts.yaml").write_text(yaml.safe_dump(options), encoding="utf-8")
    path = _csv(tmp_path, _burst())
    note = (
        f"note: {config / 'alerts.yaml'} enables no detector that reads a plain mention count: "
        f"nothing was checked in {path}"
    )
    for json_flag in ([], ["--json"]):
        result = run(
            "spikes",
            "backtest",
            str(path),
            "--at",
            "2026-03-06 13:25",
            "--config",
            str(config),
            *json_flag,
        )
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines() == [note]
    assert json.loads(result.stdout)["detectors"] == []


def test_a_bin_in_the_warm_up_is_held_by_it_each_option_named_once(tmp_path: Path) -> None:
    """An hour into the history: every detector is held by its warm-up, which is said with
    both figures. negative-share's two gates set by ``min_total`` (over 30 min and over its
    reference day) name it once: before, "held by z_threshold; min_total; min_count;
    min_total; warmup"."""
    path = _csv(tmp_path, _burst())
    result = run("spikes", "backtest", str(path), "--at", "2026-03-02 01:00")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    surge = _detector(lines, "mention-surge")
    assert surge[0].startswith("mention-surge: did not fire, held by warmup; no path passes")
    assert "    history up to this bin 1.08 h vs 3.04 days (warmup) fail" in surge
    share = _detector(lines, "negative-share")
    assert share[0] == (
        "negative-share: did not fire, held by z_threshold; min_total; min_count; warmup"
    )
    assert lines[-1] == "paging: no detector fired at this bin: nothing to page"
