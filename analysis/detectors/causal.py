"""The causal array helpers every detector is built from (2-D arrays: series × bins).

Every helper here is *causal*: the value produced for bin ``t`` depends only on bins ``< t``
(``past_*``) or ``≤ t`` (transforms and trailing sums), never on later bins.
"""

from __future__ import annotations

import numpy as np

FloatArray = np.ndarray


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


def past_median(a: FloatArray, window: int, stride: int = 1, q: float = 0.5) -> FloatArray:
    """Median (or quantile ``q``) of the ``window`` bins before each bin, NaN-aware.

    With ``stride > 1`` the median is computed at every ``stride``-th bin and held for the next
    ``stride - 1`` bins: still causal (the window ends before the first bin that uses it) and
    ``stride`` times cheaper, for slowly changing quantities such as a noise scale.
    """
    n = a.shape[1]
    points = np.arange(0, n, max(1, stride))
    windows = past_windows(a, window)
    if stride > 1:
        windows = windows[:, points, :]
    # Windows that hold no NaN (all but the first ones, usually) take the fast partition-based
    # median; the rest the NaN-aware sort.
    nan_cols = np.flatnonzero(np.isnan(a).any(axis=0))
    clean_from = int(nan_cols[-1]) + 1 + window if len(nan_cols) else window
    split = int(np.searchsorted(points, clean_from))
    med = np.empty(windows.shape[:2])
    if q == 0.5:
        med[:, :split] = nanmedian_last(windows[:, :split])
        if split < len(points):
            med[:, split:] = np.median(windows[:, split:], axis=-1)
    else:
        med[:, :split] = nanquantile_last(windows[:, :split], q)
        if split < len(points):
            med[:, split:] = np.quantile(windows[:, split:], q, axis=-1)
    return np.repeat(med, max(1, stride), axis=1)[:, :n] if stride > 1 else med


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


def seasonal_lags(a: FloatArray, period: int, count: int) -> FloatArray:
    """Stack ``a`` at ``t - k·period`` for ``k = 1..count`` on a new last axis."""
    return np.stack([lag(a, k * period) for k in range(1, count + 1)], axis=-1)


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
