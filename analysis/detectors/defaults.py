"""The default detector configuration (one place) and running several detectors as one.

``koubei spikes detect`` and the flows use :func:`default_config` when ``config/alerts.yaml``
lists no detectors. :func:`detect_all` merges the detectors' episodes per series so one crisis
seen by two detectors is one alert, at the earliest onset, with the severity known there (a
stronger detection later in the episode is an escalation at its own time).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from koubei.analysis.detectors.base import Detection, Detector, build_detectors
from koubei.analysis.detectors.paging import PagingPolicy, last_firing
from koubei.analysis.detectors.series_types import CountSeries
from koubei.analysis.detectors.severity import crisis_severity
from koubei.config import AlertsConfig, DetectorConfig

#: detectors run when the configuration names none: (name, type, options over the class'
#: ``defaults``). Issue 20: real mention series are far noisier than the first generator, and
#: the per-bin view (z ≥ 5) paged ~20 times a month per series on them. Two views page instead:
#: ``mention-surge``, hourly sums against the same-time-of-day baseline with a 12 h level and a
#: 3-day noise scale, held for 15 min (z ≥ 5.25 for 15 min, or z ≥ 8 at once, or ≥ ×5 the
#: expected count for an hour at z ≥ 3.5: a relative rise the wide scale of a bursty brand
#: hides); and
#: ``mention-jump``, 5-minute bins so far out (z ≥ 8 in two) that they cannot wait. Both
#: wait for three days of history, as long as the noise scale looks back: on the real series
#: that removed 16 of 177 false pages for one incident, and lost no generated crisis
#: (BENCHMARKS.md, "Spike detection"). And both must reach the series' usual daily peak (0.8×
#: the median busiest hour of the last 14 days for the surge, 1× that 5-minute bin for the
#: jump): a relative rise in the small hours that stays below an ordinary afternoon paged
#: nobody usefully (nyc_taxi: 11 false pages to 2) and waits until it is that big. The
#: series' own bar (``return_days``) stays off: see there. A jump alone pages a warning; it is
#: critical only with other evidence (``critical_alone``): on the real series most critical
#: false pages were single bins. And a jump must hold for two 5-minute bins (z ≥ 8 in both,
#: where it was z ≥ 12 in one): a one-bin glitch never pages, a crisis is paged five minutes
#: later. On anomaly-series 123 false pages fell to 111 for one incident (a chance catch:
#: 22.8 beyond chance before, 22.9 after); on the generated seeds two false pages fewer, and
#: one more held-out crisis caught (BENCHMARKS.md, "Spike detection", session 24).
DEFAULT_DETECTORS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "mention-surge",
        "negative_volume",
        {
            "window": "1h",
            "recent_window": "12h",
            "scale_window": "3d",
            "z_threshold": 8.0,
            "z_sustained": 5.25,
            "hold": "15m",
            "rise_ratio": 5.0,
            "peak_ratio": 0.8,
            "warmup": "3d",
        },
    ),
    (
        "mention-jump",
        "negative_volume",
        {
            "scale_window": "3d",
            "z_threshold": 1000.0,  # out of reach: one bin alone never pages ...
            "z_sustained": 8.0,  # ... two bins held at z 8 do (hourly data: one bin)
            "hold": "10m",
            "peak_ratio": 1.0,
            "warmup": "3d",
            "critical_alone": False,
        },
    ),
    ("negative-share", "negative_share", {}),
)
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
DEFAULT_POLICY = PagingPolicy()


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


def detect_all(
    detectors: Iterable[Detector], series: CountSeries, policy: PagingPolicy | None = None
) -> list[Detection]:
    """Run count detectors on ``series`` and return the pages ``policy`` would send.

    A detection joins the previous one when it starts within that one's episode plus the
    cooldown, and the merged detection lists the detectors that agreed in
    ``details['detectors']``. It keeps the earliest onset and what was known there (of
    detections at that same bin, the one with the highest score); a later detection of a
    higher severity stays apart, for the policy to send as an escalation at its own time
    (causal: the alert at the onset never takes a severity seen only later). The merged
    episodes then go through the paging policy (:mod:`koubei.analysis.detectors.paging`;
    default :data:`DEFAULT_POLICY`): one page per incident, escalation only when severity
    rises.
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
    backed: list[bool] = []  # per merged episode: a view that can be critical alone fired in it
    for det in found:
        end = det.timestamp + step * (int(det.details.get("episode_bins", 1)) + gap)
        head = merged[-1] if merged and det.timestamp <= ends[-1] else None
        evidence_from = det.timestamp - step * (int(det.details.get("held_bins", 1)) - 1)
        opened_before = head is not None and head.timestamp < evidence_from
        if opened_before and det.details.get("corroboration_needed") and backed[-1]:
            # A jump inside an episode another view (the hourly surge) opened before it: that
            # view corroborates it, so its volume counts in full (severity.POINTS). Not one
            # that opened within the jump's own bins: an hourly sum they carry says no more.
            details = {k: v for k, v in det.details.items() if k != "corroboration_needed"}
            det = crisis_severity(dataclasses.replace(det, details=details))
        alone = not det.details.get("corroboration_needed")
        later_and_stronger = head is not None and (
            det.timestamp > head.timestamp
            and SEVERITY_RANK[det.severity] > SEVERITY_RANK[head.severity]
        )
        if head is None or later_and_stronger:
            # A new episode; or stronger evidence that came after the onset: the onset's alert
            # keeps what was known then, and the policy escalates at this detection's own time.
            merged.append(
                dataclasses.replace(det, details={**det.details, "detectors": [det.detector]})
            )
            ends.append(end if head is None else max(ends[-1], end))
            backed.append(alone if head is None else backed[-1] or alone)
            continue
        names = [*head.details.get("detectors", [head.detector]), det.detector]
        # At one onset the stronger detection leads with its own figures (reason, observed,
        # score agree); a later one only adds its name, and how long the episode fired.
        lead = det if det.timestamp == head.timestamp and det.score > head.score else head
        last = max(last_firing(head, step), last_firing(det, step)).isoformat()
        details = {**lead.details, "detectors": names, "last_at": last}
        merged[-1] = dataclasses.replace(lead, details=details)
        ends[-1] = max(ends[-1], end)
        backed[-1] = backed[-1] or alone
    settled, outages = series.settled_until, series.outages
    return (policy or DEFAULT_POLICY).pages(merged, series.interval_seconds, settled, outages)


def detect_many(
    detectors: Iterable[Detector], series: Iterable[CountSeries]
) -> dict[str, list[Detection]]:
    """:func:`detect_all` per series key: a brand, ``brand|platform``, ``brand|aspect:X`` ...

    Every key is present in the result (an empty list: nothing fired), so the alerts half can
    resolve incidents of keys that went quiet.
    """
    detectors = list(detectors)
    return {item.key: detect_all(detectors, item) for item in series}
