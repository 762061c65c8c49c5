"""Small hand-made series for known-answer detector tests."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from koubei.analysis.detectors import CountSeries
from koubei.timeutil import DEFAULT_TZ

START = datetime(2026, 3, 2, tzinfo=DEFAULT_TZ)  # a Monday
PER_DAY = 288  # 5-minute bins


def poisson_series(
    rates: np.ndarray, seed: int = 0, share: float | None = None, key: str = "鲜牧"
) -> CountSeries:
    """Counts drawn around ``rates``; with ``share`` the rates are totals and negatives a share."""
    rng = np.random.default_rng(seed)
    if share is None:
        return CountSeries.from_values(START, rng.poisson(rates).tolist(), key=key)
    negative = rng.poisson(rates * share)
    total = negative + rng.poisson(rates * (1 - share))
    return CountSeries.from_values(START, negative.tolist(), key=key, total=total.tolist())


def daily_profile(days: int, trough: float = 0.2) -> np.ndarray:
    """A smooth day shape (night trough, evening peak) with peak 1, for ``days`` days."""
    hours = (np.arange(days * PER_DAY) % PER_DAY) / 12.0
    from_peak = (hours - 20 + 12) % 24 - 12  # hours from the 20:00 peak, in [-12, 12)
    return trough + (1 - trough) * np.exp(-0.5 * (from_peak / 4) ** 2)


# A story of the evening (×5 from 20:00 for 3 h) that flares again the next morning (×8 from
# 08:00 for 3 h) over a busy brand's day (100 a bin at its peak): the bins each flare begins.
STORY_EVENING, STORY_MORNING = 10 * PER_DAY + 20 * 12, 11 * PER_DAY + 8 * 12


def evening_and_morning_story(seed: int) -> CountSeries:
    """Twelve days of counts with that story on the last two (the paging policy's quiet must
    span the night between its flares)."""
    rates = 100 * daily_profile(12)
    rates[STORY_EVENING : STORY_EVENING + 36] *= 5
    rates[STORY_MORNING : STORY_MORNING + 36] *= 8
    return poisson_series(rates, seed=seed)
