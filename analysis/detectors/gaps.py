"""What a bin no row of a CSV reports holds: 0 (an empty bin the export left out) or unknown.

:func:`left_out_zeros` decides it for :func:`~koubei.analysis.detectors.series.read_csv`. The
bins it does not read as zeros carry the value before and are data nobody saw: no detector fires
on them, and an outage of them (:func:`outage_runs`, the one home of that reading) is not quiet
time to the paging policy (:mod:`koubei.analysis.detectors.paging`) nor data to the seasonal
baseline (:func:`outage_bins`; :func:`~koubei.analysis.detectors.baseline.seasonal_baseline`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

#: a bin with no row beside a row of at most this many mentions may be an empty bin: a Poisson
#: count of 3 on average is 0 one time in 20; beside busier rows a 0 is not believable
ZERO_NEIGHBOUR = 3


def left_out_zeros(sums: np.ndarray, seen: np.ndarray, not_counts: np.ndarray) -> np.ndarray:
    """Which bins that no row reports are empty bins the export left out (0 mentions).

    An export that writes only non-empty bins (SQL ``GROUP BY`` a time bucket; CloudWatch,
    which reports a load balancer's ``RequestCount`` only while requests flow: "If there are
    no requests ... the metric is not reported", docs.aws.amazon.com/elasticloadbalancing/
    latest/classic/elb-cloudwatch-metrics.html) never writes 0, and its gaps fall where the
    counts are low. So a run of missing bins is read as zeros when every value of the file up
    to the row ending the run is a whole count and none is 0 (``not_counts``: the bins holding
    a row that is not), and the counts are low around it: both rows beside it hold at most
    :data:`ZERO_NEIGHBOUR` (the run lies inside a low stretch), or one does and the file was
    seen that low for at least as long before (its longest stretch of such rows up to the row
    ending the run, :func:`_longest_low_spell`: rows to come do not change it). A series whose
    rows hold a few mentions for hours leaves hours out; 8 hours missing after one row of 3 in
    a busy series, busy again after, is an outage of the export, not 8 hours of nothing.
    Otherwise (the file writes its zeros, or the rows around are busy: a speed, or an outage in
    a busy count) it is a gap in the export, and each bin carries the value before: neither a
    fall nor a rise, as before. (The baselines do not learn from a carried outage,
    :func:`outage_bins`; bins read as 0 are data to them.)
    """
    zero = np.zeros(len(seen), dtype=bool)
    # causal: the first 0 or fraction (bin ``spoilt``) says the export writes its zeros, or
    # holds no counts, from the run it ends on; runs ended before it were read as zeros when
    # they ended and stay so (the whole file's rows once turned them back into carried bins,
    # changing pages sent while the file was read so far)
    spoilt = int(np.argmax(not_counts)) if not_counts.any() else len(seen)
    at = np.flatnonzero(seen)
    at = at[at < spoilt]
    low = sums[at] <= ZERO_NEIGHBOUR
    longest = _longest_low_spell(at, low)
    for row, (before, after) in enumerate(itertools.pairwise(at)):
        if after == before + 1 or not (low[row] or low[row + 1]):
            continue
        # the spells seen by the row that ends the run (causal: rows after it once made a run
        # carried while the file was read so far into zeros, and changed pages before them)
        if (low[row] and low[row + 1]) or after - before - 1 <= longest[row + 1]:
            zero[before + 1 : after] = True
    return zero


def _longest_low_spell(at: np.ndarray, low: np.ndarray) -> np.ndarray:
    """For each row, how many bins the longest run of consecutive rows (in bins ``at``) of at
    most :data:`ZERO_NEIGHBOUR` mentions spans, first row to last, among the rows up to it (the
    bins left out between its rows are part of it: the time the file is seen low so far)."""
    out = np.zeros(len(low), dtype=int)
    longest, first = 0, -1
    for row, is_low in enumerate(low):
        if not is_low:
            first = -1
        else:
            first = row if first < 0 else first
            longest = max(longest, int(at[row] - at[first]) + 1)
        out[row] = longest
    return out


def outage_runs(unseen: np.ndarray, per_day: int) -> list[tuple[int, int]]:
    """``[start, end)`` bin indices of each outage of the source: a run of ``unseen`` bins
    (filled, not read as 0) longer than any run that ended in the day (``per_day`` bins) before
    it began.

    The one reading of an outage: the seasonal baseline skips its bins (:func:`outage_bins`:
    the level held, not learning one carried row for 8 hours; a busy brand's recovery from such
    an outage paged before), and the paging policy does not count its time as quiet
    (:meth:`~koubei.analysis.detectors.paging.PagingPolicy.pages`: a crisis whose export stops
    for 8 h pages once). Shorter runs are how the series is sampled (a sensor reporting one bin
    in four): the value carried into them stands in for the bins between its rows, and they are
    quiet time, as before; skipping every unseen bin lost three incidents of sparse anomaly
    series (35 → 32 / 77, BENCHMARKS.md), and counting none as quiet merged the incidents of
    ``TravelTime_387`` (35 → 33). A day, so that a sensor that stops every night has its nights
    as usual runs. Each run is judged against the runs before it, not the incident's onset: a
    long incident learns how its series is sampled as a baseline does.

    Bin indices step in UTC, as the bins do (:meth:`CountSeries.from_values`): a run across a
    DST change is one run. Causal: whether a run is an outage depends on the runs before it and
    its own length, known once it has ended (a reported bin follows it); a run still open at the
    series' end is judged on its length so far.
    """
    edges = np.flatnonzero(np.diff(np.concatenate([[0], unseen.astype(int), [0]])))
    starts, ends = edges[::2], edges[1::2]
    out: list[tuple[int, int]] = []
    for run, (start, end) in enumerate(zip(starts, ends, strict=True)):
        usual, before = 0, run - 1
        while before >= 0 and ends[before] > start - per_day:
            usual = max(usual, int(ends[before] - starts[before]))
            before -= 1
        if end - start > usual:
            out.append((int(start), int(end)))
    return out


def outage_bins(runs: Sequence[tuple[int, int]], count: int) -> np.ndarray:
    """Which of ``count`` bins lie in the outages ``runs`` (:func:`outage_runs`)."""
    out = np.zeros(count, dtype=bool)
    for start, end in runs:
        out[start:end] = True
    return out
