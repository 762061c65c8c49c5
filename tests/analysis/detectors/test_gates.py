"""Detector.gates reports the figures fire decides on: a bin fires exactly when its gates say
so (every gate of no path passes, and every gate of one path does), for every detector that
itemises them, on a plain volume series and one with its tone."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from koubei.analysis.detectors import REGISTRY, CountSeries, default_detectors


def _series(tone: bool) -> CountSeries:
    rng = np.random.default_rng(5)
    hours = np.arange(6 * 288) / 12.0
    level = 4 + 3 * np.sin(2 * np.pi * hours / 24)
    total = rng.poisson(level * 3)
    total[5 * 288 + 100 : 5 * 288 + 130] += rng.poisson(40, 30)  # a burst on the sixth day
    total[4 * 288 + 50 : 4 * 288 + 53] += 60  # a short jump on the fifth
    negative = rng.binomial(total, 0.2)
    negative[5 * 288 + 100 : 5 * 288 + 130] += rng.poisson(30, 30)
    start = datetime(2026, 3, 2)
    if not tone:
        return CountSeries.from_values(start, total.tolist())
    return CountSeries.from_values(start, negative.tolist(), total=total.tolist())


def _fired_by_gates(gates: list) -> np.ndarray:
    always = np.logical_and.reduce([g.passed for g in gates if not g.path])
    paths = {g.path for g in gates if g.path}
    if not paths:
        return always
    one = np.logical_or.reduce(
        [np.logical_and.reduce([g.passed for g in gates if g.path == p]) for p in paths]
    )
    return always & one


def test_gates_agree_with_fire_at_every_bin() -> None:
    detectors = [*default_detectors(), REGISTRY["window_ratio"](), REGISTRY["stl_mad"]()]
    detectors.append(REGISTRY["volume_velocity"]())
    detectors.append(REGISTRY["negative_volume"]("own-bar", {"return_days": 30.0}))
    checked = 0
    for tone in (False, True):
        series = _series(tone)
        for detector in detectors:
            gates = detector.gates(series)
            assert gates, detector.name
            fired = detector.fire_series(series).fired[0]
            assert np.array_equal(_fired_by_gates(gates), fired), (detector.name, tone)
            checked += int(fired.sum())
    assert checked > 0  # some bins fired: the agreement is not all False
