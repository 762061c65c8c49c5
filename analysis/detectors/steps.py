"""A CSV whose rows change their step (1-minute rows, then 5-minute rows), read causally.

:func:`~koubei.analysis.detectors.series.read_csv` lays every row on one grid: the step of the
file's first run of rows (:func:`resolutions`). Rows written later at a finer step are summed
into its bins; rows written at a coarser step (a multiple k of the grid) are each split evenly
over the k bins up to them (:func:`coarse_rows`), the bins since the row before, which no row
reported. Both are decided on the rows up to each row: a growing file is read as it was then
(issue 20: an alert at a time uses the data up to it only). Reading the whole file at its
coarsest step, as the reader once did, changed every bin before a change of step once the
change was written (5-minute bins became 15-minute ones, and the alerts sent on them moved).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from koubei.analysis.detectors.gaps import ZERO_NEIGHBOUR

#: equal gaps in a row that make a resolution: a file going from 1-minute to 5-minute rows has
#: a run at least this long at each step; an export that leaves empty bins out has none at
#: any step but its own (its gaps vary with the traffic)
RESOLUTION_RUN = 6
#: ... and the time such a run must span: a sparse 5-minute export whose night happens to leave
#: every other bin out for an hour (six 10-minute gaps) is no change of resolution, and reading
#: it at 10 minutes would blur its bins
RESOLUTION_SPAN = 90 * 60


def is_resolution(length: int, step: int) -> bool:
    return length >= RESOLUTION_RUN and length * step >= RESOLUTION_SPAN


def _sizes(stamps: np.ndarray, unit: int) -> np.ndarray:
    """The gap before each row but the first, to ``unit`` (at least one ``unit``)."""
    gaps = np.diff(stamps)
    return np.maximum(unit, unit * np.round(gaps / unit)).astype(np.int64)


def resolutions(stamps: np.ndarray, unit: int) -> list[tuple[int, int]]:
    """``(first row, step)`` of each run of equal gaps (:func:`is_resolution`) whose step
    differs from the run before's (``stamps`` sorted and distinct; the run's first row is the
    row before its first gap)."""
    runs: list[tuple[int, int]] = []
    start, step, length = 0, 0, 0
    for i, size in enumerate(_sizes(stamps, unit).tolist()):
        if size == step:
            length += 1
            continue
        if is_resolution(length, step) and (not runs or runs[-1][1] != step):
            runs.append((start, step))
        start, step, length = i, size, 1
    if is_resolution(length, step) and (not runs or runs[-1][1] != step):
        runs.append((start, step))
    return runs


def coarse_rows(
    stamps: np.ndarray, values: Sequence[float], grid: int, unit: int
) -> list[tuple[int, int, int]]:
    """``(row, first row of its run, step)`` of each row (``stamps`` sorted and distinct)
    written at a step coarser than ``grid``, decided on the rows up to it.

    A row is one when the gap before it is a multiple k (2 or more) of the grid and it ends a
    run of such gaps that is a resolution (:func:`is_resolution`), or a shorter run (a live
    export whose bins just changed) whose rows each hold about k times the rows before: at
    least √k times the mean of the :data:`RESOLUTION_RUN` × k rows before the run (more than
    0), at most k·√k times it (more is a spike, not k bins summed), and those rows one grid
    step apart, none missed (a sensor sampled with holes is no change of step). The run's
    first row may be the last fine one (rows stamped at their bin's end: ..., 11:59, 12:00,
    12:05, 12:10), so with two coarse rows after it, it is left out; with one, the first row
    must be a coarse row too, after a fine one, and the two hold alike (within √k of one
    another): a busy row after a missed one is a spike, and halving it lost its page. A
    sparse export leaving empty bins out (:func:`.gaps.left_out_zeros`: whole counts, none 0)
    whose run holds a row of at most :data:`~.gaps.ZERO_NEIGHBOUR` keeps the grid. Rows read
    before their run was known to be a step stay as they were read.
    """
    out: list[tuple[int, int, int]] = []
    if len(stamps) < 2:
        return out
    sizes = _sizes(stamps, unit).tolist()
    # gaps of one grid step up to each row: the rows before a run are of the grid's step
    steady = np.concatenate([[0], np.cumsum(np.array(sizes) == grid)]).tolist()
    vals = np.asarray(values, dtype=float)
    whole = np.logical_and.accumulate(vals == np.round(vals)).tolist()
    lowest = np.minimum.accumulate(vals).tolist()
    # the run's first row, and the least and the most its rows after it hold
    start, after, most = 0, math.inf, 0.0
    for row in range(1, len(stamps)):
        size = sizes[row - 1]
        if row >= 2 and sizes[row - 2] == size:
            after, most = min(after, float(vals[row])), max(most, float(vals[row]))
        else:
            start, after, most = row - 1, float(vals[row]), float(vals[row])
        if size <= grid or size % grid:
            continue
        length = row - start
        if is_resolution(length, size):
            out.append((row, start, size))
            continue
        fold = size // grid
        first = max(0, start - RESOLUTION_RUN * fold)
        if start - first < RESOLUTION_RUN or steady[start] - steady[first] < start - first:
            continue  # too few rows before, or rows with holes: no step to change from
        bar = math.sqrt(fold) * float(np.mean(vals[first:start]))
        top = fold * bar  # k·√k times the rows before: more is a spike, not k bins summed
        low, high = after, most
        if length < 2:  # one coarse row: the run's first row is one too, after a fine one,
            # and the two alike (a busy row after a missed one is a spike: exchange-2_cpm's
            # incident in anomaly-series was lost when it was halved)
            low, high = min(low, float(vals[start])), max(high, float(vals[start]))
            if vals[start - 1] >= bar or high > math.sqrt(fold) * low:
                continue
        if not bar > 0 or low < bar or high > top:
            continue  # rows like those before, or a spike
        if whole[row] and lowest[row] > 0 and min(after, vals[start]) <= ZERO_NEIGHBOUR:
            continue  # what a sparse export leaving empty bins out writes
        out.append((row, start, size))
    return out
