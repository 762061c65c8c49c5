"""The default detector configuration (one place) and running several detectors as one.

``koubei spikes detect`` and the flows use :func:`default_config` when ``config/alerts.yaml``
lists no detectors. :func:`detect_all` merges the detectors' episodes per series so one crisis
seen by two detectors is one alert, at the earliest onset, with the highest severity.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from koubei.analysis.detectors.base import Detection, Detector, build_detectors
from koubei.analysis.detectors.series import CountSeries
from koubei.config import AlertsConfig, DetectorConfig

#: detectors run when the configuration names none: (name, type, options over the class'
#: ``defaults``). The slow negative_volume view (hourly sums, 8 h level) catches crises that
#: build over hours, which the per-bin view absorbs into its level. ``volume_velocity`` is not
#: here: on generated series it found no crisis the others missed and fired on every level
#: shift (see BENCHMARKS.md, "Spike detection").
DEFAULT_DETECTORS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("negative-volume", "negative_volume", {}),
    (
        "negative-volume-slow",
        "negative_volume",
        {"window": "1h", "recent_window": "8h", "z_threshold": 7.0, "z_sustained": 5.0},
    ),
    ("negative-share", "negative_share", {}),
)
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


def default_config() -> AlertsConfig:
    """An :class:`AlertsConfig` with the default detectors and no channels."""
    return AlertsConfig(
        detectors=[
            DetectorConfig(name=name, type=kind, options=dict(options))
            for name, kind, options in DEFAULT_DETECTORS
        ]
    )


def default_detectors() -> list[Detector]:
    return build_detectors(default_config())


def detect_all(detectors: Iterable[Detector], series: CountSeries) -> list[Detection]:
    """Run count detectors on ``series``; overlapping episodes become one detection.

    A detection joins the previous one when it starts within that one's episode plus the
    cooldown; the merged detection keeps the earliest onset, the highest score and severity, and
    lists the detectors that agreed in ``details['detectors']``.
    """
    detectors = [d for d in detectors if d.input_kind == "counts"]
    gap = max((d.cooldown_bins(series.interval_seconds) for d in detectors), default=0)
    found: list[Detection] = []
    for detector in detectors:
        found.extend(detector.detect(series))
    found.sort(key=lambda d: d.timestamp)
    step = timedelta(seconds=series.interval_seconds)
    merged: list[Detection] = []
    ends: list[datetime] = []
    for det in found:
        end = det.timestamp + step * (int(det.details.get("episode_bins", 1)) + gap)
        if merged and det.timestamp <= ends[-1]:
            head = merged[-1]
            names = [*head.details.get("detectors", [head.detector]), det.detector]
            best = det if det.score > head.score else head
            merged[-1] = dataclasses.replace(
                head,
                score=best.score,
                severity=max(head.severity, det.severity, key=SEVERITY_RANK.__getitem__),
                details={**head.details, "detectors": names},
            )
            ends[-1] = max(ends[-1], end)
        else:
            merged.append(
                dataclasses.replace(det, details={**det.details, "detectors": [det.detector]})
            )
            ends.append(end)
    return merged


def detect_many(
    detectors: Iterable[Detector], series: Iterable[CountSeries]
) -> dict[str, list[Detection]]:
    """:func:`detect_all` per series key: a brand, ``brand|platform``, ``brand|aspect:X`` ...

    Every key is present in the result (an empty list: nothing fired), so the alerts half can
    resolve incidents of keys that went quiet.
    """
    detectors = list(detectors)
    return {item.key: detect_all(detectors, item) for item in series}
