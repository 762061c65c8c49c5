"""The spread-aware trigger fires on the cascade's shape before brand volume shows it."""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from koubei.analysis.detectors import CountSeries, crisis_severity
from koubei.analysis.detectors.cascade import CascadeGrowth, cascade_series
from koubei.analysis.detectors.negative_volume import NegativeVolume
from tests.analysis.detectors.conftest import PER_DAY, START, poisson_series


def events(times: list[float], depth: int = 1, **extra: object) -> list[dict[str, object]]:
    return [{"time": START + timedelta(minutes=m), "depth": depth, **extra} for m in times]


def test_accelerating_cascade_fires_before_the_volume_detector() -> None:
    # a trickle of one repost per 10 minutes for 8 hours, then reposts double every 5 minutes
    trickle = events(list(np.arange(0, 480, 10.0)))
    take_off = 480.0
    burst = []
    for k in range(7):
        count = 2**k
        minutes = take_off + 5 * k + 5 * np.arange(count) / count
        burst += events(list(minutes), depth=1 + k // 2, followers=800)
    cascade = cascade_series(trickle + burst, START, START + timedelta(hours=12), key="鲜牧")
    found = CascadeGrowth().detect(cascade)
    assert len(found) == 1
    first = found[0]
    assert START + timedelta(minutes=take_off) <= first.timestamp
    assert first.timestamp <= START + timedelta(minutes=take_off + 20)
    assert "accelerating" in first.details["triggers"]
    assert first.details["cascade_accelerating"] is True

    # The brand's negative volume: the same reposts on top of 25 ordinary negatives per bin.
    base = poisson_series(np.full(PER_DAY // 2, 25.0), seed=22)
    negatives = np.asarray(base.negative)
    negatives[: len(cascade.reposts)] += np.asarray(cascade.reposts)
    volume = NegativeVolume().detect(CountSeries.from_values(START, negatives.tolist()))
    assert volume, "the volume detector sees it too, later"
    assert all(v.timestamp > first.timestamp for v in volume)


def test_reaching_a_verified_or_high_reach_account_fires_once_and_raises_severity() -> None:
    quiet = events([5, 20, 40, 70, 100, 130], followers=200)
    star = events([150], depth=2, followers=5_000_000, verified=True)
    cascade = cascade_series(quiet + star, START, START + timedelta(hours=4))
    found = CascadeGrowth().detect(cascade)
    assert len(found) == 1
    assert found[0].timestamp == START + timedelta(minutes=150)
    assert set(found[0].details["triggers"]) == {"high_reach", "verified"}
    assert found[0].details["verified_involved"] is True
    assert found[0].severity in {"warning", "critical"}
    assert crisis_severity(found[0]).score == found[0].score  # context kept in details
    assert (
        CascadeGrowth("c", {"verified_triggers": False}).detect(
            cascade_series(quiet + events([150], verified=True), START, START + timedelta(hours=4))
        )
        == []
    )
