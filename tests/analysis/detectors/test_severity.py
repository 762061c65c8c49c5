"""The crisis score grows with excess volume, share change, cascade growth and reach."""

from __future__ import annotations

from koubei.analysis.detectors import Detection, crisis_score, crisis_severity
from tests.analysis.detectors.conftest import START


def detection(observed: float, expected: float, **details: object) -> Detection:
    return Detection(START, "info", 0.0, observed, expected, "nv", "鲜牧", "test", dict(details))


def test_score_rises_with_each_ingredient_and_maps_to_severity() -> None:
    small = detection(12, 5)
    big = detection(200, 5)
    assert crisis_score(small) < crisis_score(big)
    assert crisis_score(detection(200, 5, share_delta=0.3)) > crisis_score(big)
    assert crisis_severity(small).severity == "info"
    assert crisis_severity(detection(60, 10)).severity == "warning"
    spread = {"cascade_accelerating": True, "max_followers": 3_000_000, "verified_involved": True}
    escalated = crisis_severity(small, spread)
    assert escalated.severity == "critical"
    assert escalated.score > crisis_severity(small).score
    assert escalated.details["max_followers"] == 3_000_000
    assert small.severity == "info" and small.score == 0.0  # the input is not modified


def test_score_is_bounded_and_json_ready() -> None:
    extreme = crisis_severity(
        detection(1e6, 0, share_delta=1.0),
        {"cascade_accelerating": True, "max_followers": 10**9, "verified_involved": True},
    )
    assert extreme.score == 100.0
    record = extreme.to_dict()
    assert record["timestamp"] == START.isoformat()
    assert record["severity"] == "critical"
    assert isinstance(record["observed"], float)
