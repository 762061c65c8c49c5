"""The seasonal, robust, causal baseline shared by the volume detectors.

Counts are first variance-stabilised (Anscombe: ``2·sqrt(x + 3/8)``), where Poisson noise has
standard deviation ≈ 1 at every level. That one step is the "Poisson-aware floor": a jump from
0 to 3 is 2.4 units (noise), from 3 to 40 is 9 units (a crisis).

For bin ``t`` (``P`` bins per day):

* **seasonal** — median over reference days (:func:`reference_days`: the previous
  ``seasonal_days`` days of the same kind — weekday or weekend, and after a weekday or a
  weekend day) of the lightly smoothed value at the same time of day; so busy weekends are
  expected once one has been seen.
* **level** — the median of ``observed − seasonal`` over the recent window, with the seasonal
  part taken from the *same* reference days (also for the hours before midnight): the series'
  current offset from its usual pattern. A level shift is absorbed within half that window, so
  it fires once at its onset and then stops; the seasonal part catches up over the next days.
* **scale** — the median absolute residual over the scale window (×1.4826), or the upper
  decile of the residuals (÷1.2816) when that is wider (heavy upper tails), floored at 1
  (pure Poisson); recomputed every ``scale_stride`` bins.
* **missing bins** — bins of an outage of the data (``missing``: the count carried into them
  is nobody's) are skipped by all three: the pattern, the level and the scale take the other
  bins only, the level is held at its last value while its window has fewer than a quarter of
  its bins known, and their z is 0. A series without them takes exactly the same path.

Expected = seasonal + level; z = (observed − expected) / scale, all in the stabilised space.
Matrices are processed in blocks of rows to bound memory (1,000 brands × 30 days fit easily).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from koubei.analysis.detectors.causal import (
    anscombe,
    centred_mean,
    hold_last,
    inverse_anscombe,
    nanmedian_last,
    past_abs_median_and_quantile,
    past_median,
)

DAY = 86400
MAD_TO_SD = 1.4826
BLOCK_ROWS = 32


@dataclass
class Baseline:
    observed_y: np.ndarray  # stabilised observed
    expected_y: np.ndarray  # stabilised expected
    scale: np.ndarray  # robust noise scale in the stabilised space (≥ floor)
    expected: np.ndarray  # expected count
    zscore: np.ndarray


@dataclass
class Calendar:
    """Which day each bin belongs to, and (when known) which days are weekend days."""

    day: np.ndarray  # day number per bin, 0 = the first (possibly partial) day
    weekend: np.ndarray | None  # per day number + 1 (index 0 is the day before day 0)


def calendar(
    start: datetime | None, n_bins: int, interval_seconds: int, weekend_aware: bool = True
) -> Calendar:
    """Days (local midnight of ``start``) and weekend flags; bin 0 starts day 0 if no start."""
    if start is None or n_bins == 0:
        return Calendar(np.arange(n_bins) // max(1, DAY // interval_seconds), None)
    midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
    offset = (start - midnight).total_seconds()
    day = ((offset + np.arange(n_bins) * interval_seconds) // DAY).astype(int)
    days = range(-1, int(day[-1]) + 1)
    weekend = np.array([(midnight + timedelta(days=d)).weekday() >= 5 for d in days])
    return Calendar(day, weekend if weekend_aware else None)


def reference_days(day: int, cal: Calendar, seasonal_days: int) -> tuple[list[int], bool]:
    """Lags (in days) whose same time of day is the reference for ``day``, and whether the
    reference days' previous days match ``day``'s previous day ("like for like").

    A reference day must exist together with the day before it (the level offset is measured
    over the hours before midnight too). With day types, in order of preference: the previous
    ``seasonal_days`` days whose type *and* previous day's type match (Tuesday-Friday with each
    other, once there are three); else days of the same type (a Saturday with the last
    weekend's days, once there are two — not like for like, as Sunday follows Saturday);
    else the previous seven days.
    """
    candidates = [k for k in range(1, seasonal_days + 1) if day - k >= 1] or (
        [1] if day >= 1 else []
    )
    if cal.weekend is not None:
        kind = (cal.weekend[day + 1], cal.weekend[day])
        same = [k for k in candidates if (cal.weekend[day - k + 1], cal.weekend[day - k]) == kind]
        if len(same) >= 3:
            return same, True
        same_type = [k for k in candidates if cal.weekend[day - k + 1] == kind[0]]
        if len(same_type) >= 2:
            return same_type, False
    return candidates[:7], True


def seasonal_baseline(
    counts: np.ndarray,
    interval_seconds: int,
    *,
    seasonal_days: int = 14,
    cal: Calendar | None = None,
    recent_bins: int = 24,
    scale_bins: int = 288,
    scale_stride: int = 6,
    smooth_half_width: int = 1,
    scale_floor: float = 1.0,
    stabilise: bool = True,
    missing: np.ndarray | None = None,
) -> Baseline:
    """Causal expected value and z-score per bin for a matrix of counts (series × bins).

    ``cal`` (see :func:`calendar`) gives day boundaries and day types; without it days start at
    bin 0 and have no type. ``stabilise=False`` treats ``counts`` as already on a unit-noise
    scale (used for the velocity series, a difference of stabilised sums). ``missing`` (bool,
    the shape of ``counts``) marks bins whose value is nobody's count (an outage of the data):
    the estimates skip them (see :func:`_baseline_block`) and their z is 0.
    """
    x = np.asarray(counts, dtype=float)
    holes = None if missing is None or not np.any(missing) else np.asarray(missing, dtype=bool)
    parts = [
        _baseline_block(
            x[i : i + BLOCK_ROWS],
            None if holes is None else holes[i : i + BLOCK_ROWS],
            interval_seconds,
            seasonal_days,
            cal or calendar(None, x.shape[1], interval_seconds),
            recent_bins,
            scale_bins,
            scale_stride,
            smooth_half_width,
            scale_floor,
            stabilise,
        )
        for i in range(0, max(1, x.shape[0]), BLOCK_ROWS)
    ]
    if len(parts) == 1:
        return parts[0]
    return Baseline(
        *(np.concatenate(arrays) for arrays in zip(*(_fields(p) for p in parts), strict=True))
    )


def _fields(b: Baseline) -> tuple[np.ndarray, ...]:
    return (b.observed_y, b.expected_y, b.scale, b.expected, b.zscore)


def _thin_windows(missing: np.ndarray, window: int) -> np.ndarray:
    """Bins whose ``window`` bins before hold a missing one and fewer than a quarter known."""
    gone = np.concatenate([np.zeros((missing.shape[0], 1)), np.cumsum(missing, axis=1)], axis=1)
    n = missing.shape[1]
    lost = gone[:, :n] - gone[:, np.maximum(0, np.arange(n) - window)]
    present = np.minimum(np.arange(n), window) - lost
    return (lost > 0) & (present < max(1, window // 4))


def _reference_values(a: np.ndarray, lo: int, end: int, shifts: list[int]) -> np.ndarray:
    """``out[:, t - lo, j] = a[:, t - shifts[j]]`` for ``lo <= t < end`` (NaN before the start):
    the same time of day on each reference day, built for one day's bins only."""
    out = np.full((a.shape[0], end - lo, len(shifts)), np.nan)
    for j, shift in enumerate(shifts):
        first = max(lo, shift)  # the first bin whose reference exists
        if first < end:
            out[:, first - lo :, j] = a[:, first - shift : end - shift]
    return out


def _baseline_block(
    x: np.ndarray,
    missing: np.ndarray | None,
    interval_seconds: int,
    seasonal_days: int,
    cal: Calendar,
    recent_bins: int,
    scale_bins: int,
    scale_stride: int,
    smooth_half_width: int,
    scale_floor: float,
    stabilise: bool,
) -> Baseline:
    """:func:`seasonal_baseline` for a few rows.

    Bins in ``missing`` (an outage of the data: the value carried into them is nobody's count)
    are missing to every estimate: the seasonal pattern, the level and the scale learn from the
    other bins only, and where the level's window holds fewer than a quarter of its bins known
    because of them, the level is held at its last value (not updated) until it does. So an
    outage that carries one low row for 8 hours neither drags the level down (and the recovery
    up to a false spike) nor teaches the next days' pattern a flat line.
    """
    y = anscombe(x) if stabilise else x
    known = y if missing is None else np.where(missing, np.nan, y)
    thin = None if missing is None else _thin_windows(missing, recent_bins)
    period = max(1, DAY // interval_seconds)
    smooth = centred_mean(known, smooth_half_width) if period > smooth_half_width else known
    n = y.shape[1]
    expected_y = np.full(y.shape, np.nan)
    # Few reference days make a noisier forecast: its error variance grows by about
    # 1 / (days × smoothed bins). Residuals are divided by this before the pooled scale.
    inflation = np.ones(n)
    bounds = np.searchsorted(cal.day, np.arange(cal.day[-1] + 2)) if n else np.zeros(1, int)
    carried = np.full(y.shape[0], np.nan)  # yesterday's last level offset, per row
    # The level moves slowly next to one bin: recomputing it every twelfth of its window (every
    # 15 minutes for 3 hours) is three times cheaper and still causal.
    level_stride = max(1, recent_bins // 12)
    for day in range(len(bounds) - 1):
        begin, end = int(bounds[day]), int(bounds[day + 1])
        if end == begin:  # no bin starts on this day (bins longer than a day)
            continue
        lo = max(0, begin - recent_bins)
        ks, like_for_like = reference_days(day, cal, seasonal_days)
        if ks:
            pattern = nanmedian_last(_reference_values(smooth, lo, end, [k * period for k in ks]))
            if like_for_like:
                # The pattern of *this day's* reference days over the recent window, across
                # midnight: the offset is measured against exactly the pattern it is added to.
                offset = past_median(
                    known[:, lo:end] - pattern, recent_bins, stride=level_stride, start=begin - lo
                )
            else:
                # The reference days' evenings are not like this day's: measure the offset on
                # this day's bins only, and carry yesterday's until a quarter window exists.
                today = known[:, begin:end] - pattern[:, begin - lo :]
                offset = past_median(today, recent_bins, stride=level_stride)
                early = np.arange(end - begin) < max(1, recent_bins // 4)
                offset[:, early] = carried[:, None]
            if thin is not None:
                offset = hold_last(offset, thin[:, begin:end], carried)
            expected_y[:, begin:end] = pattern[:, begin - lo :] + offset
            inflation[begin:end] = np.sqrt(1 + 1 / (len(ks) * (2 * smooth_half_width + 1)))
            carried = offset[:, -1]
        gaps = np.isnan(expected_y[:, begin:end])
        if gaps.any():  # no reference yet (the first day): the recent median itself
            plain = past_median(known[:, lo:end], recent_bins, start=begin - lo)
            expected_y[:, begin:end] = np.where(gaps, plain, expected_y[:, begin:end])
    residual = y - expected_y
    standard = (known - expected_y) / inflation
    # Real mention series have heavier upper tails than Poisson (bursts of chatter): the
    # upper decile's spread sets the scale when it is wider than the symmetric one.
    spread, decile = past_abs_median_and_quantile(standard, scale_bins, scale_stride, 0.9)
    unit = MAD_TO_SD * spread
    upper = decile / 1.2816
    unit = np.fmax(unit, upper)
    scale = np.where(np.isnan(unit), scale_floor, np.maximum(unit, scale_floor)) * inflation
    # no z where nothing is known: no count observed (missing), or nothing to expect yet
    unknown = np.isnan(expected_y) if missing is None else np.isnan(expected_y) | missing
    with np.errstate(invalid="ignore"):
        z = np.where(unknown, 0.0, residual / scale)
    expected = inverse_anscombe(expected_y) if stabilise else expected_y
    return Baseline(y, expected_y, scale, expected, np.nan_to_num(z))
