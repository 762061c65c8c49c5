"""Operational signals: a blocked source is not a quiet brand.

When the crawler marks a source ``blocked`` (or ``empty``: the platform silently returned
nothing) in ``$KOUBEI_HOME/health/<source>.json`` (see ``crawlers/health.py``), its bins are
*unknown*, not zero. :func:`mark_unknown` makes a count series say so — the last known count is
carried over and the bins are ``filled``, so no detector fires on them, the baselines do not
learn from a block longer than the series' usual holes (an outage, :func:`.gaps.outage_bins`),
and the return to normal volume after the block is not mistaken for a spike. The count
detectors only ever conclude *rises*, never a volume drop; the alerts half keeps incidents open
while a source is blocked (``hold_open``). :func:`source_health_detections` turns a bad health
record into an operational :class:`~koubei.analysis.detectors.base.Detection` for the on-call
channel, and so does a source that has lost a page on every run for a day (its crawl state
stuck, ``state_kept_since``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from koubei.analysis.detectors.base import Detection
from koubei.analysis.detectors.reasons import Reason
from koubei.analysis.detectors.series_types import CountSeries
from koubei.timeutil import aware

BAD_STATUSES = {"blocked": "warning", "empty": "info"}
# A page lost now and then is retried by the next run, which re-reads from the kept state; one
# lost on every run for a day is a page that is not coming back, and what lies past it is never
# reached. A day, because an hour of 5-minute runs is still a site's hiccup and the alert is for
# the crawler's owners, not the brand's.
STATE_STUCK_AFTER = timedelta(days=1)


def mark_unknown(series: CountSeries, spans: Iterable[tuple[datetime, datetime]]) -> CountSeries:
    """A copy of ``series`` with the bins overlapping any ``[start, end)`` span unknown."""
    total, negative, filled = list(series.total), list(series.negative), list(series.filled)
    known_empty = list(series.known_empty)
    step = series.interval_seconds
    for start, end in spans:
        for i, bin_start in enumerate(series.start):
            bin_end = bin_start.timestamp() + step
            if bin_end > aware(start).timestamp() and bin_start < aware(end):
                filled[i], known_empty[i] = True, False  # unknown: not quiet time either
                total[i] = total[i - 1] if i else 0
                negative[i] = negative[i - 1] if i else 0
    return CountSeries(series.start, total, negative, step, series.key, filled, known_empty)


def source_health_detections(records: Iterable[Mapping[str, Any]]) -> list[Detection]:
    """One operational detection per source whose last crawl was blocked or empty, or whose
    crawl state has been stuck behind a lost page for ``STATE_STUCK_AFTER``."""
    out = []
    for record in records:
        severity = BAD_STATUSES.get(str(record.get("status")))
        if severity is not None:
            when = aware(datetime.fromisoformat(str(record["finished_at"])))
            status, params = str(record["status"]), {"status": record["status"]}
            out.append(_operational(record, when, severity, "source_unhealthy", status, params))
            continue
        since, finished = record.get("state_kept_since"), record.get("finished_at")
        if not since or not finished:
            continue
        when = aware(datetime.fromisoformat(str(finished)))
        first = aware(datetime.fromisoformat(str(since)))
        if when - first >= STATE_STUCK_AFTER:
            params = {"since": first.isoformat()}
            out.append(
                _operational(record, when, "warning", "source_state_stuck", "state_stuck", params)
            )
    return out


def _operational(
    record: Mapping[str, Any],
    when: datetime,
    severity: str,
    code: str,
    status: str,
    params: dict[str, Any],
) -> Detection:
    """The detection for one source's health record, in the crawler's own words."""
    source = str(record.get("source", "?"))
    return Detection(
        timestamp=when,
        severity=severity,  # type: ignore[arg-type]
        score=0.0,
        observed=float(record.get("items", 0)),
        expected=0.0,
        detector="source_health",
        series=f"source:{source}",
        reason=Reason(
            code,
            {
                "source": source,
                "platform": record.get("platform"),
                **params,
                "detail": record.get("reason") or "",  # the crawler's own words
            },
        ),
        details={"group": "operational", "source": source, "status": status},
    )


def read_health(directory: Path) -> list[dict[str, Any]]:
    """Every ``<source>.json`` health record in ``directory`` (``$KOUBEI_HOME/health``)."""
    if not directory.is_dir():
        return []
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.json"))]
