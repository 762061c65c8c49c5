"""The causal array helpers every detector is built from (2-D arrays: series × bins).

Every helper here is *causal*: the value produced for bin ``t`` depends only on bins ``< t``
(``past_*``) or ``≤ t`` (transforms and trailing sums), never on later bins.
"""

from __future__ import annotations

import numpy as np

FloatArray = np.ndarray

#: how many window values :func:`past_abs_median_and_quantile` copies at once (4 MB)
GATHER_ELEMENTS = 1 << 19


def anscombe(counts: FloatArray) -> FloatArray:
    """Variance-stabilised counts: Poisson noise has standard deviation ≈ 1 at any level."""
    return 2.0 * np.sqrt(np.maximum(counts, 0.0) + 0.375)


def inverse_anscombe(y: FloatArray) -> FloatArray:
    return np.maximum((y / 2.0) ** 2 - 0.375, 0.0)


def lag(a: FloatArray, k: int) -> FloatArray:
    """``out[:, t] = a[:, t - k]`` (NaN before the start)."""
    out = np.full(a.shape, np.nan)
    if k < a.shape[1]:
        out[:, k:] = a[:, : a.shape[1] - k]
    return out


def nanmedian_last(a: FloatArray) -> FloatArray:
    """Median over the last axis ignoring NaN (all-NaN → NaN); faster than ``np.nanmedian``."""
    s = np.sort(a, axis=-1)  # NaN sort last
    size = a.shape[-1]
    if size and not np.isnan(s[..., -1]).any():  # no NaN at all: the middle is in place
        return (s[..., (size - 1) // 2] + s[..., size // 2]) / 2.0
    n = np.sum(~np.isnan(a), axis=-1)
    lo = np.take_along_axis(s, np.maximum((n - 1) // 2, 0)[..., None], -1)[..., 0]
    hi = np.take_along_axis(s, np.maximum(n // 2, 0)[..., None], -1)[..., 0]
    med = (lo + hi) / 2.0
    return np.where(n > 0, med, np.nan)


def past_windows(a: FloatArray, window: int) -> FloatArray:
    """View ``out[:, t, j] = a[:, t - window + j]`` for ``j < window`` (the bins before ``t``)."""
    pad = np.full((a.shape[0], window), np.nan)
    padded = np.concatenate([pad, a], axis=1)
    view = np.lib.stride_tricks.sliding_window_view(padded, window, axis=1)
    return view[:, : a.shape[1], :]


def nanquantile_last(a: FloatArray, q: float) -> FloatArray:
    """Quantile ``q`` (linear interpolation) over the last axis ignoring NaN (all-NaN → NaN)."""
    s = np.sort(a, axis=-1)
    n = np.sum(~np.isnan(a), axis=-1)
    pos = q * np.maximum(n - 1, 0)
    lo_i = np.floor(pos).astype(int)
    hi_i = np.minimum(lo_i + 1, np.maximum(n - 1, 0))
    lo = np.take_along_axis(s, lo_i[..., None], -1)[..., 0]
    hi = np.take_along_axis(s, hi_i[..., None], -1)[..., 0]
    value = lo + (hi - lo) * (pos - lo_i)
    return np.where(n > 0, value, np.nan)


def _gathered_windows(
    a: FloatArray, window: int, stride: int, start: int
) -> tuple[FloatArray, np.ndarray, int]:
    """The windows of :func:`past_median` at its recompute points (a read-only view), the
    points, and how many leading points may see NaN (the rest take the partition-based
    selection).

    Only the points whose held bins reach ``start`` or later are taken.
    """
    n = a.shape[1]
    step = max(1, stride)
    first = max(0, start - step + 1)
    first += -first % step  # the first recompute point whose held bins reach ``start``
    points = np.arange(first, n, step)
    windows = past_windows(a, window)[:, first::step, :]
    nan_cols = np.flatnonzero(np.isnan(a).any(axis=0))
    clean_from = int(nan_cols[-1]) + 1 + window if len(nan_cols) else window
    return windows, points, int(np.searchsorted(points, clean_from))


def _median_in_place(w: FloatArray) -> FloatArray:
    """``np.median(w, axis=-1)`` for windows without NaN, partitioning ``w`` in place.

    The same values: the middle order statistics found by one selection (and the smallest of
    the upper part), averaged as ``np.median`` does; ``np.median`` selects twice more (the
    upper middle and, for its NaN check, the maximum).
    """
    size = w.shape[-1]
    half = size // 2
    if size % 2:
        w.partition(half, axis=-1)
        return w[..., half].copy()
    w.partition(half - 1, axis=-1)
    return (w[..., half - 1] + w[..., half:].min(axis=-1)) / 2.0


def _quantile_in_place(w: FloatArray, q: float) -> FloatArray:
    """``np.quantile(w, q, axis=-1)`` (linear) for windows without NaN, partitioning ``w`` in
    place; the same index, weight and interpolation arithmetic as numpy's, with one selection
    instead of four (numpy also selects the minimum and maximum, along a moved axis)."""
    size = w.shape[-1]
    quantile = np.asanyarray(q, dtype=float)
    virtual = (size - 1) * quantile  # numpy's "linear" (Hyndman & Fan's 7th) index
    below = int(np.floor(virtual))
    if below < 0 or below >= size - 1:  # at an end: no interpolation (numpy clips so)
        return np.quantile(w, q, axis=-1)
    w.partition(below, axis=-1)
    lo = w[..., below]
    hi = w[..., below + 1 :].min(axis=-1)
    gamma = virtual - np.floor(virtual)
    diff = hi - lo
    out = np.add(lo, diff * gamma)
    np.subtract(hi, diff * (1 - gamma), out=out, where=gamma >= 0.5)
    return out


def _held(med: FloatArray, points: np.ndarray, stride: int, n: int, start: int) -> FloatArray:
    """Bins ``start .. n - 1`` of values computed at ``points`` and held ``stride`` bins."""
    if stride <= 1:
        return med
    offset = start - int(points[0]) if len(points) else 0
    return np.repeat(med, stride, axis=1)[:, offset : offset + n - start]


def past_median(
    a: FloatArray, window: int, stride: int = 1, q: float = 0.5, start: int = 0
) -> FloatArray:
    """Median (or quantile ``q``) of the ``window`` bins before each bin, NaN-aware.

    With ``stride > 1`` the median is computed at every ``stride``-th bin and held for the next
    ``stride - 1`` bins: still causal (the window ends before the first bin that uses it) and
    ``stride`` times cheaper, for slowly changing quantities such as a noise scale. Only bins
    ``start`` on are returned (and computed): the same values as ``past_median(...)[:, start:]``.
    """
    n = a.shape[1]
    view, points, split = _gathered_windows(a, window, stride, start)
    windows = np.array(view)  # a copy, selected in place
    # Windows that hold no NaN (all but the first ones, usually) take the fast partition-based
    # selection; the rest the NaN-aware sort.
    med = np.empty(windows.shape[:2])
    if q == 0.5:
        med[:, :split] = nanmedian_last(windows[:, :split])
        if split < len(points):
            med[:, split:] = _median_in_place(windows[:, split:])
    else:
        med[:, :split] = nanquantile_last(windows[:, :split], q)
        if split < len(points):
            med[:, split:] = _quantile_in_place(windows[:, split:], q)
    return _held(med, points, max(1, stride), n, start)


def past_abs_median_and_quantile(
    a: FloatArray, window: int, stride: int, q: float
) -> tuple[FloatArray, FloatArray]:
    """``past_median(abs(a), window, stride)`` and ``past_median(a, window, stride, q=q)``, the
    same values, from one gathering of the windows (the noise scale takes both).

    The windows are copied a few rows at a time (:data:`GATHER_ELEMENTS`): 30 days of 32
    series' 3-day windows, one every 3 hours, are 50 MB, and selecting in a copy that stays in
    the cache is faster.
    """
    n = a.shape[1]
    view, points, split = _gathered_windows(a, window, stride, 0)
    upper = np.empty(view.shape[:2])
    middle = np.empty(view.shape[:2])
    rows = max(1, GATHER_ELEMENTS // max(1, len(points) * window))
    for r in range(0, view.shape[0], rows):
        windows = np.array(view[r : r + rows])
        upper[r : r + rows, :split] = nanquantile_last(windows[:, :split], q)
        clean = windows[:, split:]
        if split < len(points):
            upper[r : r + rows, split:] = _quantile_in_place(clean, q)  # reorders: no matter
        np.abs(windows, out=windows)
        middle[r : r + rows, :split] = nanmedian_last(windows[:, :split])
        if split < len(points):
            middle[r : r + rows, split:] = _median_in_place(clean)
    step = max(1, stride)
    return _held(middle, points, step, n, 0), _held(upper, points, step, n, 0)


def trailing_sum(a: FloatArray, window: int) -> FloatArray:
    """Sum of bins ``t - window + 1 .. t`` (partial at the start)."""
    c = np.cumsum(np.nan_to_num(a), axis=1)
    out = c.copy()
    out[:, window:] = c[:, window:] - c[:, :-window]
    return out


def trailing_min(a: FloatArray, window: int) -> FloatArray:
    """Minimum of bins ``t - window + 1 .. t``: the level held for the whole window (``-inf``
    where fewer than ``window`` bins are known)."""
    out = np.array(a, dtype=float)
    for k in range(1, max(1, window)):
        out[:, k:] = np.minimum(out[:, k:], a[:, :-k])
        out[:, :k] = -np.inf
    return out


def hold_last(a: FloatArray, where: np.ndarray, before: FloatArray) -> FloatArray:
    """``a`` with the bins in ``where`` replaced by the last value before them not in ``where``
    (``before[row]`` when there is none in the row): an estimate kept, not updated, across them.
    """
    n = a.shape[1]
    last = np.where(where, -1, np.arange(n))
    np.maximum.accumulate(last, axis=1, out=last)
    return np.take_along_axis(np.concatenate([before[:, None], a], axis=1), last + 1, axis=1)


def centred_mean(a: FloatArray, half_width: int) -> FloatArray:
    """Mean over ``t - h .. t + h`` (used only on lagged values, where ``t + h`` is still past)."""
    if half_width <= 0:
        return a
    width = 2 * half_width + 1
    pad = np.full((a.shape[0], half_width), np.nan)
    padded = np.concatenate([pad, a, pad], axis=1)
    view = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
    with np.errstate(invalid="ignore"):
        valid = np.sum(~np.isnan(view), axis=-1)
        total = np.nansum(view, axis=-1)
    return np.where(valid > 0, total / np.maximum(valid, 1), np.nan)


def episodes(mask: np.ndarray, cooldown: int) -> list[tuple[int, int]]:
    """Group firing bins into episodes ``(onset, last)``; a gap ≤ ``cooldown`` bins joins them.

    Causal: whether bin ``t`` is an onset depends only on the mask up to ``t``.
    """
    out: list[tuple[int, int]] = []
    for i in np.flatnonzero(mask):
        idx = int(i)
        if out and idx - out[-1][1] <= cooldown + 1:
            out[-1] = (out[-1][0], idx)
        else:
            out.append((idx, idx))
    return out
