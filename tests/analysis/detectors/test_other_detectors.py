"""negative_share, volume_velocity and the window_ratio baseline rule on known answers."""

from __future__ import annotations

import numpy as np

from koubei.analysis.detectors import REGISTRY, CountSeries, default_detectors, detect_all
from koubei.analysis.detectors.negative_share import NegativeShare
from koubei.analysis.detectors.stl_mad import StlMad
from koubei.analysis.detectors.volume_velocity import VolumeVelocity
from koubei.analysis.detectors.window_ratio import WindowRatio
from tests.analysis.detectors.conftest import PER_DAY, START, daily_profile, poisson_series


def test_negative_share_fires_when_chatter_turns_sour_without_more_volume() -> None:
    rates = np.full(2 * PER_DAY, 50.0)
    series = poisson_series(rates, seed=11, share=0.1)
    assert NegativeShare().detect(series) == []
    rng = np.random.default_rng(11)
    onset = PER_DAY + 60
    negative = list(series.negative)
    for i in range(onset, onset + 24):  # same volume, share 10% → 40%
        negative[i] = int(rng.binomial(series.total[i], 0.4))
    sour = CountSeries.from_values(START, negative, total=series.total)
    found = NegativeShare().detect(sour)
    assert len(found) == 1
    assert sour.start[onset] <= found[0].timestamp <= sour.start[onset + 6]
    assert 0.1 < found[0].details["share_delta"] < 0.4


def test_volume_velocity_ignores_the_daily_ramp_but_sees_a_sudden_surge() -> None:
    rates = 80 * daily_profile(9, trough=0.05)  # a steep evening ramp every day
    series = poisson_series(rates, seed=12)
    assert VolumeVelocity().detect(series) == []
    surge = rates.copy()
    onset = 8 * PER_DAY + 40  # 03:20, at night
    surge[onset : onset + 12] += 60
    found = VolumeVelocity().detect(poisson_series(surge, seed=12))
    assert len(found) == 1
    assert series.start[onset] <= found[0].timestamp <= series.start[onset + 6]


def test_window_ratio_is_the_plain_comparison_rule() -> None:
    values = [10] * 36 + [40] * 12 + [10] * 12  # 5-minute bins, 1-hour windows
    series = CountSeries.from_values(START, values)
    rule = WindowRatio("wr", {"spike_height": 3.0})
    firing = rule.fire_series(series)
    first = int(np.flatnonzero(firing.fired[0])[0])
    # at bin 36 + k the current hour holds 40·(k+1) + 10·(11-k) ≥ 3 × 120 from k = 7 on
    assert first == 36 + 7
    assert len(rule.detect(series)) == 1
    # ... and it knows nothing of the time of day: a normal morning ramp fires it
    morning = poisson_series(40 * daily_profile(3, trough=0.02), seed=13)
    assert WindowRatio().detect(morning) != []


def test_stl_mad_waits_for_a_full_window_before_firing() -> None:
    """The library baseline's first STL fit had two days and one bin: its residuals were about
    zero, so on a calm series it fired on most bins of the third day (and the fourth and fifth,
    still fitted on too few days) until it had a week. It now first fits on its full 7 days."""
    rates = 50 * daily_profile(10)
    calm = poisson_series(rates, seed=21)
    firing = StlMad().fire_series(calm)
    assert not firing.fired[0, : 7 * PER_DAY].any()  # before: 130+ bins on day three alone
    # ... and it is alive after: a night-time surge on day nine is seen within the hour
    surge = rates.copy()
    onset = 8 * PER_DAY + 40  # 03:20
    surge[onset : onset + 12] += 60
    found = StlMad().detect(poisson_series(surge, seed=21))
    assert any(calm.start[onset] <= d.timestamp <= calm.start[onset + 12] for d in found)


def test_stl_mad_never_fires_on_a_constant_series_however_large() -> None:
    """A constant series leaves no residual spread, so the scale is its floor; the floor was
    1e-9 whatever the values, below the fit's float rounding at 1e12 (a forecast 0.02 off):
    the library baseline fired on a flat line of 1e12 mentions every day (3 times in 10 days,
    and once on a smooth daily profile of 1e9). The floor now grows with the values."""
    for level in (7, 10**12):
        flat = CountSeries.from_values(START, [level] * (10 * PER_DAY))
        assert StlMad().detect(flat) == [], level
    smooth = np.rint(1e9 * daily_profile(10)).tolist()
    assert StlMad().detect(CountSeries.from_values(START, smooth)) == []


def test_a_series_without_bins_fires_nowhere() -> None:
    """A span shorter than one bin gives a series of no bins: every count detector raised
    numpy's "window shape cannot be larger than input array shape" from the baseline's
    smoothing, and ``detect_all`` with it."""
    empty = CountSeries([], [], [], 300, key="鲜牧")
    assert detect_all(default_detectors(), empty) == []
    counting = [cls for cls in REGISTRY.values() if cls.input_kind == "counts"]
    assert len(counting) >= 5
    for cls in counting:
        assert cls().detect(empty) == [], cls.type_name
