"""The paging policy: what on-call staff receive from the detectors' episodes (issue 20).

A detector says "this bin looks abnormal"; the policy decides whether a person is woken:

* **One page per incident.** An incident opens at the first firing bin of any detector and stays
  open until no detector has fired for ``quiet`` (default 12 h); firings while it is open are the
  same incident, however long it lasts. 12 h spans a night: a story that flares again the next
  morning is the incident of the evening before (at 6 h, to session 29, the night's lull closed
  it and the morning paged again). A bin still settling (see ``unsettled``) never counts as
  quiet: data still arriving is not an all-clear. Nor does an outage of the data
  (:func:`.gaps.outage_runs`, the reading the seasonal baseline skips too): a run of bins no row
  reported (``unseen``; not the empty bins an export leaves out) longer than any the series had
  in the day before the run began; the time it lasts does not count towards ``quiet``. Shorter
  runs are how that series is sampled (a traffic sensor reporting one bin in four) and count as
  quiet, as the reported bins do: a sparse series' incidents still close, while a crisis whose
  export stops for 8 h pages once. (Counting no unseen bin as quiet, tried first, merged the
  incidents of ``TravelTime_387``, three quarters of whose 10-minute bins have no row:
  anomaly-series 35 → 33 / 77 caught; this rule keeps them.)
  An outage excuses at most ``outage_cap`` of quiet (default a day): after a longer one the
  rest counts as quiet, so a crisis that fires after a three-day outage of the export is a new
  incident with its own page. Uncapped (before session 28), it joined the incident open before
  the outage and paged nobody.
* **Escalation only when the evidence grows.** Inside an open incident a second alert is sent
  only when a later detection reaches a higher severity than the one paged (warning →
  critical), at most once per incident: a later episode, or the bin where a still-firing
  volume episode first reaches critical (``negative_volume``'s ``escalate_on_growth``).
* **Severities that mean something.** Every page is at least ``warning`` (a page is a page);
  ``critical`` is kept for strong evidence: the crisis score of
  :mod:`koubei.analysis.detectors.severity` ≥ 60 (×16 the expected volume alone, or a large
  rise together with a negative-share rise, an accelerating cascade or high-reach accounts).
  A jump of a few 5-minute bins (``mention-jump``, two held at z 8, ``critical_alone: false``)
  is not strong evidence alone: it pages a warning, and the incident escalates when the hourly
  view or other evidence says critical.

Causal: whether a page is sent at bin ``t`` depends on the episodes, and on which bins were
reported, up to ``t`` only.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from koubei.analysis.detectors.base import Detection, Severity
from koubei.config import AlertsConfig, parse_duration

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class PagingPolicy:
    quiet_seconds: int = 12 * 3600  # an incident closes after this long without any firing
    escalate: bool = True  # one more alert when an open incident's severity rises
    page_severity: Severity = "warning"  # the lowest severity of a page
    # the most outage time that does not count as quiet (``paging.outage_cap``)
    outage_cap_seconds: int = 24 * 3600

    def pages(
        self,
        detections: Iterable[Detection],
        interval_seconds: int,
        settled_until: datetime | None = None,
        outages: Sequence[tuple[datetime, datetime]] = (),
    ) -> list[Detection]:
        """The alerts to send, in time order, from detector episodes (any order).

        ``settled_until`` is the start of the first bin whose data may still be arriving; quiet
        time after it does not close an incident (``None``: every bin is settled). ``outages``
        are the ``[start, end)`` of the outages of the data (:attr:`CountSeries.outages`, the
        one rule of :func:`.gaps.outage_runs`): quiet time does not count them either, up to
        ``outage_cap_seconds`` in all between two firings.
        """
        step = timedelta(seconds=interval_seconds)
        quiet = timedelta(seconds=self.quiet_seconds)
        cap = timedelta(seconds=self.outage_cap_seconds)
        runs = sorted((start.astimezone(UTC), end.astimezone(UTC)) for start, end in outages)
        out: list[Detection] = []
        head: Detection | None = None  # the page of the open incident
        last_fired: datetime | None = None
        escalated = False
        for det in sorted(detections, key=lambda d: d.timestamp):
            end = last_firing(det, step) + step
            still_open = head is not None and last_fired is not None
            if still_open and last_fired is not None:
                silent_until = det.timestamp
                if settled_until is not None:
                    silent_until = min(silent_until, settled_until)
                lost = min(outage_time(runs, last_fired, silent_until), cap)
                still_open = silent_until - last_fired - lost < quiet
            if still_open and head is not None and last_fired is not None:
                last_fired = max(last_fired, end)
                # the incident's last firing bin, for the store: a later burst that pages
                # nobody still keeps (or makes) the incident active
                head.details["last_at"] = (last_fired - step).isoformat()
                names = [*head.details["detectors"], *det.details.get("detectors", [det.detector])]
                head.details["detectors"] = list(dict.fromkeys(names))
                rises = SEVERITY_RANK[det.severity] > SEVERITY_RANK[head.severity]
                if self.escalate and rises and not escalated:
                    escalated = True
                    out.append(
                        dataclasses.replace(
                            det,
                            details={
                                **det.details,
                                "escalates": head.timestamp.isoformat(),
                                "detectors": [det.detector],
                            },
                        )
                    )
                continue
            severity = det.severity
            agreed = det.details.get("detectors", [det.detector])
            details = {**det.details, "detectors": list(agreed)}
            if SEVERITY_RANK[severity] < SEVERITY_RANK[self.page_severity]:
                severity = self.page_severity
                details["score_severity"] = det.severity  # the score alone said less: a page
            if settled_until is not None:  # how fresh the data behind the page was
                details["data_complete_until"] = settled_until.isoformat()
            details["last_at"] = (end - step).isoformat()
            head = dataclasses.replace(det, severity=severity, details=details)
            out.append(head)
            last_fired, escalated = end, False
        return out


def outage_time(
    runs: Sequence[tuple[datetime, datetime]], since: datetime, until: datetime
) -> timedelta:
    """How much of ``[since, until)`` lies in the outages ``runs`` (``[start, end)`` in UTC, in
    order). Causal when ``until`` is a reported bin: a run before it has ended, so whether it is
    an outage is known (:func:`.gaps.outage_runs`)."""
    lost = timedelta(0)
    at = max(0, bisect.bisect_right(runs, (since,)) - 1)
    while at < len(runs) and runs[at][0] < until:
        start, end = runs[at]
        lost += max(timedelta(0), min(end, until) - max(start, since))
        at += 1
    return lost


def last_firing(detection: Detection, step: timedelta) -> datetime:
    """Start of the last bin ``detection``'s episode fired in: ``details.last_at`` (set when
    episodes were merged), else onset + ``episode_bins`` - 1 bins."""
    last_at = detection.details.get("last_at")
    if last_at:
        return datetime.fromisoformat(str(last_at))
    return detection.timestamp + step * (int(detection.details.get("episode_bins", 1)) - 1)


def paging_policy(config: AlertsConfig) -> PagingPolicy:
    """The policy ``config/alerts.yaml`` names under ``paging:``."""
    return PagingPolicy(
        quiet_seconds=parse_duration(config.paging.quiet),
        escalate=config.paging.escalate,
        outage_cap_seconds=parse_duration(config.paging.outage_cap),
    )


def settling_bins(config: AlertsConfig, interval_seconds: int) -> int:
    """How many of the newest bins may still be filling up (``paging.settling``)."""
    seconds = parse_duration(config.paging.settling)
    return -(-seconds // interval_seconds) if seconds > 0 else 0
