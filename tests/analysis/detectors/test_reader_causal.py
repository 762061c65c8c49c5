"""The CSV reader is causal: a prefix of a file reads as the whole file does up to its last row.

`koubei spikes detect FILE.csv` is run on whole files, and an alert at a time must use the data
up to it only (issue 20). The detectors are causal on a series (test_paging.py, test_gaps.py);
these tests pin the reader before them: for files shaped as the other reader tests shape them
(test_series_steps.py, test_spikes.py: a night outage in a busy series, an export leaving its
empty bins out, a change from 1-minute to 5-minute rows, a live export whose last rows just
changed step, a row missed as the count rises), reading the first rows gives the bins (values,
filled and read-as-0 flags) the whole file gives up to the last of those rows, and `spikes
detect`'s path (read_csv, then detect_all with the defaults) the same alerts up to there.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from koubei.analysis.detectors import default_detectors, detect_all, read_csv


def _lines(start: datetime, minutes: int, values: list[int], keep_zeros: bool = True) -> list[str]:
    return [
        f"{(start + timedelta(minutes=minutes * i)):%Y-%m-%d %H:%M},{v}"
        for i, v in enumerate(values)
        if v or keep_zeros
    ]


def _night_outage() -> tuple[list[str], list[int]]:
    """Four days of a busy brand's 5-minute rows (a daily cycle), 8 hours of the third night
    missing (an outage: carried), and a surge on the fourth evening."""
    rng = np.random.default_rng(7)
    hours = (np.arange(4 * 288) % 288) / 12
    rate = 20 + 15 * np.sin((hours - 8) / 24 * 2 * np.pi)
    rate[3 * 288 + 220 : 3 * 288 + 232] *= 4
    values = rng.poisson(rate).tolist()
    lines = _lines(datetime(2026, 3, 2), 5, values)
    outage = 2 * 288 + 6, 2 * 288 + 6 + 96  # 00:30-08:30 of the third day
    lines = lines[: outage[0]] + lines[outage[1] :]
    return lines, [outage[0] - 1, outage[0], outage[0] + 1]


def _left_out_zeros() -> tuple[list[str], list[int]]:
    """A quiet brand's 5-minute counts exported without the empty bins (no row is 0), with a
    night surge: the shape of test_spikes.py's night-surge test."""
    rng = np.random.default_rng(1)
    hours = (np.arange(6 * 288) % 288) / 12
    rate = 0.3 + 2.5 * np.exp(-0.5 * (((hours - 20 + 12) % 24 - 12) / 3) ** 2)
    rate[4 * 288 + 24 : 4 * 288 + 36] += 4
    lines = _lines(datetime(2026, 3, 2), 5, rng.poisson(rate).tolist(), keep_zeros=False)
    return lines, []


def _step_change() -> tuple[list[str], list[int]]:
    """Four days of 1-minute rows (a surge on the fourth morning), then a day of 5-minute rows
    at the same rate: the whole file was read at 5 minutes, the first four days too, while
    they were read at 1 minute as long as the file ended before the change (and the surge's
    alert moved)."""
    rng = np.random.default_rng(5)
    rate = np.full(4 * 1440, 3.0)
    rate[3 * 1440 + 600 : 3 * 1440 + 660] *= 5  # a surge at 10:00 on the fourth day
    fine = _lines(datetime(2026, 3, 2), 1, (rng.poisson(rate) + 1).tolist())
    coarse = _lines(datetime(2026, 3, 6), 5, (rng.poisson(15, 288) + 5).tolist())
    return fine + coarse, list(range(len(fine) - 2, len(fine) + 9))


