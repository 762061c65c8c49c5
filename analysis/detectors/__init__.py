"""Spike detection over mention count series (issue 7, detection half).

Public interface::

    from koubei.analysis.detectors import CountSeries, build_detectors, crisis_severity
    detectors = build_detectors(koubei.config.load_alerts())
    series = CountSeries.from_bins(volume_series(...), interval_seconds, key=series_key(brand))
    for detection in detect_all(detectors, series):    # one per episode, at onset, merged
        detection = crisis_severity(detection, spread_context)   # cascade / reach context
        send(detection.to_dict())

``detect_many`` runs the same over many keys (brand × platform, brand × aspect);
``cascade.CascadeGrowth`` is the spread-aware trigger over a ``CascadeSeries``;
``operational.mark_unknown`` / ``source_health_detections`` handle blocked sources.

Detectors are registered by ``type`` (see ``config/alerts.yaml``): ``negative_volume``,
``negative_share``, ``volume_velocity``, ``cascade_growth`` and the ``window_ratio`` baseline
rule. Every decision is causal (bin ``t`` uses bins ``≤ t`` only).
"""

from __future__ import annotations

from koubei.analysis.detectors import (  # noqa: F401  (registers the detector classes)
    cascade,
    negative_share,
    negative_volume,
    stl_mad,
    volume_velocity,
    window_ratio,
)
from koubei.analysis.detectors.base import (
    REGISTRY,
    Detection,
    Detector,
    Firing,
    build_detectors,
    configured_detectors,
    register,
)
from koubei.analysis.detectors.defaults import (
    default_config,
    default_detectors,
    detect_all,
    detect_many,
)
from koubei.analysis.detectors.series import read_csv
from koubei.analysis.detectors.series_types import CascadeSeries, CountSeries, series_key
from koubei.analysis.detectors.severity import crisis_score, crisis_severity

__all__ = [
    "REGISTRY",
    "CascadeSeries",
    "CountSeries",
    "Detection",
    "Detector",
    "Firing",
    "build_detectors",
    "configured_detectors",
    "crisis_score",
    "crisis_severity",
    "default_config",
    "default_detectors",
    "detect_all",
    "detect_many",
    "read_csv",
    "register",
    "series_key",
]
