"""What a series' own past days say a page must beat: its usual daily peak (``peak_ratio``, on by
default) and its own bar (``return_days``, a return level fitted on its past daily peaks)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from koubei.analysis.detectors import CountSeries, build_detectors, default_config, detect_all
from koubei.analysis.detectors.extremes import return_level, usual_peak
from koubei.analysis.detectors.negative_volume import NegativeVolume
from tests.analysis.detectors.conftest import PER_DAY, START, daily_profile, poisson_series

#: the shipped single-bin view (`mention-jump`), with and without the series' own bar
JUMP = {"scale_window": "3d", "z_threshold": 12.0, "z_sustained": 12.0, "warmup": "1d"}


def test_the_gumbel_fit_recovers_a_known_return_level() -> None:
    """Daily peaks drawn from a Gumbel law: the fitted once-per-30-days level is the law's."""
    rng = np.random.default_rng(3)
    days, mu, beta = 400, 4.0, 1.5
    score = np.zeros((1, days * PER_DAY))
    peaks = rng.gumbel(mu, beta, days)
    score[0, np.arange(days) * PER_DAY + rng.integers(0, PER_DAY, days)] = peaks
    day = np.arange(days * PER_DAY) // PER_DAY
    bar = return_level(score, day, period_days=30, history_days=300)
    true = mu - beta * np.log(-np.log(1 - 1 / 30))  # 9.08
    assert np.isnan(bar[0, : 3 * PER_DAY]).all()  # day 0 is skipped, then two days are needed
    assert abs(bar[0, -1] - true) < 0.6


def test_the_bar_of_a_day_uses_earlier_days_only() -> None:
    rng = np.random.default_rng(4)
    score = rng.normal(size=(2, 20 * PER_DAY))
    day = np.arange(score.shape[1]) // PER_DAY
    full = return_level(score, day, 30)
    for cut in (3 * PER_DAY + 5, 9 * PER_DAY, 15 * PER_DAY + 200):
        head = return_level(score[:, :cut], day[:cut], 30)
        assert np.array_equal(np.isnan(head), np.isnan(full[:, :cut]))
        assert np.allclose(np.nan_to_num(head), np.nan_to_num(full[:, :cut]))


def _daily_bursts(days: int, seed: int) -> np.ndarray:
    """20 mentions a bin, and every day one bin of a retweet storm (+300) at a random time."""
    rng = np.random.default_rng(seed)
    rates = np.full(days * PER_DAY, 20.0)
    storms = [d * PER_DAY + int(rng.integers(0, PER_DAY)) for d in range(days)]
    rates[storms] += 300
    return rates


def test_a_brand_whose_chatter_bursts_daily_stops_paging_daily() -> None:
    rates = _daily_bursts(21, seed=5)
    series = poisson_series(rates, seed=5)
    plain = detect_all([NegativeVolume("mention-jump", JUMP)], series)
    own = detect_all([NegativeVolume("mention-jump", {**JUMP, "return_days": 30})], series)
    assert len(plain) >= 15  # nearly every day from the second on (two storms < 6 h apart: one)
    # the bar needs two complete days after the first, and is rough while it has few: only the
    # first week may still page
    assert len(own) <= 3
    assert all(p.timestamp < series.start[7 * PER_DAY] for p in own)


def test_a_crisis_beyond_the_daily_bursts_still_pages_with_the_own_bar() -> None:
    rates = _daily_bursts(21, seed=6)
    onset = 18 * PER_DAY + 150
    rates[onset : onset + 12] += 900  # an hour at ~45× the usual level
    series = poisson_series(rates, seed=6)
    own = detect_all([NegativeVolume("mention-jump", {**JUMP, "return_days": 30})], series)
    late = [p for p in own if p.timestamp >= series.start[4 * PER_DAY]]
    assert [p.timestamp for p in late] == [series.start[onset]]


