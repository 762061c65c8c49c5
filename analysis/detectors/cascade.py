"""``cascade_growth``: the spread-aware trigger, over a :class:`CascadeSeries`.

A negative repost cascade usually shows in its *shape* before it shows in brand volume: reposts
per bin accelerate, the tree deepens, or it reaches an account whose followers dwarf the brand's
usual audience (high reach, verified, or a bridge into another community). This detector fires
on the first bin where any of these holds:

* **acceleration** — reposts in the last ``window`` ≥ ``growth_ratio`` × the rate of the
  ``reference`` period before it, on at
  least ``min_reposts``, and the rise is significant on the Poisson scale (``z_threshold``);
* **deepening** — depth grew by ≥ ``depth_step`` levels within the window (with ``min_reposts``);
* **reach** — ``max_followers`` first crosses ``high_reach_followers``, or a verified account
  first joins (``verified_triggers``).

The detection's ``details`` carry ``cascade_accelerating``, ``max_followers`` and
``verified_involved`` so :func:`~koubei.analysis.detectors.severity.crisis_severity` scores it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

import numpy as np

from koubei.analysis.detectors.base import Detection, Detector, Firing, Gate, register, span
from koubei.analysis.detectors.causal import anscombe, episodes, lag, trailing_sum
from koubei.analysis.detectors.reasons import Reason
from koubei.analysis.detectors.series_types import CascadeSeries


@register("cascade_growth")
class CascadeGrowth(Detector):
    counted_window = "window"  # the reason names its clock span
    input_kind = "cascade"
    defaults: ClassVar[dict[str, Any]] = {
        "window": "15m",
        "reference": "1h",  # the reposts rate before the window that growth is measured against
        "growth_ratio": 2.0,
        "min_reposts": 20,
        "z_threshold": 3.0,
        "depth_step": 2,
        "high_reach_followers": 1_000_000,
        "verified_triggers": True,
        "cooldown": "1h",
    }
    duration_options = frozenset({"window", "reference", "cooldown"})

    def _figures(self, series: CascadeSeries) -> dict[str, np.ndarray]:
        """What :meth:`fire_cascade` decides on, per bin (rows of one): the one computation
        :meth:`fire_cascade` and :meth:`gates` read."""
        opts = self.options
        w = self.bins("window", series.interval_seconds)
        reposts = np.asarray(series.reposts, dtype=float)[None, :]
        r = self.bins("reference", series.interval_seconds)
        current = trailing_sum(reposts, w)
        # the rate of the reference period before the window, scaled to the window's length
        previous = np.nan_to_num(lag(trailing_sum(reposts, r), w)) * (w / r)
        z = (anscombe(current) - anscombe(previous)) / np.sqrt(1.0 + w / r)
        depth = np.asarray(series.depth, dtype=float)[None, :]
        followers = np.asarray(series.max_followers, dtype=float)[None, :]
        verified = np.asarray(series.verified, dtype=bool)[None, :]
        return {
            "current": current,
            "previous": previous,
            "z": z,
            "enough": current >= opts["min_reposts"],
            "growth": current + 1 >= opts["growth_ratio"] * (previous + 1),
            "deepened": depth - np.nan_to_num(lag(depth, w), nan=0.0),
            "followers": followers,
            "followers_before": np.nan_to_num(lag(followers, 1), nan=0.0),
            "verified": verified,
            "verified_before": np.nan_to_num(lag(verified.astype(float), 1)).astype(bool),
        }

    def fire_cascade(self, series: CascadeSeries) -> tuple[Firing, dict[str, np.ndarray]]:
        """Per-bin decisions and which condition fired (arrays over the bins)."""
        opts = self.options
        f = self._figures(series)
        current, previous, z = f["current"], f["previous"], f["z"]
        accelerating = f["enough"] & f["growth"] & (z >= opts["z_threshold"])
        deepening = (f["deepened"] >= opts["depth_step"]) & f["enough"]
        high = f["followers"] >= opts["high_reach_followers"]
        reach = high & ~(f["followers_before"] >= opts["high_reach_followers"])
        new_verified = f["verified"] & ~f["verified_before"]
        if not opts["verified_triggers"]:
            new_verified = np.zeros_like(f["verified"])
        fired = accelerating | deepening | reach | new_verified
        why = {
            "accelerating": accelerating[0],
            "deepening": deepening[0],
            "high_reach": reach[0],
            "verified": new_verified[0],
        }
        return Firing(fired, current, previous, z), why

    def gates(self, series: Any) -> list[Gate]:
        """The four ways :meth:`fire_cascade` fires, each a path (``koubei spikes backtest
        --brand NAME --at TIME``): ``accelerating`` (reposts over the window against
        ``min_reposts``, their growth on the reference rate against ``growth_ratio``, its z
        against ``z_threshold``), ``deepening`` (levels gained over the window against
        ``depth_step``, with ``min_reposts``), ``high_reach`` (the largest follower count
        reaching ``high_reach_followers`` at this bin: it did not the bin before) and
        ``verified`` (a verified account joining at this bin, with ``verified_triggers`` on)."""
        if not isinstance(series, CascadeSeries):
            return []
        opts = self.options
        f = {k: v[0] for k, v in self._figures(series).items()}
        window = span(self.options["window"])
        reposts = f"reposts over {window}"
        high = opts["high_reach_followers"]
        on = 1.0 if opts["verified_triggers"] else np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = (f["current"] + 1) / (f["previous"] + 1)
        enough = (reposts, "min_reposts", f["current"], opts["min_reposts"], f["enough"])
        rows = [
            ("accelerating", *enough),
            (
                "accelerating",
                f"{reposts} +1 / the {span(opts['reference'])} reference's rate +1",
                "growth_ratio",
                growth,
                opts["growth_ratio"],
                f["growth"],
            ),
            (
                "accelerating",
                f"reposts z over {window}",
                "z_threshold",
                f["z"],
                opts["z_threshold"],
                f["z"] >= opts["z_threshold"],
            ),
            (
                "deepening",
                f"levels gained over {window}",
                "depth_step",
                f["deepened"],
                opts["depth_step"],
                f["deepened"] >= opts["depth_step"],
            ),
            ("deepening", *enough),
            (
                "high_reach",
                "largest follower count",
                "high_reach_followers",
                f["followers"],
                high,
                f["followers"] >= high,
            ),
            (
                "high_reach",
                "largest follower count the bin before, below",
                "high_reach_followers",
                f["followers_before"],
                high,
                ~(f["followers_before"] >= high),
            ),
            (
                "verified",
                "verified accounts (1: one is in)",
                "verified_triggers",
                f["verified"].astype(float),
                on,
                f["verified"] & bool(opts["verified_triggers"]),
            ),
            (
                "verified",
                "verified accounts the bin before, none",
                "verified_triggers",
                f["verified_before"].astype(float),
                1.0,
                ~f["verified_before"],
            ),
        ]
        return [
            Gate(name, option, np.asarray(value, dtype=float), threshold, passed, path)
            for path, name, option, value, threshold, passed in rows
        ]

    def fire(
        self,
        total: np.ndarray,
        negative: np.ndarray,
        interval_seconds: int,
        start: datetime | None = None,
        outage: np.ndarray | None = None,
    ) -> Firing:
        raise TypeError("cascade_growth runs on a CascadeSeries; call detect(cascade_series)")

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        # max_followers and verified_involved are refreshed from the details when the spread
        # context raises them (crisis_severity), so the reason and the details agree.
        keys = ("triggers", "depth", "max_followers", "verified_involved")
        return Reason(
            "cascade_growth",
            {"observed": observed, "expected": expected, "window": self.options["window"]}
            # `expected` is the reference period's rate scaled to the window, not the window
            # before: the sentence names that period
            | {"reference": self.options["reference"]}
            | {k: details[k] for k in keys}
            | self.counted_params(details),
        )

    def detect(self, series: Any) -> list[Detection]:
        if not isinstance(series, CascadeSeries):
            raise TypeError("cascade_growth.detect needs a CascadeSeries")
        firing, why = self.fire_cascade(series)
        out = []
        for onset, last in episodes(firing.fired[0], self.cooldown_bins(series.interval_seconds)):
            reasons = [name for name, mask in why.items() if mask[onset]]
            context = {
                "cascade_accelerating": bool(why["accelerating"][onset] or why["deepening"][onset]),
                "max_followers": int(series.max_followers[onset]),
                "verified_involved": bool(series.verified[onset]),
                "depth": int(series.depth[onset]),
                "breadth": int(series.breadth[onset]),
                "triggers": reasons,
                "episode_bins": last - onset + 1,
                "zscore": float(firing.zscore[0, onset]),
                **self.counted_span(series, onset),
            }
            out.append(self.emit(series, onset, firing, context, self.reason, context))
        return out


def cascade_series(
    events: list[dict[str, Any]],
    start: datetime,
    end: datetime,
    interval_seconds: int = 300,
    key: str = "",
) -> CascadeSeries:
    """Bin cascade events into a :class:`CascadeSeries`.

    ``events``: one dict per repost/reply with ``time`` (datetime), ``depth`` (int, root = 0),
    and optional ``followers`` (int) and ``verified`` (bool) of its author — what the spread
    analysis knows about each node. Depth, breadth, reach and verified are cumulative.
    """
    n = max(1, int((end - start).total_seconds() // interval_seconds))
    reposts = [0] * n
    depth_new = [0] * n
    followers_new = [0] * n
    verified_new = [False] * n
    per_level: dict[int, int] = {}
    breadth = [0] * n
    for event in sorted(events, key=lambda e: e["time"]):
        i = int((event["time"] - start).total_seconds() // interval_seconds)
        if i < 0 or i >= n:
            continue
        reposts[i] += 1
        level = int(event.get("depth", 1))
        depth_new[i] = max(depth_new[i], level)
        per_level[level] = per_level.get(level, 0) + 1
        breadth[i] = max(breadth[i], per_level[level])
        followers_new[i] = max(followers_new[i], int(event.get("followers") or 0))
        verified_new[i] = verified_new[i] or bool(event.get("verified"))
    acc = np.maximum.accumulate
    step = timedelta(seconds=interval_seconds)
    return CascadeSeries(
        start=[start + i * step for i in range(n)],
        reposts=reposts,
        depth=[int(v) for v in acc(depth_new)],
        breadth=[int(v) for v in acc(breadth)],
        max_followers=[int(v) for v in acc(followers_new)],
        verified=[bool(v) for v in np.logical_or.accumulate(verified_new)],
        interval_seconds=interval_seconds,
        key=key,
    )