def _live_tail() -> tuple[list[str], list[int]]:
    """Four days of 5-minute rows (a surge on the fourth morning), then three 15-minute rows
    (an export whose bins just changed; too few rows for a run of the new step)."""
    rng = np.random.default_rng(3)
    rate = np.full(4 * 288, 20.0)
    rate[3 * 288 + 120 : 3 * 288 + 132] *= 4  # a surge at 10:00 on the fourth day
    fine = _lines(datetime(2026, 3, 1), 5, rng.poisson(rate).tolist())
    coarse = _lines(datetime(2026, 3, 5), 15, rng.poisson(60, 3).tolist())
    return fine + coarse, list(range(len(fine) - 1, len(fine) + 3))


def _missed_row_in_a_rise() -> tuple[list[str], list[int]]:
    """Four days of 5-minute rows; on the fourth morning the count rises 2.5-fold, and the
    exporter misses the second row of the rise (10:05): read alone, the first rows of such a
    file ended in what looked like a change to 10-minute rows, and the whole of them was read
    at 10 minutes, while the file read further kept its 5-minute bins."""
    rng = np.random.default_rng(11)
    rate = np.full(4 * 288, 20.0)
    rise = 3 * 288 + 120  # 10:00 on the fourth day
    rate[rise : rise + 24] = 50.0
    lines = _lines(datetime(2026, 3, 2), 5, rng.poisson(rate).tolist())
    del lines[rise + 1]
    return lines, list(range(rise - 1, rise + 5))


SHAPES = {
    "night outage": _night_outage,
    "export leaving empty bins out": _left_out_zeros,
    "1-minute rows, then 5-minute rows": _step_change,
    "5-minute rows, then three 15-minute rows": _live_tail,
    "a missed row as the count rises": _missed_row_in_a_rise,
}


def _cuts(n_rows: int, near: list[int], count: int) -> list[int]:
    """``count`` cuts spread over the file and every cut ``near`` the shape's change."""
    spread = {max(3, n_rows * k // count) for k in range(1, count + 1)}
    return sorted(spread | {c for c in near if 3 <= c <= n_rows})


def _prefix(tmp_path: Path, lines: list[str], rows: int) -> Path:
    path = tmp_path / f"first{rows}.csv"
    path.write_text("timestamp,value\n" + "\n".join(lines[:rows]) + "\n", "utf-8")
    return path


@pytest.mark.parametrize("shape", SHAPES)
def test_a_prefix_reads_as_the_whole_file_up_to_its_last_row(tmp_path: Path, shape: str) -> None:
    lines, near = SHAPES[shape]()
    whole = read_csv(_prefix(tmp_path, lines, len(lines))).series
    for rows in _cuts(len(lines), near, 12):
        part = read_csv(_prefix(tmp_path, lines, rows)).series
        n = len(part)
        assert part.interval_seconds == whole.interval_seconds, (shape, rows)
        assert part.start == whole.start[:n], (shape, rows)
        assert part.total == whole.total[:n], (shape, rows)
        assert part.filled == whole.filled[:n], (shape, rows)
        assert part.known_empty == whole.known_empty[:n], (shape, rows)


@pytest.mark.parametrize("shape", SHAPES)
def test_spikes_detect_on_a_prefix_alerts_as_on_the_whole_file(tmp_path: Path, shape: str) -> None:
    lines, near = SHAPES[shape]()
    detectors = default_detectors()

    def alerts(rows: int, until: datetime | None = None) -> list[tuple[datetime, str, str]]:
        series = read_csv(_prefix(tmp_path, lines, rows)).series
        found = detect_all(detectors, series)
        end = series.start[-1] if until is None else until
        return [(a.timestamp, a.severity, a.detector) for a in found if a.timestamp <= end]

    whole = read_csv(_prefix(tmp_path, lines, len(lines))).series
    every = alerts(len(lines))
    for rows in _cuts(len(lines), near[::4], 6):
        end = read_csv(_prefix(tmp_path, lines, rows)).series.start[-1]
        assert alerts(rows) == [a for a in every if a[0] <= end], (shape, rows)
    assert whole.start[-1] == datetime.fromisoformat(lines[-1].split(",")[0]).replace(
        tzinfo=whole.start[0].tzinfo
    )
