"""CSV reading onto a fixed grid and the causal helpers."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from koubei.analysis.detectors import (
    CountSeries,
    default_detectors,
    detect_all,
    read_csv,
    series_key,
)
from koubei.analysis.detectors.series import episodes, past_median, trailing_sum


def test_read_csv_infers_interval_fills_gaps_and_keeps_labels(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(
        "timestamp,value\n"
        "2015-02-26 21:40:00,5\n"
        "2015-02-26 21:45:00,7\n"
        "2015-02-26 21:55:00,9\n"  # 21:50 is missing
        "2015-02-26 22:00:00,4\n",
        encoding="utf-8",
    )
    data = read_csv(path)
    series = data.series
    assert series.interval_seconds == 300
    assert series.negative == [5, 7, 7, 9, 4]
    assert series.filled == [False, False, True, False, False]
    assert data.labels[3] == "2015-02-26 21:55:00" and data.labels[2] == ""
    assert series.start[0].utcoffset() is not None
    assert series.volume_only


def test_read_csv_puts_rows_a_second_off_the_grid_on_it(tmp_path: Path) -> None:
    # An exporter stamping 5-minute rows at run time: a second early or late, now and then.
    # Floored, 21:49:59 would join 21:45's bin (a doubled count, a spike) and leave 21:50's
    # empty; and 299 / 300 / 301 s gaps must still read as 5-minute data.
    path = tmp_path / "jitter.csv"
    stamps = ["21:40:00", "21:45:01", "21:49:59", "21:54:59", "22:00:01", "22:05:00", "22:17:30"]
    path.write_text(
        "timestamp,value\n"
        + "".join(f"2015-02-26 {t},{n}\n" for n, t in enumerate(stamps, start=1)),
        encoding="utf-8",
    )
    series = read_csv(path).series
    assert series.interval_seconds == 300
    # the last row is half an interval off: it is added to the bin it falls in (22:15)
    assert series.negative == [1, 2, 3, 4, 5, 6, 6, 7]
    assert series.filled == [False] * 6 + [True, False]


def test_read_csv_without_header_and_with_iso_offsets(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("2026-03-02T00:00:00+00:00,1\n2026-03-02T00:01:00+00:00,2\n", "utf-8")
    series = read_csv(path).series
    assert series.interval_seconds == 60 and series.total == [1, 2]


def test_read_csv_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,value\n2026-03-02 00:00:00,1\nyesterday,2\n", "utf-8")
    with pytest.raises(ValueError, match=r"bad\.csv:3"):
        read_csv(path)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("nan", r"hostile\.csv:3: value 'nan' is not a finite number"),
        ("inf", r"hostile\.csv:3: value 'inf' is not a finite number"),
        ("-3", r"hostile\.csv:3: value '-3' is negative"),
    ],
)
def test_read_csv_names_the_line_of_a_value_no_count_has(
    tmp_path: Path, value: str, message: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(
        f"timestamp,value\n2026-03-02 00:00:00,1\n2026-03-02 00:05:00,{value}\n", "utf-8"
    )
    with pytest.raises(ValueError, match=message):
        read_csv(path)


def test_read_csv_refuses_a_mistyped_year_instead_of_a_grid_of_millions(tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text(
        "timestamp,value\n2015-03-05 20:10:00,4\n2015-03-05 20:15:00,5\n2051-02-26 21:40:00,9\n",
        "utf-8",
    )
    with pytest.raises(ValueError, match=r"typo\.csv: rows span .* from '2015-03-05 20:15:00' "
                       r"\(line 3\) to '2051-02-26 21:40:00' \(line 4\)"):  # fmt: skip
        read_csv(path)


def test_bins_longer_than_a_day_do_not_break_the_detectors(tmp_path: Path) -> None:
    # Days on which no bin starts (monthly rows) used to end the daily baseline with an
    # IndexError; they are skipped.
    path = tmp_path / "monthly.csv"
    path.write_text(
        "timestamp,value\n2015-02-26,5\n2015-03-26,6\n2015-04-26,6\n2015-05-26,7\n", "utf-8"
    )
    series = read_csv(path).series
    assert detect_all(default_detectors(), series) == []


def test_helpers_look_only_backwards() -> None:
    a = np.arange(10, dtype=float)[None, :]
    assert np.isnan(past_median(a, 3)[0, 0])
    assert past_median(a, 3)[0, 5] == 3.0  # median of 2, 3, 4
    assert trailing_sum(a, 2)[0, 5] == 9.0  # 4 + 5
    strided = past_median(a, 3, stride=4)
    assert strided[0, 6] == past_median(a, 3)[0, 4]  # held from the last recompute point


def test_episodes_join_close_bins_and_series_keys() -> None:
    mask = np.array([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1], dtype=bool)
    assert episodes(mask, cooldown=2) == [(1, 5), (10, 10)]
    assert episodes(mask, cooldown=0) == [(1, 2), (5, 5), (10, 10)]
    assert series_key("鲜牧") == "鲜牧"
    assert series_key("鲜牧", "weibo") == "鲜牧|weibo"
    assert series_key("鲜牧", aspect="物流") == "鲜牧|aspect:物流"


def test_count_series_checks_lengths() -> None:
    with pytest.raises(ValueError):
        CountSeries([], [1], [])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"timestamp,value\n2026-03-02 00:00:00,1\n\xff\xfe,2\n", r"hostile\.csv:3: not UTF-8"),
        (
            b'timestamp,value\n2026-03-02 00:00:00,"' + b"9" * 200_000 + b'"\n',
            r"hostile\.csv:2: field",
        ),
    ],
    ids=["not-utf8", "huge-field"],
)
def test_read_csv_names_the_line_of_unreadable_bytes(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):  # was a csv.Error traceback / no line
        read_csv(path)


@pytest.mark.parametrize("machine_zone", ["UTC", "America/New_York"])
def test_epoch_timestamps_are_read_in_china_time_whatever_the_machine_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, machine_zone: str
) -> None:
    """Epoch rows took the machine's zone: on a UTC server the detectors' days (and weekends)
    began at 08:00 China time, so `koubei spikes detect` answered differently per machine."""
    path = tmp_path / "epoch.csv"
    first = 1_835_366_400  # 2028-02-29 00:00 in Shanghai (2028-02-28 16:00 UTC)
    path.write_text(
        "timestamp,value\n" + "".join(f"{first + 300 * i},{i % 7}\n" for i in range(4)),
        encoding="utf-8",
    )
    monkeypatch.setenv("TZ", machine_zone)
    time.tzset()
    try:
        start = read_csv(path).series.start[0]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert start.utcoffset() == timedelta(hours=8)
    assert (start.year, start.month, start.day, start.hour) == (2028, 2, 29, 0)
