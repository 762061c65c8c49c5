"""Score a detector on labelled series: recall, false alerts per 30 days, detection delay.

An *alert* is an episode onset (what on-call staff would receive). An incident counts as
detected when an alert starts inside ``[start, end)``; its delay is that alert's onset minus the
incident start. An alert is *false* when it starts outside every incident's
``[start, end + grace)``; false alerts are attributed to a nuisance (holiday, level shift) when
they start inside one (a level shift counts for its first day), otherwise to "noise".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from koubei.analysis.detectors.base import Detector
from koubei.analysis.detectors.causal import episodes
from koubei.analysis.detectors.synthetic import DAY, WARMUP_DAYS, LabelledSeries, matrix


@dataclass
class Evaluation:
    incidents: int = 0
    detected: int = 0
    false_alerts: int = 0
    monitored_days: float = 0.0
    delays_minutes: list[float] = field(default_factory=list)
    false_by_cause: Counter[str] = field(default_factory=Counter)
    detected_by_shape: Counter[str] = field(default_factory=Counter)
    incidents_by_shape: Counter[str] = field(default_factory=Counter)

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else 0.0

    @property
    def false_per_30d(self) -> float:
        return 30.0 * self.false_alerts / self.monitored_days if self.monitored_days else 0.0

    def delay(self, q: float) -> float:
        return float(np.percentile(self.delays_minutes, q)) if self.delays_minutes else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "recall": round(self.recall, 3),
            "false_per_30d": round(self.false_per_30d, 3),
            "delay_median_min": round(self.delay(50), 1),
            "delay_p90_min": round(self.delay(90), 1),
            "incidents": self.incidents,
            "detected": self.detected,
            "false_alerts": self.false_alerts,
            "false_by_cause": dict(self.false_by_cause),
            "recall_by_shape": {
                k: round(self.detected_by_shape[k] / v, 3)
                for k, v in sorted(self.incidents_by_shape.items())
            },
        }


def score_onsets(
    onsets: list[int],
    labelled: LabelledSeries,
    result: Evaluation,
    *,
    grace_bins: int = 12,
) -> None:
    """Add one series' alert onsets to ``result``."""
    interval = labelled.series.interval_seconds
    per_day = DAY // interval
    n = len(labelled.series)
    result.monitored_days += (n - WARMUP_DAYS * per_day) * interval / DAY
    for incident in labelled.incidents:
        result.incidents += 1
        result.incidents_by_shape[incident.shape] += 1
        hits = [o for o in onsets if incident.start <= o < incident.end]
        if hits:
            result.detected += 1
            result.detected_by_shape[incident.shape] += 1
            result.delays_minutes.append((hits[0] - incident.start) * interval / 60.0)
    for onset in onsets:
        if onset < WARMUP_DAYS * per_day:
            continue  # warm-up: no labels are placed there, so no verdict either
        if any(i.start <= onset < i.end + grace_bins for i in labelled.incidents):
            continue
        cause = "noise"
        for nuisance in labelled.nuisances:
            end = nuisance.start + per_day if nuisance.kind == "level_shift" else nuisance.end
            if nuisance.start <= onset < end:
                cause = nuisance.kind
        result.false_alerts += 1
        result.false_by_cause[cause] += 1


def evaluate(
    detectors: Detector | list[Detector],
    labelled: list[LabelledSeries],
    *,
    volume_only: bool = False,
) -> Evaluation:
    """Run the detectors (vectorised over all series) and score their alerts.

    Several detectors act as one: a bin fires when any of them fires, and episodes use the
    longest cooldown (as :func:`koubei.analysis.detectors.defaults.detect_all` merges alerts).
    ``volume_only`` hides the total, as when a plain mention count is all there is
    (``koubei spikes detect FILE.csv``): the detectors see negative counts only.
    """
    group = detectors if isinstance(detectors, list) else [detectors]
    total, negative = matrix(labelled)
    if volume_only:
        total = negative
    interval = labelled[0].series.interval_seconds
    fired = np.zeros(negative.shape, dtype=bool)
    for detector in group:
        fired |= detector.fire(total, negative, interval, labelled[0].series.start[0]).fired
    cooldown = max(d.cooldown_bins(interval) for d in group)
    result = Evaluation()
    for row, item in enumerate(labelled):
        onsets = [onset for onset, _ in episodes(fired[row], cooldown)]
        score_onsets(onsets, item, result)
    return result


