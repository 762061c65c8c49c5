"""Crisis score (0-100) and severity from what a detection and the spread analysis know.

The score adds points for, in order of weight: excess volume (observed over expected), the rise
of the negative share, an accelerating cascade, and high-reach or verified accounts involved.
The thresholds are in one place (:data:`SEVERITY_THRESHOLDS`, :data:`POINTS`) so on-call staff
can read why an alert is critical.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from koubei.analysis.detectors.base import Detection, Severity
from koubei.analysis.detectors.reasons import Reason

#: score ≥ value → severity (checked from the top)
SEVERITY_THRESHOLDS: tuple[tuple[float, Severity], ...] = ((60.0, "critical"), (30.0, "warning"))

POINTS = {
    "per_doubling": 15.0,  # excess volume: points per doubling of (observed+1)/(expected+1)
    "volume_max": 60.0,  # ×16 the expected volume is critical on its own
    # ... except from a view whose alert needs corroboration (``corroboration_needed`` in its
    # details: mention-jump, two 5-minute bins): its volume counts at most this (×6.3), so it is
    # critical only with 20 points of other evidence (a negative-share rise, an accelerating
    # cascade, a high-reach account), or inside an incident the hourly view opened before its
    # first bin (``defaults.detect_all``). On anomaly-series 43 of the 52 critical false
    # pages were such bins (one, then); 11 were left, and 10 of the 16 windows kept a critical
    # alert (BENCHMARKS.md, "What critical means").
    "volume_max_uncorroborated": 40.0,
    "per_share_point": 1.0,  # negative share: points per percentage point of rise
    "share_max": 25.0,
    "cascade_accelerating": 20.0,
    "high_reach": 20.0,  # an account with ≥ HIGH_REACH followers involved
    "medium_reach": 8.0,  # ≥ MEDIUM_REACH followers
    "verified": 10.0,
    "bridging": 5.0,
}
HIGH_REACH = 1_000_000
MEDIUM_REACH = 100_000


def crisis_score(detection: Detection, context: Mapping[str, Any] | None = None) -> float:
    """The crisis score 0-100 of ``detection`` given optional spread ``context``.

    ``context`` keys (all optional): ``cascade_accelerating`` (bool), ``max_followers`` (int),
    ``verified_involved`` (bool), ``bridging_involved`` (bool). A detection's own ``details``
    may carry the same keys (the cascade detector sets them), ``share_delta``, and
    ``corroboration_needed`` (its volume alone is never critical: ``POINTS``).
    """
    ctx = merge_context(detection.details, context)
    ratio = (max(detection.observed, 0.0) + 1.0) / (max(detection.expected, 0.0) + 1.0)
    most = POINTS["volume_max_uncorroborated" if ctx.get("corroboration_needed") else "volume_max"]
    volume = min(most, max(0.0, POINTS["per_doubling"] * math.log2(ratio)))
    share_delta = float(ctx.get("share_delta") or 0.0)
    share = min(POINTS["share_max"], max(0.0, 100.0 * share_delta * POINTS["per_share_point"]))
    spread = 0.0
    if ctx.get("cascade_accelerating"):
        spread += POINTS["cascade_accelerating"]
    followers = int(ctx.get("max_followers") or 0)
    if followers >= HIGH_REACH:
        spread += POINTS["high_reach"]
    elif followers >= MEDIUM_REACH:
        spread += POINTS["medium_reach"]
    if ctx.get("verified_involved"):
        spread += POINTS["verified"]
    if ctx.get("bridging_involved"):
        spread += POINTS["bridging"]
    return round(min(100.0, volume + share + spread), 1)


def merge_context(details: Mapping[str, Any], context: Mapping[str, Any] | None) -> dict[str, Any]:
    """``details`` updated with ``context``, never losing evidence the detection itself saw.

    The spread analysis' later summary may know less than the detector did (a cascade that
    accelerated at onset and slowed since): a flag true in either stays true and a reach keeps
    its maximum, so an alert's reason ("cascade accelerating") always agrees with its details.
    """
    out = dict(details)
    for key, value in (context or {}).items():
        mine = out.get(key)
        if isinstance(value, bool) and isinstance(mine, bool):
            out[key] = mine or value
        elif key == "max_followers" and mine is not None:
            out[key] = max(int(mine), int(value or 0))
        else:
            out[key] = value
    return out


def severity_for(score: float) -> Severity:
    for threshold, severity in SEVERITY_THRESHOLDS:
        if score >= threshold:
            return severity
    return "info"


def crisis_severity(detection: Detection, context: Mapping[str, Any] | None = None) -> Detection:
    """A copy of ``detection`` with ``score`` and ``severity`` recomputed with ``context``.

    The integrator calls this again with the spread analysis' context (cascade growth, reach,
    verified accounts) once it is known; the context is kept in ``details``.
    """
    score = crisis_score(detection, context)
    details = merge_context(detection.details, context)
    reason = detection.reason
    if isinstance(reason, Reason):  # a reach the context raised is the reach the reason states
        reason = reason.refreshed(details)
    return dataclasses.replace(
        detection, score=score, severity=severity_for(score), details=details, reason=reason
    )
