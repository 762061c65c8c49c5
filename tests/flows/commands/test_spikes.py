"""The ``koubei spikes detect FILE.csv`` contract, run as other tools run it: a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]


def write_series(path: Path, values: list[int], start: datetime, header: bool = True) -> None:
    lines = ["timestamp,value"] if header else []
    for i, value in enumerate(values):
        lines.append(f"{(start + timedelta(minutes=5 * i)).strftime('%Y-%m-%d %H:%M:%S')},{value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "koubei.flows.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_detect_prints_one_json_alert_per_episode_at_onset(tmp_path: Path) -> None:
    rng = np.random.default_rng(31)
    values = rng.poisson(12, 4 * 288)
    onsets = [3 * 288 + 10, 3 * 288 + 200]  # the defaults wait for three days of history
    values[onsets[0] : onsets[0] + 10] += 80  # a 50-minute burst: 10 firing bins, one alert
    values[onsets[1] : onsets[1] + 3] += 150
    values[300] = 16  # noise-level wiggles: no alert
    start = datetime(2015, 2, 26, 21, 40)
    path = tmp_path / "volume.csv"
    write_series(path, values.tolist(), start)

    result = run("spikes", "detect", str(path))
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    # one alert per episode, within a quarter of an hour of its onset (the paging policy waits
    # for evidence to hold), stamped with the input's own timestamp text
    assert len(alerts) == len(onsets)
    for alert, onset in zip(alerts, onsets, strict=True):
        allowed = [
            (start + timedelta(minutes=5 * (onset + k))).strftime("%Y-%m-%d %H:%M:%S")
            for k in range(3)
        ]
        assert alert["timestamp"] in allowed
    for alert in alerts:
        assert alert["severity"] in {"info", "warning", "critical"}
        assert alert["observed"] > alert["expected"]
        assert alert["series"] == "volume"
        # the reason as data: a code and its figures; a plain volume series has no tone
        assert alert["reason"]["code"] == "volume_rise"
        assert alert["reason"]["params"]["counts"] == "mentions"
        assert alert["reason"]["params"]["observed"] == alert["observed"]


def test_detect_quiet_series_prints_nothing_and_bad_input_fails(tmp_path: Path) -> None:
    rng = np.random.default_rng(32)
    path = tmp_path / "quiet.csv"
    write_series(path, rng.poisson(3, 4 * 288).tolist(), datetime(2026, 3, 2), header=False)
    result = run("spikes", "detect", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""

    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,value\nnot a time,3\n", encoding="utf-8")
    failed = run("spikes", "detect", str(bad))
    assert failed.returncode == 2
    assert "bad.csv" in failed.stderr


def test_detect_uses_the_detectors_of_a_given_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "alerts.yaml").write_text(
        "detectors:\n  - name: strict\n    type: negative_volume\n"
        "    options: {z_threshold: 50.0, z_sustained: 50.0}\n",
        encoding="utf-8",
    )
    values = [10] * (3 * 288 + 12) + [60] * 5 + [10] * 20
    path = tmp_path / "s.csv"
    write_series(path, values, datetime(2026, 3, 2))
    assert json.loads(run("spikes", "detect", str(path)).stdout.splitlines()[0])
    assert run("spikes", "detect", str(path), "--config", str(config)).stdout == ""
    (config / "alerts.yaml").write_text(
        "detectors:\n  - name: typo\n    type: negative_volume\n    options: {zthreshold: 5}\n",
        encoding="utf-8",
    )
    failed = run("spikes", "detect", str(path), "--config", str(config))
    assert failed.returncode == 2
    assert "detectors[0].options.zthreshold: unknown option" in failed.stderr


def test_evaluate_reports_recall_and_false_alerts_against_the_window_rule() -> None:
    result = run("spikes", "evaluate", "--series", "3", "--days", "8", "--seed", "5")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"default", "default_volume_only", "window_ratio"}
    for summary in report.values():
        assert 0.0 <= summary["recall"] <= 1.0
        assert summary["incidents"] == report["window_ratio"]["incidents"] > 0
        assert summary["false_per_30d"] >= 0.0


def test_backtest_prints_pages_per_week_and_when(tmp_path: Path) -> None:
    rng = np.random.default_rng(33)
    values = rng.poisson(12, 10 * 288)
    onset = 8 * 288 + 100
    values[onset : onset + 24] += 90  # two hours of a crisis: one page
    start = datetime(2026, 3, 2)  # a Monday: ISO weeks 10 and 11
    path = tmp_path / "history.csv"
    write_series(path, values.tolist(), start)
    result = run("spikes", "backtest", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].startswith("1 page (")
    assert "2026-W10: 0 page(s)" in lines
    week = lines.index("2026-W11: 1 page(s)")
    assert lines[week + 1].strip().startswith("Tue 2026-03-10")
    # why, in the alerts' Chinese wording; a plain volume series is mentions, not negative ones
    assert "提及" in lines[week + 1] and "负面" not in lines[week + 1], lines[week + 1]
    as_json = run("spikes", "backtest", str(path), "--json")
    weeks = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [w["pages"] for w in weeks] == [0, 1]


def test_backtest_weeks_and_times_are_china_time_for_a_utc_file(tmp_path: Path) -> None:
    """Rows stamped in UTC (`Z`) were replayed in UTC: a crisis at 01:00 on a Monday in China
    was printed as Sunday 17:00 and counted in the previous ISO week."""
    rng = np.random.default_rng(34)
    values = rng.poisson(12, 10 * 288)
    start = datetime(2026, 3, 1, 16, 0)  # UTC: Monday 2026-03-02 00:00 in China
    onset = 7 * 288 + 12  # Sunday 2026-03-08 17:00 UTC, Monday 01:00 in China
    values[onset : onset + 24] += 90
    path = tmp_path / "utc.csv"
    path.write_text(
        "timestamp,value\n"
        + "".join(
            f"{(start + timedelta(minutes=5 * i)):%Y-%m-%dT%H:%M:%S}Z,{v}\n"
            for i, v in enumerate(values.tolist())
        ),
        encoding="utf-8",
    )
    result = run("spikes", "backtest", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "2026-03-02 .. 2026-03-11" in lines[0] and "Asia/Shanghai" in lines[0]
    assert "2026-W10: 0 page(s)" in lines
    week = lines.index("2026-W11: 1 page(s)")
    assert lines[week + 1].strip().startswith("Mon 2026-03-09 01:")


def test_backtest_says_what_it_replays(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    write_series(path, [3] * 100, datetime(2026, 3, 2))
    result = run("spikes", "backtest", str(path))
    assert result.returncode == 0, result.stderr
    header, summary, note = result.stdout.splitlines()[:3]
    # a plain count has no tone: the share rule is listed as not applying, not as replayed
    assert header.endswith(
        "detectors: mention-surge, mention-jump (negative-share: not on a plain mention count)"
    )
    assert summary.startswith("0 pages (")  # and "1 page", not "1 pages"
    # 0 pages from a history shorter than the warm-up is no evidence of a quiet brand
    assert note == (
        "note: the detectors page only after 3 days of history (warmup): "
        "0.3 days cannot show a page"
    )
    seconds = tmp_path / "seconds.csv"
    seconds.write_text("t,value\n2026-03-02 00:00:00,1\n2026-03-02 00:00:30,2\n", "utf-8")
    assert "2 bins of 30 s," in run("spikes", "backtest", str(seconds)).stdout  # was "0 min"

    # --since chose nothing for a CSV: the whole file was replayed, silently
    refused = run("spikes", "backtest", str(path), "--since", "7d")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"koubei: error: --since: only with --brand (its indexed history); {path} is replayed "
        "whole: "
        "cut the CSV to the span to replay"
    )


def test_detect_mistakes_are_one_line_naming_file_line_and_column(tmp_path: Path) -> None:
    folder = tmp_path / "series.csv"
    folder.mkdir()
    result = run("spikes", "detect", str(folder))
    assert (result.returncode, result.stderr) == (
        2,
        f"koubei: error: cannot read {folder}: is a directory\n",
    )

    excel = tmp_path / "excel.csv"
    excel.write_text("time,count\n2026-03-02 00:00,1,200\n2026-03-02 00:05,900\n", "utf-8")
    result = run("spikes", "detect", str(excel))
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(
        f"koubei: error: cannot read {excel}:2: column 2 ('count') reads 1,200"
    )

    # the column too when the file has no header, or the value is one no count has: they named
    # neither ("value is empty", "timestamp 'foo' is not a time", "value '-1' is negative")
    for rows, column in (
        ("2026-03-02 00:00,1\n2026-03-02 00:05,\n", ":2: column 2 is empty"),
        ("2026-03-02 00:00,1\nfoo,3\n", ":2: column 1: timestamp 'foo' is not a time"),
        ("ts,count\n2026-03-02 00:00,1\n2026-03-02 00:05,-1\n", ":3: column 2 ('count') '-1'"),
        # a quote never closed read the rest of the file as one field: "1 column(s), no
        # column 2" for the row that has two, or the next rows quoted as its value (session 33)
        (
            'ts,count\n2026-03-02 00:00,1\n"2026-03-02 00:05,2\n2026-03-02 00:10,3\n',
            ":3: a quote opened on this line is never closed",
        ),
        (
            'ts,count\n2026-03-02 00:00,1\n2026-03-02 00:05,"2\n2026-03-02 00:10,3\n',
            ":3: a quote opened on this line is never closed",
        ),
    ):
        bad = tmp_path / "bad.csv"
        bad.write_text(rows, "utf-8")
        result = run("spikes", "detect", str(bad))
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith(f"koubei: error: cannot read {bad}{column}")

    # UTF-16 without its byte order mark: read as UTF-8 (a 0 byte is valid there) the error
    # was "timestamp 't\x00i\x00m\x00e\x00...' is not a time"; as GBK, another language
    for codec in ("utf-16-le", "utf-16-be"):
        wide = tmp_path / f"{codec}.csv"
        wide.write_bytes("时间,数量\n2026-03-02 00:00,1\n2026-03-02 00:05,2\n".encode(codec))
        result = run("spikes", "detect", str(wide))
        assert (result.returncode, result.stderr) == (
            2,
            f"koubei: error: cannot read {wide}:1: UTF-16 without its byte order mark (a 0 "
            "byte every other byte); save it as UTF-8, or as UTF-16 with its byte order mark\n",
        )

    repeated = tmp_path / "repeated.csv"
    write_series(repeated, [3] * 10, datetime(2026, 3, 2))
    rows = repeated.read_text("utf-8").splitlines()
    repeated.write_text("\n".join([*rows, rows[4]]) + "\n", "utf-8")
    result = run("spikes", "detect", str(repeated))
    assert result.returncode == 0
    assert result.stderr == (
        f"note: {repeated}:12: the timestamp of line 5 again: their values are added into one bin\n"
    )


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`koubei spikes backtest s.csv | head -1` ended in a BrokenPipeError traceback."""
    path = tmp_path / "s.csv"
    write_series(path, [3] * 400, datetime(2026, 3, 2))
    proc = subprocess.Popen(
        [sys.executable, "-m", "koubei.flows.cli", "spikes", "backtest", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line is written
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in stderr and stderr == ""


def test_backtest_replays_the_detectors_the_config_enables(tmp_path: Path) -> None:
    """With every detector of alerts.yaml disabled the backtest replayed the built-in ones:
    pages the live cycle, which runs none, would never send."""
    values = [10] * (3 * 288 + 12) + [60] * 12 + [10] * 20
    path = tmp_path / "s.csv"
    write_series(path, values, datetime(2026, 3, 2))
    config = tmp_path / "config"
    config.mkdir()
    (config / "alerts.yaml").write_text(
        "detectors:\n  - name: surge\n    type: negative_volume\n    enabled: false\n", "utf-8"
    )
    result = run("spikes", "backtest", str(path), "--config", str(config))
    assert result.returncode == 0, result.stderr
    header, summary = result.stdout.splitlines()[:2]
    assert header.endswith("detectors: none enabled") and summary.startswith("0 pages")
    detected = run("spikes", "detect", str(path), "--config", str(config))
    assert detected.returncode == 0 and detected.stdout == ""
    # before: nothing on stderr either, which reads as "no spike"
    assert detected.stderr == (
        f"note: {config}/alerts.yaml enables no detector that reads a plain mention count: "
        f"nothing was checked in {path}\n"
    )
    (config / "alerts.yaml").write_text(
        "detectors:\n  - name: share\n    type: negative_share\n", "utf-8"
    )
    detected = run("spikes", "detect", str(path), "--config", str(config))
    assert "enables no detector that reads a plain mention count" in detected.stderr

    # config mistakes read as in `spikes detect`: one line, the file and the key
    (config / "alerts.yaml").write_text("paging:\n  quite: 6h\n", "utf-8")
    failed = run("spikes", "backtest", str(path), "--config", str(config))
    assert failed.returncode == 2
    assert failed.stderr == (
        f"koubei: config error: {config}/alerts.yaml: paging.quite: unknown field; "
        "known here: escalate, outage_cap, quiet, settling\n"
    )
    # the file instead of its directory
    failed = run("spikes", "backtest", str(path), "--config", str(config / "alerts.yaml"))
    assert failed.returncode == 2
    assert f"{config}/alerts.yaml is a file: give the directory that holds it ({config})" in (
        failed.stderr
    )


def test_backtest_lists_the_last_week_when_its_day_ends_before_the_first_rows_time(
    tmp_path: Path,
) -> None:
    """Weeks were listed by stepping a day from the first row's time: a history from Sunday
    noon to Monday 05:55 never reached Monday, and the Monday's week (quiet) was left out, as
    was every `--end` Monday morning's week of a brand replayed from the same time of day."""
    path = tmp_path / "weekend.csv"
    write_series(path, [3] * (18 * 12), datetime(2026, 3, 8, 12, 0))  # Sun 12:00 .. Mon 05:55
    result = run("spikes", "backtest", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["2026-W10: 0 page(s)", "2026-W11: 0 page(s)"]
    as_json = run("spikes", "backtest", str(path), "--json")
    assert [json.loads(line)["week"] for line in as_json.stdout.splitlines()] == [
        "2026-W10",
        "2026-W11",
    ]


def test_detect_says_when_values_are_not_whole_counts(tmp_path: Path) -> None:
    """A share or a rate (0.05 .. 0.15, then 0.9) was rounded bin by bin to 0 and 1 without a
    word: the alert said "observed 12" of a file that holds no 12."""
    path = tmp_path / "share.csv"
    path.write_text(
        "time,value\n2026-03-02 00:00,0.125\n2026-03-02 00:05,3\n2026-03-02 00:10,0.9\n", "utf-8"
    )
    result = run("spikes", "detect", str(path))
    assert result.returncode == 0
    assert result.stderr == (
        f"note: {path}:2: value '0.125' is not a whole count (and 1 more): "
        "bins are rounded to whole mentions\n"
    )
    whole = tmp_path / "whole.csv"
    whole.write_text("time,value\n2026-03-02 00:00,3.0\n2026-03-02 00:05,4\n", "utf-8")
    assert run("spikes", "detect", str(whole)).stderr == ""


def test_backtest_tells_an_escalation_from_a_new_incident(tmp_path: Path) -> None:
    """An open incident whose evidence grew (warning, then far stronger bins: critical) sends
    a second alert; the backtest listed it as a second page, like a new incident."""
    rng = np.random.default_rng(1)
    values = rng.poisson(12, 5 * 288)
    onset = 4 * 288 + 100  # Friday 08:20
    values[onset : onset + 36] += 40
    values[onset + 15 : onset + 17] += 800  # 09:35 and 09:40 (the jump holds for two bins)
    path = tmp_path / "escalating.csv"
    write_series(path, values.tolist(), datetime(2026, 3, 2))
    result = run("spikes", "backtest", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "2 pages (12.0 per 30 days: 1 incident, 1 escalation); critical: 1"
    week = lines.index("2026-W10: 2 page(s)")
    # each reason names the span it counts: the hour ending with the 08:35 bin, the 09:40 bin
    assert lines[week + 1].startswith("  Fri 2026-03-06 08:35  warning  07:40–08:40 提及")
    assert lines[week + 2].startswith(
        "  Fri 2026-03-06 09:40  critical (escalates the 08:35 page) "
        "连续 2 个 5 分钟时段偏高，最近一个时段（09:40–09:45）提及"
    )


def _csv(path: Path, start: datetime, minutes: int, values: list[int], header: bool = True) -> None:
    lines = ["timestamp,value"] if header else []
    lines += [
        f"{(start + timedelta(minutes=minutes * i)):%Y-%m-%d %H:%M},{v}"
        for i, v in enumerate(values)
        if v
    ]
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")


def test_detect_a_change_from_1_to_5_minute_rows_is_no_surge(tmp_path: Path) -> None:
    """Four days of 1-minute rows, then a day of 5-minute rows at the same rate: each 5-minute
    row was read as one 1-minute bin and carried over the next four, and `spikes detect`
    paged a warning at 2026-03-06 00:10 (mention-jump: 125 in a 1-minute bin, expected 20)."""
    rng = np.random.default_rng(5)
    path = tmp_path / "mixed.csv"
    _csv(path, datetime(2026, 3, 2), 1, (rng.poisson(3, 4 * 1440) + 1).tolist())
    _csv(path, datetime(2026, 3, 6), 5, (rng.poisson(15, 288) + 5).tolist(), header=False)
    result = run("spikes", "detect", str(path))
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == (
        f"note: {path}:5762: rows are 300 s apart from here on, 60 s before: "
        "each row is split evenly over the 60 s bins up to it\n"
    )


def test_detect_sees_a_night_surge_in_an_export_that_leaves_empty_bins_out(
    tmp_path: Path,
) -> None:
    """A quiet brand's 5-minute counts exported without the empty bins (no row is 0): each
    missing bin carried the count before it, so the nights read as their last busy bin and a
    night-time surge (about 4 more mentions a bin for an hour from 02:00) did not page."""
    rng = np.random.default_rng(1)
    hours = (np.arange(6 * 288) % 288) / 12
    rate = 0.3 + 2.5 * np.exp(-0.5 * (((hours - 20 + 12) % 24 - 12) / 3) ** 2)
    onset = 4 * 288 + 24  # 2026-03-06 02:00
    rate[onset : onset + 12] += 4
    path = tmp_path / "sparse.csv"
    _csv(path, datetime(2026, 3, 2), 5, rng.poisson(rate).tolist())
    result = run("spikes", "detect", str(path))
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["timestamp"][:13] for a in alerts] == ["2026-03-06 02"]  # before: none
    assert result.stderr.startswith(f"note: {path}:")
    assert "with no row, the first after this row: " in result.stderr
    assert "read as 0 mentions, empty bins the export left out" in result.stderr


def test_detect_a_change_of_step_in_the_last_rows_is_no_surge(tmp_path: Path) -> None:
    """Three days of 1-minute rows, then three 5-minute rows (the exporter has just changed
    its bins; too few rows for a run of the step): each was read as one 1-minute bin carried
    over the next four, and `spikes detect` paged a warning on the newest bins (mention-jump
    at 00:05, 446 in 5 minutes, expected 106). The same for 5-minute then 15-minute rows."""
    rng = np.random.default_rng(3)
    for fine, coarse, line in ((1, 5, 4322), (5, 15, 866)):
        path = tmp_path / f"tail{coarse}.csv"
        _csv(path, datetime(2026, 3, 1), fine, rng.poisson(20, 3 * 1440 // fine).tolist())
        rows = rng.poisson(20 * coarse // fine, 3).tolist()
        _csv(path, datetime(2026, 3, 4), coarse, rows, header=False)
        result = run("spikes", "detect", str(path))
        assert (result.returncode, result.stdout) == (0, "")  # before: a warning
        assert result.stderr == (
            f"note: {path}:{line}: rows are {coarse * 60} s apart from here on, {fine * 60} s "
            f"before: each row is split evenly over the {fine * 60} s bins up to it\n"
        )


def test_rows_cut_out_of_a_kibana_export_without_its_header_are_all_read(
    tmp_path: Path,
) -> None:
    """The first row (`"Mar 2, …"` does not start with a digit) was read as a header and lost."""
    rows = [f'"Mar 2, 2026 @ 09:{m:02d}:00.000",{v}' for m, v in ((0, 100), (5, 1), (10, 2))]
    cut = tmp_path / "cut.csv"
    cut.write_text("\n".join(rows) + "\n", "utf-8")
    whole = tmp_path / "whole.csv"
    whole.write_text('"@timestamp per 5 minutes","Count of records"\n' + cut.read_text(), "utf-8")
    for path in (cut, whole):
        result = run("spikes", "backtest", str(path))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"{path}: 3 bins of 5 min, 2026-03-02 .. 2026-03-02")


def test_a_headerless_first_row_whose_time_cannot_be_read_is_named_not_dropped(
    tmp_path: Path,
) -> None:
    """Its first cell is no time, so it was taken as a header and dropped without a word (exit
    0); the count beside it makes it a row, and its time the usual error naming file:line."""
    path = tmp_path / "s.csv"
    path.write_text(
        "yesterday 9am,12\n" + "".join(f"2026-03-02 00:{m:02d}:00,{m}\n" for m in (5, 10, 15)),
        "utf-8",
    )
    result = run("spikes", "detect", str(path))
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"koubei: error: cannot read {path}:1: column 1: timestamp 'yesterday 9am' is not a time"
    )
    # a header whose second cell is a name is still a header
    path.write_text("when,mentions\n" + path.read_text().split("\n", 1)[1], "utf-8")
    assert run("spikes", "detect", str(path)).returncode == 0


def test_excels_sep_line_is_honoured_and_skipped(tmp_path: Path) -> None:
    """Excel's ``sep=;`` first line was read as the header, and the real header as a row
    ("line 2: column 1 ('sep='): timestamp 'timestamp' is not a time")."""
    path = tmp_path / "s.csv"
    rows = "".join(f"2026-03-02 09:{m:02d};{m}\r\n" for m in (0, 5, 10))
    path.write_text("sep=;\r\ntimestamp;value\r\n" + rows + "soon;1\r\n", "utf-8")
    result = run("spikes", "backtest", str(path))  # lines still named as in the file
    assert result.returncode == 2 and f"{path}:6: column 1 ('timestamp')" in result.stderr
    path.write_text("sep=;\r\ntimestamp;value\r\n" + rows, "utf-8")
    result = run("spikes", "backtest", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{path}: 3 bins of 5 min, 2026-03-02 .. 2026-03-02")


def test_dotted_dates_are_read_as_times(tmp_path: Path) -> None:
    """`2026.3.2 09:05` (a date written with dots) was refused as a number: "timestamp
    '2026.3.2 09:05' has 4 digits: neither epoch seconds (up to 10), milliseconds (13) nor a
    compact date", though the time parser reads it."""
    dotted = tmp_path / "dotted.csv"
    dotted.write_text("时间,数量\n2026.3.2 09:00,1\n2026.3.2 09:05,2\n2026.3.2 09:10,3\n", "utf-8")
    result = run("spikes", "backtest", str(dotted))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{dotted}: 3 bins of 5 min, 2026-03-02 .. 2026-03-02")


def test_detect_reads_excels_unicode_text_utf16_with_tabs(tmp_path: Path) -> None:
    """Excel's "Unicode Text" export is UTF-16 LE with a byte order mark, tab-separated, CRLF:
    read as ``sentiment score`` reads UTF-16 (it was "not UTF-8 or GBK (byte 0xff)"), with the
    same alerts as the UTF-8 CSV of the same rows; UTF-16 cut short is named, line and byte."""
    rng = np.random.default_rng(33)
    values = rng.poisson(12, 4 * 288)
    values[3 * 288 + 10 : 3 * 288 + 20] += 80
    plain = tmp_path / "volume.csv"
    write_series(plain, values.tolist(), datetime(2026, 3, 2))
    lines = plain.read_text("utf-8").replace(",", "\t").splitlines()
    excel = tmp_path / "volume.txt"
    excel.write_bytes(b"\xff\xfe" + "".join(f"{line}\r\n" for line in lines).encode("utf-16-le"))
    expected = run("spikes", "detect", str(plain))
    assert expected.returncode == 0 and expected.stdout, expected.stderr
    result = run("spikes", "detect", str(excel))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == expected.stdout
    cut = tmp_path / "cut.txt"
    cut.write_bytes(excel.read_bytes()[:41])  # the header's line, then half a character
    failed = run("spikes", "detect", str(cut))
    assert failed.returncode == 2
    assert failed.stderr == (
        f"koubei: error: cannot read {cut}:2: not UTF-16, though it starts with UTF-16's byte "
        "order mark (truncated data at byte 40)\n"
    )


def test_detect_and_backtest_read_stdin_for_a_dash(tmp_path: Path) -> None:
    """``-`` is standard input, as for ``sentiment score -`` (it was "cannot read -: no such
    file or directory"): the same alerts as the file gives, keyed ``stdin``; ``<stdin>`` in
    messages."""
    rng = np.random.default_rng(34)
    values = rng.poisson(12, 4 * 288)
    values[3 * 288 + 10 : 3 * 288 + 20] += 80
    path = tmp_path / "stdin.csv"  # the key ``-`` reads as: the alerts are the same
    write_series(path, values.tolist(), datetime(2026, 3, 2))

    def piped(*args: str, text: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "koubei.flows.cli", *args]
        return subprocess.run(
            argv, cwd=REPO, input=text, capture_output=True, text=True, timeout=120
        )

    expected = run("spikes", "detect", str(path))
    assert expected.returncode == 0 and expected.stdout, expected.stderr
    result = piped("spikes", "detect", "-", text=path.read_text("utf-8"))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == expected.stdout
    short = "时间,数量\n2026.3.2 09:00,1\n2026.3.2 09:05,2\n2026.3.2 09:10,3\n"
    result = piped("spikes", "backtest", "-", text=short)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("<stdin>: 3 bins of 5 min, 2026-03-02 .. 2026-03-02")
    result = piped("spikes", "detect", "-", text="timestamp,value\nnot a time,3\n")
    assert result.returncode == 2
    assert result.stderr.startswith("koubei: error: cannot read <stdin>:2: column 1 ")


def test_detect_pages_a_crisis_across_an_outage_of_the_export_once(tmp_path: Path) -> None:
    """The crisis of ``test_gaps`` (20 h from Sunday 10:00, no row from 12:00 to 20:00), through
    the command: one page (was two: 10:30 and 20:10); the note says what the 8 h held."""
    from tests.analysis.detectors.test_gaps import _crisis_across_a_hole, _write

    path = _write(tmp_path / "brand.csv", *_crisis_across_a_hole())
    result = run("spikes", "detect", str(path))
    assert result.returncode == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["timestamp"] for a in alerts] == ["2026-03-08 10:30"]
    assert "96 bins with no row" in result.stderr
    assert "holding the value before, a gap in the export" in result.stderr
    assert "or one does and no rows of the file stay that low for as long" in result.stderr


def test_exports_joined_with_cat_are_read_as_one_series(tmp_path: Path) -> None:
    """Two exports joined with ``cat``: the second header stopped the read ("timestamp
    'timestamp' is not a time"). It is skipped and said; the alerts are those of one file."""
    values = [10] * (3 * 288 + 12) + [60] * 12 + [10] * 20
    whole, joined = tmp_path / "whole.csv", tmp_path / "joined.csv"
    write_series(whole, values, datetime(2026, 3, 2))
    lines = whole.read_text("utf-8").splitlines()
    half = 1 + len(values) // 2
    joined.write_text("\n".join([*lines[:half], lines[0], *lines[half:]]) + "\n", "utf-8")
    expected = run("spikes", "detect", str(whole), "--key", "brand")
    got = run("spikes", "detect", str(joined), "--key", "brand")
    assert got.returncode == 0, got.stderr
    assert got.stdout == expected.stdout and expected.stdout
    assert got.stderr == f"note: {joined}:{half + 1}: the header again: skipped\n"
