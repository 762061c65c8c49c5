"""CSV reading when an export changes its step: rows on one grid (a finer step summed, a coarser
one split), sparse exports."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from koubei.analysis.detectors import default_detectors, detect_all, read_csv


def _rows(start: str, minutes: int, values: list[int]) -> list[str]:
    first = datetime.fromisoformat(start)
    return [
        f"{(first + timedelta(minutes=minutes * i)):%Y-%m-%d %H:%M},{v}"
        for i, v in enumerate(values)
    ]


def test_read_csv_splits_a_change_from_1_to_5_minute_rows_over_1_minute_bins(
    tmp_path: Path,
) -> None:
    """Two hours of 1-minute rows, then two hours of 5-minute rows: each 5-minute row was one
    1-minute bin and the next four carried it, five times the volume from the change on (a
    surge). Each 5-minute row is split over the five 1-minute bins up to it; the first one, read
    when it was the newest row, stays one 1-minute bin (causal: the 2 hours before the change
    keep their 1-minute bins, where the whole file was once read at 5 minutes, issue 20)."""
    path = tmp_path / "mixed.csv"
    lines = _rows("2026-03-02 10:00", 1, [2] * 120) + _rows("2026-03-02 12:00", 5, [10] * 24)
    path.write_text("timestamp,value\n" + "\n".join(lines) + "\n", "utf-8")
    data = read_csv(path)
    series = data.series
    assert series.interval_seconds == 60
    assert series.total == [2] * 120 + [10] + [2] * 115  # carried: 10 five times a 5-minute row
    assert sum(series.total) == 2 * 120 + 10 * 24
    assert series.start[0].strftime("%H:%M") == "10:00" and not any(series.filled)
    assert data.labels[120] == "2026-03-02 12:00" and data.labels[-1] == "2026-03-02 13:55"
    assert data.resampled == [(122, 60, 300)]  # line 122: the first 5-minute row

    # ... back to 1-minute rows, after three of them missed: on the same grid
    back = _rows("2026-03-02 14:00", 1, [2] * 103)
    path.write_text("timestamp,value\n" + "\n".join(lines + back[3:]) + "\n", "utf-8")
    data = read_csv(path)
    # 13:51-13:55 (the last 5-minute row), 13:56-14:02 left out (rows of 2: read as 0), 14:03
    assert data.series.total[231:244] == [2] * 5 + [0] * 7 + [2]
    assert [r[1:] for r in data.resampled] == [(60, 300), (300, 60)]


def test_read_csv_keeps_the_step_of_a_sparse_export_leaving_every_other_bin_out(
    tmp_path: Path,
) -> None:
    """A 5-minute export that leaves empty bins out, whose night keeps every other bin for an
    hour: six 10-minute gaps in a row are no change of resolution (the whole file read at 10
    minutes would blur every bin of it)."""
    path = tmp_path / "night.csv"
    day = _rows("2026-03-02 00:00", 5, [3, 1, 2, 4, 1, 2] * 4)
    night = _rows("2026-03-02 02:00", 10, [1] * 7)  # 02:00-03:00, one bin in two
    morning = _rows("2026-03-02 03:05", 5, [2, 1, 3, 1] * 6)
    path.write_text("timestamp,value\n" + "\n".join(day + night + morning) + "\n", "utf-8")
    data = read_csv(path)
    assert data.series.interval_seconds == 300 and data.resampled == []
    assert data.series.total[24:37] == [1, 0] * 6 + [1]  # the left-out bins read as 0


def test_read_csv_refuses_a_change_of_step_that_does_not_sum_into_one_grid(
    tmp_path: Path,
) -> None:
    path = tmp_path / "steps.csv"
    lines = _rows("2026-03-02 10:00", 2, [2] * 60) + _rows("2026-03-02 12:00", 5, [5] * 24)
    path.write_text("timestamp,value\n" + "\n".join(lines) + "\n", "utf-8")
    with pytest.raises(
        ValueError,
        match=r"steps\.csv:62: rows are 300 s apart from here on, 120 s before: a change of "
        r"resolution that does not sum into one grid",
    ):
        read_csv(path)


def test_read_csv_reads_bins_a_sparse_export_left_out_as_zeros(tmp_path: Path) -> None:
    """An export that writes only non-empty bins (no row is 0, many are 1): a bin without a
    row carried the value before, so a quiet night read as its last busy bin, over and over."""
    path = tmp_path / "sparse.csv"
    path.write_text(
        "timestamp,value\n"
        "2026-03-02 01:00,3\n"
        "2026-03-02 01:05,1\n"  # 01:10-01:25 left out: empty
        "2026-03-02 01:30,2\n"
        "2026-03-02 01:35,40\n"
        "2026-03-02 01:45,52\n",  # 01:40 missing between busy rows: a gap, carried
        "utf-8",
    )
    data = read_csv(path)
    assert data.series.total == [3, 1, 0, 0, 0, 0, 2, 40, 40, 52]  # before: 1, 1, 1, 1 at 01:10
    assert data.series.filled == [False, False] + [True] * 4 + [False, False, True, False]
    assert (data.gap_after, data.gaps_zero, data.gaps_carried) == (3, 4, 1)
    # a file that writes its zeros: a missing row is a gap in the export, carried as before
    path.write_text(
        "timestamp,value\n2026-03-02 01:00,0\n2026-03-02 01:05,1\n2026-03-02 01:15,2\n", "utf-8"
    )
    data = read_csv(path)
    assert data.series.total == [0, 1, 1, 2]
    assert (data.gaps_zero, data.gaps_carried) == (0, 1)


def test_read_csv_sums_a_change_of_step_in_the_last_rows_into_the_coarser_bins(
    tmp_path: Path,
) -> None:
    """Two hours of 1-minute rows, then only two 5-minute rows (the file a live export writes
    just after its bins changed): read at 1 minute, the newest bins were 100 then four carried
    100s, a ×5 surge. The last rows, a multiple of the step apart and about that many times
    the rows before, are a change of resolution already."""
    path = tmp_path / "tail.csv"
    lines = _rows("2026-03-02 10:00", 1, [20] * 120) + _rows("2026-03-02 12:00", 5, [100, 95])
    path.write_text("timestamp,value\n" + "\n".join(lines) + "\n", "utf-8")
    data = read_csv(path)
    assert data.series.interval_seconds == 60
    # 12:00, read as it came (one 1-minute bin), then 12:05 split over 12:01-12:05
    assert data.series.total == [20] * 120 + [100] + [19] * 5  # carried: 95 five times
    assert data.resampled == [(122, 60, 300)] and not any(data.series.filled)


def test_read_csv_a_change_of_step_in_the_last_rows_stamped_at_their_bins_end(
    tmp_path: Path,
) -> None:
    """Rows stamped at their bin's end (10:01 ... 12:00, 12:05, 12:10): the coarse run starts
    at the last 1-minute row. Still a change of step (was read at 1 minute: a ×5 jump): 12:05,
    one row, is too few to tell from a spike and stays as it came; 12:10 is split."""
    path = tmp_path / "tail.csv"
    lines = _rows("2026-03-02 10:01", 1, [20] * 120) + _rows("2026-03-02 12:05", 5, [100, 95])
    path.write_text("timestamp,value\n" + "\n".join(lines) + "\n", "utf-8")
    data = read_csv(path)
    assert data.series.interval_seconds == 60 and data.resampled == [(121, 60, 300)]
    assert data.series.total[-10:] == [20] * 4 + [100] + [19] * 5
    assert data.series.filled[-10:] == [True] * 4 + [False] * 6


def test_read_csv_keeps_the_step_when_the_last_rows_are_farther_apart_but_not_coarser(
    tmp_path: Path,
) -> None:
    """Last rows a multiple of the step apart that hold what the rows before hold: an exporter
    that missed rows, or a sparse export leaving its empty night bins out, not a new step."""
    path = tmp_path / "missed.csv"
    lines = _rows("2026-03-02 10:00", 1, [20] * 120) + _rows("2026-03-02 12:00", 5, [21, 19, 20])
    path.write_text("timestamp,value\n" + "\n".join(lines) + "\n", "utf-8")
    data = read_csv(path)
    assert data.series.interval_seconds == 60 and data.resampled == []
    night = tmp_path / "night.csv"
    lines = _rows("2026-03-02 00:00", 5, [3, 1, 2, 4] * 6) + _rows("2026-03-02 02:00", 10, [1] * 3)
    night.write_text("timestamp,value\n" + "\n".join(lines) + "\n", "utf-8")
    data = read_csv(night)
    assert data.series.interval_seconds == 300 and data.resampled == []
    assert data.series.total[-5:] == [1, 0, 1, 0, 1]  # the left-out bins read as 0


def test_read_csv_keeps_the_step_when_a_spike_follows_the_last_missed_row(
    tmp_path: Path,
) -> None:
    """Four days of 5-minute rows, one row missed, then a spike as the newest row: the last gap
    is two steps and the rows around it held √2 times the rows before *on average*, so all was
    re-binned at 10 minutes (an hourly real series at 2 hours: the spike's page was lost). A
    file of 0 rows that missed its next-to-last row (a bar of 0) was re-binned the same way."""
    rng = np.random.default_rng(11)
    start = datetime(2026, 3, 2)
    values = rng.poisson(20, 4 * 288).tolist()
    lines = _rows(f"{start:%Y-%m-%d %H:%M}", 5, values)
    last = start + timedelta(minutes=5 * (len(values) + 1))  # one 5-minute row missed
    path = tmp_path / "spike.csv"
    path.write_text(f"timestamp,value\n{chr(10).join(lines)}\n{last:%Y-%m-%d %H:%M},400\n")
    data = read_csv(path)
    assert data.series.interval_seconds == 300 and data.resampled == []  # before: 600
    assert data.series.total[-3:] == [values[-1], values[-1], 400]  # the missed bin carried
    [jump] = [d for d in default_detectors() if d.name == "mention-jump"]  # one bin, z 12:
    pages = detect_all([type(jump)(jump.name, {**jump.options, "z_threshold": 12.0})], data.series)
    assert [p.timestamp.replace(tzinfo=None) for p in pages] == [last]
    assert pages[0].expected < 25  # one 5-minute bin (20 a bin); before: 44, a 10-minute one
    zeros = tmp_path / "zeros.csv"
    lines = _rows("2026-03-02 00:00", 5, [0] * 30) + _rows("2026-03-02 02:35", 5, [0])
    zeros.write_text("timestamp,value\n" + "\n".join(lines) + "\n")
    data = read_csv(zeros)
    assert data.series.interval_seconds == 300 and data.resampled == []  # before: 600


def test_read_csv_a_change_of_step_in_the_last_rows_with_a_repeated_row(tmp_path: Path) -> None:
    """A repeated timestamp among the last rows (exports repeat one now and then) does not
    hide their change of step: the repeat is added into its bin as anywhere else."""
    path = tmp_path / "tail.csv"
    coarse = _rows("2026-03-02 12:00", 5, [100, 95, 105])
    lines = _rows("2026-03-02 10:00", 1, [20] * 120) + coarse + coarse[-1:]
    path.write_text("timestamp,value\n" + "\n".join(lines) + "\n", "utf-8")
    data = read_csv(path)
    assert data.series.interval_seconds == 60
    assert data.series.total[-11:] == [100] + [19] * 5 + [42] * 5
    assert data.resampled == [(122, 60, 300)] and data.repeats == [(125, 124)]