def test_a_quiet_brand_pages_the_same_with_or_without_the_own_bar() -> None:
    rates = np.full(14 * PER_DAY, 20.0)
    onset = 10 * PER_DAY + 40
    rates[onset : onset + 6] += 400
    series = poisson_series(rates, seed=7)
    plain = detect_all([NegativeVolume("mention-jump", JUMP)], series)
    own = detect_all([NegativeVolume("mention-jump", {**JUMP, "return_days": 30})], series)
    assert [p.timestamp for p in plain] == [p.timestamp for p in own] == [series.start[onset]]


def test_appending_future_bins_never_changes_decisions_with_the_own_bar() -> None:
    rates = _daily_bursts(12, seed=8)
    rates[9 * PER_DAY : 9 * PER_DAY + 30] += 500
    series = poisson_series(rates, seed=8)
    detector = NegativeVolume("mention-jump", {**JUMP, "return_days": 30})
    full = detector.fire_series(series)
    assert full.fired.any()
    for cut in (2 * PER_DAY + 3, 5 * PER_DAY, 9 * PER_DAY + 10, 11 * PER_DAY + 200):
        head = detector.fire_series(series.head(cut))
        assert np.array_equal(head.fired, full.fired[:, :cut]), cut


def test_hourly_series_get_their_bar_per_day_too() -> None:
    """Hourly data (24 bins a day): days are calendar days, not 288-bin blocks."""
    rng = np.random.default_rng(9)
    values = rng.poisson(200, 24 * 30).astype(float)
    values[np.arange(30) * 24 + rng.integers(0, 24, 30)] *= 6  # a daily hour of 6× chatter
    series = CountSeries.from_values(START, values.tolist(), interval_seconds=3600)
    surge = {"window": "1h", "z_threshold": 8.0, "z_sustained": 5.25, "warmup": "1d"}
    plain = detect_all([NegativeVolume("s", surge)], series)
    own = detect_all([NegativeVolume("s", {**surge, "return_days": 30})], series)
    assert len(plain) >= 20
    assert len(own) <= 4


def test_the_usual_peak_is_the_median_busiest_bin_of_earlier_days() -> None:
    rng = np.random.default_rng(10)
    counts = rng.poisson(100 * daily_profile(10), (1, 10 * PER_DAY)).astype(float)
    counts[0, 6 * PER_DAY + 50] = 5000  # one day's freak peak: the median ignores it
    day = np.arange(counts.shape[1]) // PER_DAY
    peak = usual_peak(counts, day)
    assert np.isnan(peak[0, : 2 * PER_DAY]).all()  # day 0 is partial in general: from day 2 on
    assert 100 <= peak[0, -1] <= 140
    for cut in (2 * PER_DAY + 1, 6 * PER_DAY + 51, 9 * PER_DAY):
        head = usual_peak(counts[:, :cut], day[:cut])
        assert np.allclose(np.nan_to_num(head), np.nan_to_num(peak[:, :cut]))


def _night_burst(factor: float, seed: int) -> CountSeries:
    """Six days peaking at 100 mentions a bin at 20:00 (37 at 03:00), and an hour of
    ``factor`` × that level from 03:00 on the fifth day."""
    rates = 100 * daily_profile(6)
    onset = 4 * PER_DAY + 3 * 12
    rates[onset : onset + 12] *= factor
    return poisson_series(rates, seed=seed)


def test_a_night_burst_below_an_ordinary_evening_does_not_page_one_above_it_does() -> None:
    without = default_config()
    for detector in without.detectors:
        detector.options.pop("peak_ratio", None)
    small, large = _night_burst(1.8, seed=11), _night_burst(5.0, seed=11)
    onset = small.start[4 * PER_DAY + 3 * 12]
    # ×1.8 the night level (≈ 67 a bin) stays below 0.8 × the usual evening (≈ 100): no page;
    # without the usual-peak floor the same burst pages
    assert detect_all(build_detectors(default_config()), small) == []
    assert [p.timestamp >= onset for p in detect_all(build_detectors(without), small)] == [True]
    # ×5 (≈ 185 a bin) is above any ordinary evening: one page, within the hour
    pages = detect_all(build_detectors(default_config()), large)
    assert len(pages) == 1
    assert onset <= pages[0].timestamp <= onset + timedelta(hours=1)
