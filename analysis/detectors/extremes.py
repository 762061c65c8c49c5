"""What a series' own past days say a page must beat: its usual daily peak, and its return level.

* :func:`usual_peak` — the median of the daily maxima of the previous days: the count of a usual
  busiest hour. A rise that stays below it is smaller than an ordinary afternoon.
* :func:`return_level` — the series' own "once in so many days" bar (below).

Real mention series differ in how often their chatter bursts: a bar that is rare for one brand
pages another every day. Instead of one z for every series, the bar for day ``d`` is the level
the series' *daily maximum* score reached about once per ``period_days``, estimated from the
maxima of the previous ``history_days`` complete days with a Gumbel (extreme value type I) fit.
The fit uses the quartiles of those maxima, not their mean and spread, so a past incident or
two barely moves it. Causal: day ``d``'s bar uses days before ``d`` only.

Why a hand-written fit rather than ``scipy.stats.gumbel_r.fit``: that is a maximum-likelihood
fit per series and day (1,000 brands × 30 days of optimiser runs), and its mean-like estimate
is pulled up by the very incidents the bar must not learn; two quantiles per row vectorise.
"""

from __future__ import annotations

import numpy as np

# Gumbel quantile: q(p) = mu - beta * ln(-ln p); the quartiles give beta and mu.
_LQ25 = -np.log(-np.log(0.25))
_LQ75 = -np.log(-np.log(0.75))


def daily_maxima(score: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Maximum of ``score`` (series × bins) per day number in ``day`` (series × days)."""
    n_days = int(day[-1]) + 1 if len(day) else 0
    out = np.full((score.shape[0], n_days), np.nan)
    bounds = np.searchsorted(day, np.arange(n_days + 1))
    for d in range(n_days):
        a, b = int(bounds[d]), int(bounds[d + 1])
        if b > a:
            out[:, d] = score[:, a:b].max(axis=1)
    return out


def usual_peak(counts: np.ndarray, day: np.ndarray, history_days: int = 14) -> np.ndarray:
    """Per bin, the median daily maximum of ``counts`` over the previous ``history_days`` days.

    Day 0 (usually partial) is left out; NaN until one complete earlier day is known. Causal.
    """
    maxima = daily_maxima(counts, day)
    n_days = maxima.shape[1]
    by_day = np.full(maxima.shape, np.nan)
    for d in range(2, n_days):
        by_day[:, d] = np.median(maxima[:, max(1, d - history_days) : d], axis=1)
    return by_day[:, day] if n_days else np.full(counts.shape, np.nan)


def return_level(
    score: np.ndarray,
    day: np.ndarray,
    period_days: float,
    history_days: int = 28,
    min_days: int = 2,
) -> np.ndarray:
    """Per bin, the once-per-``period_days`` level of the daily maximum of ``score``.

    NaN where fewer than ``min_days`` complete earlier days are known (no bar yet).
    """
    maxima = daily_maxima(score, day)
    n_days = maxima.shape[1]
    bar_by_day = np.full(maxima.shape, np.nan)
    gumbel_p = -np.log(-np.log(1.0 - 1.0 / max(period_days, 1.0 + 1e-9)))
    for d in range(n_days):
        # day 0 is usually partial, and the warm-up keeps early days low: start at day 1
        past = maxima[:, max(1, d - history_days) : d]
        if past.shape[1] < min_days:
            continue
        q25, q75 = np.nanquantile(past, [0.25, 0.75], axis=1)
        beta = np.maximum((q75 - q25) / (_LQ75 - _LQ25), 1e-6)
        mu = q25 - beta * _LQ25
        bar_by_day[:, d] = mu + beta * gumbel_p
    return bar_by_day[:, day] if n_days else np.full(score.shape, np.nan)
