"""``negative_volume``: negative mentions far above their seasonal baseline.

The main crisis detector. Fires at bin ``t`` when, with the baseline of
:mod:`koubei.analysis.detectors.baseline`:

* the z-score of the negative count is ≥ ``z_threshold`` (noise scale floored at Poisson), or
  ≥ ``z_sustained`` held for ``hold``, or (``rise_ratio`` > 0) ≥ ``rise_z`` with the count
  ≥ ``rise_ratio`` × expected, both held for ``rise_hold``, and
* the count is ≥ ``min_count`` and ≥ ``min_ratio`` × expected (minimum-volume guards), and
  (``peak_ratio`` > 0) ≥ ``peak_ratio`` × the series' usual daily peak, and
* ``t`` is past ``warmup`` (no baseline to speak of before), and
* (when the total is known) negatives rose clearly more than the total did
  (``min_excess_over_total``): a holiday or a new source that lifts every mention alike keeps
  the negative *share* and is not a crisis.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from koubei.analysis.detectors.base import (
    Detection,
    Detector,
    Firing,
    Gate,
    fire_arguments,
    register,
    span,
    warmup_gate,
)
from koubei.analysis.detectors.baseline import calendar, seasonal_baseline
from koubei.analysis.detectors.causal import trailing_min, trailing_sum
from koubei.analysis.detectors.extremes import return_level, usual_peak
from koubei.analysis.detectors.reasons import Reason


def baseline_kwargs(
    detector: Detector,
    interval_seconds: int,
    start: datetime | None,
    n_bins: int,
    outage: np.ndarray | None = None,
    window: int = 1,
) -> dict[str, Any]:
    """The baseline options of a detector (shared option names) as keyword arguments.

    ``outage`` marks the bins of an outage of the data (:meth:`Detector.fire`), missing to the
    baseline; a value built from the last ``window`` bins (a trailing sum) is missing when any
    of them is: an hourly sum over carried bins is not an hour's count.
    """
    aware = detector.options["weekend_aware"]
    missing = outage
    if outage is not None and window > 1:
        missing = trailing_sum(outage.astype(float), window) > 0
    return {
        "missing": missing,
        "seasonal_days": detector.options["seasonal_days"],
        "cal": calendar(start, n_bins, interval_seconds, weekend_aware=aware),
        "recent_bins": detector.bins("recent_window", interval_seconds),
        "scale_bins": detector.bins("scale_window", interval_seconds),
        "scale_stride": max(1, detector.bins("scale_window", interval_seconds) // 24),
    }


BASELINE_DEFAULTS: dict[str, Any] = {
    "seasonal_days": 14,  # same time of day on this many previous days ...
    "weekend_aware": True,  # ... of the same day type (weekday / weekend) once two are known
    "recent_window": "3h",  # current level = median offset from the pattern over this window
    "scale_window": "1d",  # noise scale = robust spread of residuals over this window
    "warmup": "6h",  # no decision before this much history
    "cooldown": "1h",  # firing bins closer than this belong to one episode (one alert)
}
BASELINE_DURATIONS = frozenset({"recent_window", "scale_window", "warmup", "cooldown"})


def sustained(z: np.ndarray, single: float, held: float, bins: int) -> np.ndarray:
    """Bins where z ≥ ``single``, or z ≥ ``held`` in this and the previous ``bins - 1`` bins.

    One noisy bin at z≈4 happens about monthly per series; two bins in a row at z≥3 almost
    never do, while a real crisis holds for many bins. Causal: looks back only.
    """
    return (trailing_min(z, bins) >= held) | (z >= single)


@register("negative_volume")
class NegativeVolume(Detector):
    counted_window = "window"  # the reason names its clock span
    defaults: ClassVar[dict[str, Any]] = {
        **BASELINE_DEFAULTS,
        "z_threshold": 5.0,  # robust z (variance-stabilised space) that fires in one bin ...
        "z_sustained": 3.0,  # ... or this z held for `hold` (a duration, so hourly data holds
        "hold": "10m",  # for one bin and 5-minute data for two; was `sustained_bins: 2`)
        "min_count": 5,  # never alert on fewer negatives than this in a bin
        "min_ratio": 1.5,  # ... nor on less than this multiple of the expected count
        "min_excess_over_total": 1.5,  # negatives must outgrow the total by this factor
        "window": "5m",  # counts summed over this trailing window (one bin: per-bin counts)
        # A relative rise held for a while (0: off): count ≥ `rise_ratio` × expected with
        # z ≥ `rise_z` in every bin of `rise_hold` (and ≥ `rise_min_count` now). The z scale of
        # a brand whose chatter bursts often is wide; a fivefold rise that lasts an hour is a
        # crisis whatever that scale says, while a burst of attention fades within the hour.
        "rise_ratio": 0.0,
        "rise_z": 3.5,
        "rise_hold": "1h",
        "rise_min_count": 20,
        # The series' own bar (0: off; :mod:`koubei.analysis.detectors.extremes`): a bin must
        # also beat the level this view's daily peak reached about once per `return_days`
        # days, fitted on the peaks of the last `return_history` (from `return_min_days`
        # complete days on). A brand whose chatter bursts daily then pages about once a
        # month for it, a quiet brand keeps the thresholds above. Off by default: it halves
        # false pages on real series but also loses incidents (BENCHMARKS.md).
        "return_days": 0.0,
        "return_history": "28d",
        "return_min_days": 2,
        # The usual daily peak (0: off): the count must also reach `peak_ratio` × the median of
        # the daily maxima of this view over the last `peak_history`. A rise that stays below
        # an ordinary busy hour (a burst of chatter in the small hours) waits until it does.
        "peak_ratio": 0.0,
        "peak_history": "14d",
        # Whether this view's excess volume alone can make its alert critical. False for a view
        # that judges a few bins (mention-jump): a 5-minute burst on real series is mostly a
        # glitch or a bot, so it pages a warning, and is critical only with a negative-share
        # rise or spread evidence besides (severity.POINTS); a crisis that holds escalates
        # when the hourly view reaches critical.
        "critical_alone": True,
        # One more detection where an episode that began below critical first reaches it
        # (``detect``): the paging policy's escalation when a crisis grows.
        "escalate_on_growth": True,
    }
    duration_options = BASELINE_DURATIONS | {
        "window",
        "hold",
        "rise_hold",
        "return_history",
        "peak_history",
    }

    def fire(
        self,
        total: np.ndarray,
        negative: np.ndarray,
        interval_seconds: int,
        start: datetime | None = None,
        outage: np.ndarray | None = None,
    ) -> Firing:
        opts = self.options
        part = self._parts(total, negative, interval_seconds, start, outage)
        negative, z, ratio, w = part["negative"], part["z"], part["ratio"], part["w"]
        fired = (
            sustained(
                z,
                opts["z_threshold"],
                opts["z_sustained"],
                max(1, opts["hold"] // interval_seconds),
            )
            & (negative >= opts["min_count"])
            & (ratio >= opts["min_ratio"])
        )
        if opts["rise_ratio"] > 0:
            # "held" takes two looks at least: on hourly data one bin is a single observation
            bins = max(2, opts["rise_hold"] // interval_seconds)
            rising = np.where(ratio >= opts["rise_ratio"], z, -np.inf)
            held = sustained(rising, np.inf, opts["rise_z"], bins)
            fired |= held & (negative >= opts["rise_min_count"])
        if opts["peak_ratio"] > 0:
            fired &= ~(negative < opts["peak_ratio"] * part["peak"])  # NaN (no day yet): no gate
        fired[:, : self.bins("warmup", interval_seconds) + w - 1] = False
        share_delta = None
        if "tot_ratio" in part:
            total, neg = part["total"], part["neg"]
            fired &= ratio >= opts["min_excess_over_total"] * part["tot_ratio"]
            with np.errstate(invalid="ignore", divide="ignore"):
                share_delta = np.where(
                    total > 0,
                    negative / np.maximum(total, 1.0)
                    - neg.expected / np.maximum(part["tot_expected"], 1.0),
                    np.nan,
                )
        return Firing(fired, negative, part["neg"].expected, part["neg"].zscore, share_delta)

    def _parts(
        self,
        total: np.ndarray,
        negative: np.ndarray,
        interval_seconds: int,
        start: datetime | None,
        outage: np.ndarray | None,
    ) -> dict[str, Any]:
        """The per-bin figures :meth:`fire` decides on (and :meth:`gates` shows): the counts
        over the window, their baseline, z (over the series' own bar when ``return_days``),
        count / expected, the usual daily peak and the total's ratio, when they apply."""
        opts = self.options
        w = self.bins("window", interval_seconds)
        if w > 1:  # a slower view: sums over the window (still causal: bins ≤ t)
            same = total is negative
            negative = trailing_sum(negative, w)
            total = negative if same else trailing_sum(total, w)
        kwargs = baseline_kwargs(self, interval_seconds, start, negative.shape[1], outage, w)
        neg = seasonal_baseline(negative, interval_seconds, **kwargs)
        z = neg.zscore
        if opts["return_days"] > 0:
            z = z / self._own_bar(z, interval_seconds, kwargs["cal"].day)
        ratio = (negative + 1.0) / (neg.expected + 1.0)
        part = {"w": w, "negative": negative, "total": total, "neg": neg, "z": z, "ratio": ratio}
        if opts["peak_ratio"] > 0:
            days = max(1, opts["peak_history"] // 86400)
            part["peak"] = usual_peak(negative, kwargs["cal"].day, days)
        if total is not negative and not np.array_equal(total, negative):
            tot = seasonal_baseline(total, interval_seconds, **kwargs)
            part["tot_ratio"] = (total + 1.0) / (tot.expected + 1.0)
            part["tot_expected"] = tot.expected
        return part

    def gates(self, series: Any) -> list[Gate]:
        """The gates of :meth:`fire`: its paths (``z_threshold`` in one bin, ``z_sustained``
        held for ``hold``, each with ``min_count`` and ``min_ratio``; ``rise_ratio`` with
        ``rise_z`` held for ``rise_hold`` and ``rise_min_count``) and what every path needs
        (``peak_ratio``, ``warmup``, ``min_excess_over_total`` when the total is known)."""
        opts, interval = self.options, series.interval_seconds
        part = self._parts(*fire_arguments(series))
        count, z, ratio, w = part["negative"][0], part["z"][0], part["ratio"][0], part["w"]
        counted = f"count over {span(opts['window'])}" if w > 1 else "count in the bin"
        zname = "robust z over the series' own bar" if opts["return_days"] > 0 else "robust z"

        def gate(name: str, option: str, value: Any, bar: Any, path: str = "") -> Gate:
            passed = ~(value < bar) if option == "peak_ratio" else value >= bar
            return Gate(name, option, value, bar, passed, path)

        hold = max(1, opts["hold"] // interval)
        held = trailing_min(z[None, :], hold)[0]
        out = [
            gate(zname, "z_threshold", z, opts["z_threshold"], "z_threshold"),
            gate(f"lowest {zname} over {span(hold * interval)}", "z_sustained", held,
                 opts["z_sustained"], "z_sustained"),
        ]  # fmt: skip
        for path in ("z_threshold", "z_sustained"):
            out.append(gate(counted, "min_count", count, opts["min_count"], path))
            out.append(gate("count / expected", "min_ratio", ratio, opts["min_ratio"], path))
        if opts["rise_ratio"] > 0:
            bins = max(2, opts["rise_hold"] // interval)
            over, path = f"over {span(bins * interval)}", "rise_ratio"
            lowest = trailing_min(ratio[None, :], bins)[0]
            out += [
                gate(f"lowest count / expected {over}", "rise_ratio", lowest,
                     opts["rise_ratio"], path),
                gate(f"lowest {zname} {over}", "rise_z", trailing_min(z[None, :], bins)[0],
                     opts["rise_z"], path),
                gate(counted, "rise_min_count", count, opts["rise_min_count"], path),
            ]  # fmt: skip
        if opts["peak_ratio"] > 0:
            bar = opts["peak_ratio"] * part["peak"][0]
            out.append(gate(f"{counted} vs {opts['peak_ratio']:g} x the usual daily peak",
                            "peak_ratio", count, bar))  # fmt: skip
        out.append(warmup_gate(self, len(series), interval, w - 1))
        if "tot_ratio" in part:
            bar = opts["min_excess_over_total"] * part["tot_ratio"][0]
            name = f"count / expected vs {opts['min_excess_over_total']:g} x the total's"
            out.append(gate(name, "min_excess_over_total", ratio, bar))
        return out

    def _own_bar(self, z: np.ndarray, interval_seconds: int, day: np.ndarray) -> np.ndarray:
        """How many times above its own thresholds ``z`` must be (≥ 1) for the series' own bar.

        The statistic whose daily peaks are fitted is the detector's own firing strength in
        ``z_sustained`` units: the z held for ``hold``, or the single-bin z scaled by
        ``z_sustained / z_threshold``, so the bar rises for whichever path fires daily.
        """
        opts = self.options
        held = trailing_min(z, max(1, opts["hold"] // interval_seconds))
        strength = np.maximum(held, z * opts["z_sustained"] / opts["z_threshold"])
        bar = return_level(
            strength,
            day,
            opts["return_days"],
            max(1, opts["return_history"] // 86400),
            min_days=opts["return_min_days"],
        )
        return np.maximum(np.nan_to_num(bar) / opts["z_sustained"], 1.0)

    def detect(self, series: Any) -> list[Detection]:
        """One detection per episode at its onset, and one more where an episode that began
        below ``critical`` first reaches it while it still fires (the crisis grew: an hour at
        ×16 the expected count): :func:`~koubei.analysis.detectors.defaults.detect_all` keeps
        it apart and the paging policy sends it as the incident's escalation, at its own time
        (causal). Without it an episode's severity was its onset's for as long as it lasted,
        and a crisis that grew from ×2 to ×20 over an afternoon never said so; generated
        crises: 12 → 43 caught by a critical alert on the tuning seeds, anomaly-series
        unchanged (BENCHMARKS.md, "What critical means"). Only bins whose excess over the
        expected count grew past the onset's are scored (a share that rose alone does not
        escalate here; the negative-share detector has its own episodes)."""
        firing = self.fire_series(series)
        ratio = (firing.observed[0] + 1.0) / (firing.expected[0] + 1.0)
        out = []
        for onset_detection, onset, last in self.detect_episodes(series, firing):
            out.append(onset_detection)
            if onset_detection.severity == "critical" or not self.options["escalate_on_growth"]:
                continue
            # the firing bins after the onset whose excess grew past the onset's, in order
            later = np.arange(onset + 1, last + 1)
            for t in later[firing.fired[0, later] & (ratio[later] > ratio[onset])]:
                details = self.details_at(series, firing, int(t), last)
                grown = self.emit(series, int(t), firing, details, self.reason)
                if grown.severity == "critical":
                    out.append(grown)
                    break
        return out

    def details_at(self, series: Any, firing: Firing, t: int, last: int) -> dict[str, Any]:
        details = super().details_at(series, firing, t, last)
        # the bins its evidence spans, up to t: the integrator takes corroboration only from
        # a view that fired before the first of them (a surge opened by these same bins says
        # no more than they do), and the reason says the bins were held
        opts, interval = self.options, series.interval_seconds
        one_bin = firing.zscore[0, t] >= opts["z_threshold"]
        details["held_bins"] = 1 if one_bin else max(1, opts["hold"] // interval)
        if not opts["critical_alone"]:  # in details: the integrator scores it again
            details["corroboration_needed"] = True
        return details

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        # `counts` says whether a plain `timestamp,value` series (any tone) was counted.
        figures = {"observed": observed, "expected": expected, "zscore": details["zscore"]}
        # the figures' span, named in the sentence ("17:35–18:35 负面提及 44 条")
        counted = self.counted_params(details)
        return Reason(
            "volume_rise",
            {
                **figures,
                "counts": details.get("counts", "negative mentions"),
                "window": self.options["window"],
                "interval": details.get("interval", 0),
                # a jump held for several bins: the figures are the latest bin's, and the
                # sentence must not read as one lone bin (session 24's two-bin hold)
                "held_bins": details.get("held_bins", 1),
                **counted,
            },
        )