# --- pages (issue 20): what on-call staff receive ------------------------------------------

PAGE_MERGE_SECONDS = 3600  # alerts less than an hour apart reach on-call staff as one page


@dataclass
class PageScore:
    """Incidents caught and false pages over labelled windows (generated or real series).

    Alerts less than :data:`PAGE_MERGE_SECONDS` apart are one *page*. An incident is caught when
    an alert falls inside its window; a page is false when none of its alerts falls inside (or
    within the grace after) any window. Delay: first alert in the window minus the window start.

    ``chance`` is how many incidents the same alerts would catch at random times: each series'
    alerts shifted together by a random offset (circularly), averaged over ``chance_shifts``
    offsets. NAB's windows are days wide and cover about a tenth of a series, so a detector that
    pages often catches many of them by luck; ``caught - chance`` is what its timing earned.
    """

    incidents: int = 0
    caught: int = 0
    false_pages: int = 0
    alerts: int = 0
    days: float = 0.0
    delays_minutes: list[float] = field(default_factory=list)
    chance: float = 0.0
    chance_shifts: int = 0  # 0: not estimated
    #: false pages by the kind of their first alert (``add``'s ``kinds``; empty without them)
    false_by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def false_per_30d(self) -> float:
        return 30.0 * self.false_pages / self.days if self.days else 0.0

    def add(
        self,
        alerts: list[int],
        windows: list[tuple[int, int]],
        n_bins: int,
        interval_seconds: int,
        *,
        grace_bins: int = 0,
        kinds: dict[int, str] | None = None,
    ) -> None:
        """One series: alert bins, incident windows ``[start, end)`` in bins, its length;
        ``kinds``: what each alert bin's alert is, to count false pages by (``false_by_kind``)."""
        self.days += n_bins * interval_seconds / DAY
        self.alerts += len(alerts)
        for start, end in windows:
            self.incidents += 1
            hits = [a for a in alerts if start <= a < end]
            if hits:
                self.caught += 1
                self.delays_minutes.append((hits[0] - start) * interval_seconds / 60.0)
        if self.chance_shifts and alerts and windows:
            self.chance += chance_catches(alerts, windows, n_bins, self.chance_shifts)
        merge = max(1, PAGE_MERGE_SECONDS // interval_seconds)
        page: list[int] = []
        for a in [*sorted(alerts), None]:
            if a is not None and page and a - page[-1] < merge:
                page.append(a)
                continue
            if page and not any(s <= p < e + grace_bins for p in page for s, e in windows):
                self.false_pages += 1
                if kinds is not None:
                    self.false_by_kind[kinds[page[0]]] += 1
            page = [] if a is None else [a]

    def summary(self) -> dict[str, Any]:
        delay = float(np.median(self.delays_minutes)) if self.delays_minutes else float("nan")
        return {
            "caught": self.caught,
            "incidents": self.incidents,
            "false_pages": self.false_pages,
            "false_per_30d": round(self.false_per_30d, 2),
            "delay_median_min": round(delay, 1),
            "alerts": self.alerts,
            "caught_by_chance": round(self.chance, 1) if self.chance_shifts else None,
        }


def chance_catches(
    alerts: list[int], windows: list[tuple[int, int]], n_bins: int, shifts: int
) -> float:
    """Mean incidents caught by ``alerts`` all shifted by one random offset (mod ``n_bins``).

    Keeps the alerts' number and spacing (a burst of pages stays a burst) and takes away their
    timing. Seeded by the series' shape, so a figure is the same on every run.
    """
    rng = np.random.default_rng([n_bins, len(alerts), len(windows)])
    starts = np.array([w[0] for w in windows])
    ends = np.array([w[1] for w in windows])
    base = np.asarray(alerts)
    hits = 0
    for offset in rng.integers(n_bins, size=shifts):
        moved = np.sort((base + offset) % n_bins)
        # a window is caught when some moved alert falls in [start, end)
        hits += int(np.sum(np.searchsorted(moved, ends) > np.searchsorted(moved, starts)))
    return hits / shifts
