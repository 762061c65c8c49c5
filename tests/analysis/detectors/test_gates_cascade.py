"""``cascade_growth`` itemises its gates (:meth:`CascadeGrowth.gates`) as the count detectors
do: a bin fires exactly when its gates say so (every gate of one of its four paths passes),
so ``spikes backtest --brand NAME --at TIME`` explains it. Before, it had no gates and
``--at`` left it out."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from koubei.analysis.detectors import REGISTRY
from koubei.analysis.detectors.cascade import cascade_series
from koubei.timeutil import DEFAULT_TZ
from tests.analysis.detectors.test_gates import _fired_by_gates

START = datetime(2026, 3, 2, 9, 0, tzinfo=DEFAULT_TZ)


def _events() -> list[dict]:
    """Three hours of a cascade: a trickle of reposts, a burst (acceleration), a chain that
    deepens, a 2-million-follower account and a verified one joining."""
    rng = np.random.default_rng(9)
    events = []
    for minute in range(0, 180, 7):  # the trickle
        events.append({"time": START + timedelta(minutes=minute), "depth": 1})
    for k in range(int(rng.poisson(40))):  # the burst at 10:00
        events.append({"time": START + timedelta(minutes=60, seconds=20 * k), "depth": 1})
    for level in range(2, 6):  # the chain at 11:00, one level a minute
        events += [
            {"time": START + timedelta(minutes=120 + level, seconds=k), "depth": level}
            for k in range(6)
        ]
    events.append({"time": START + timedelta(minutes=95), "depth": 1, "followers": 2_000_000})
    events.append({"time": START + timedelta(minutes=150), "depth": 2, "verified": True})
    return events


@pytest.mark.parametrize("verified_triggers", [True, False])
def test_cascade_gates_agree_with_fire_at_every_bin(verified_triggers: bool) -> None:
    series = cascade_series(_events(), START, START + timedelta(hours=3), 300, key="鲜牧")
    detector = REGISTRY["cascade_growth"](
        "cascade-growth", {"verified_triggers": verified_triggers}
    )
    firing, why = detector.fire_cascade(series)
    gates = detector.gates(series)
    assert {g.path for g in gates} == {"accelerating", "deepening", "high_reach", "verified"}
    assert np.array_equal(_fired_by_gates(gates), firing.fired[0])
    # each path fires somewhere (the verified one only when verified_triggers is on), and a
    # path's gates pass exactly where it did
    for path, fired in why.items():
        assert fired.any() == (path != "verified" or verified_triggers), path
        passed = np.logical_and.reduce([g.passed for g in gates if g.path == path])
        assert np.array_equal(passed, fired), path
    # the options named are the detector's
    assert {g.option for g in gates} <= set(detector.options)
