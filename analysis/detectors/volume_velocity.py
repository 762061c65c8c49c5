"""``volume_velocity``: total mentions accelerating faster than they usually do at this hour.

The velocity is the change of the (stabilised) mention count between the last ``window`` and
the ``window`` before it. Its seasonal expectation (the morning ramp is normal) and robust scale
come from the shared baseline; an unusually steep rise on at least ``min_count`` mentions fires
before a slower-building crisis reaches the level detectors' thresholds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from koubei.analysis.detectors.base import (
    Detector,
    Firing,
    Gate,
    fire_arguments,
    register,
    span,
    warmup_gate,
)
from koubei.analysis.detectors.baseline import seasonal_baseline
from koubei.analysis.detectors.causal import anscombe, lag, trailing_sum
from koubei.analysis.detectors.negative_volume import (
    BASELINE_DEFAULTS,
    BASELINE_DURATIONS,
    baseline_kwargs,
)
from koubei.analysis.detectors.reasons import Reason


@register("volume_velocity")
class VolumeVelocity(Detector):
    counted_window = "window"  # the reason names its clock span
    defaults: ClassVar[dict[str, Any]] = {
        **BASELINE_DEFAULTS,
        "window": "30m",
        "z_threshold": 5.0,
        "min_count": 30,  # mentions in the current window
        "min_ratio": 2.0,  # current window ≥ this × the previous window
        "field": "total",  # or "negative"
    }
    duration_options = BASELINE_DURATIONS | {"window"}
    choice_options: ClassVar[dict[str, tuple[str, ...]]] = {"field": ("total", "negative")}

    def fire(
        self,
        total: np.ndarray,
        negative: np.ndarray,
        interval_seconds: int,
        start: datetime | None = None,
        outage: np.ndarray | None = None,
    ) -> Firing:
        opts = self.options
        counts = total if opts["field"] == "total" else negative
        w = self.bins("window", interval_seconds)
        current = trailing_sum(counts, w)
        previous = np.nan_to_num(lag(current, w))
        # Difference of stabilised sums: unit variance per sum, so √2 for the difference.
        velocity = (anscombe(current) - anscombe(previous)) / np.sqrt(2.0)
        # the velocity at t is built from the last two windows
        kwargs = baseline_kwargs(self, interval_seconds, start, counts.shape[1], outage, 2 * w)
        base = seasonal_baseline(velocity, interval_seconds, stabilise=False, **kwargs)
        fired = (
            (base.zscore >= opts["z_threshold"])
            & (current >= opts["min_count"])
            & (current + 1.0 >= opts["min_ratio"] * (previous + 1.0))
        )
        fired[:, : self.bins("warmup", interval_seconds) + w] = False
        return Firing(fired, current, previous, base.zscore)

    def gates(self, series: Any) -> list[Gate]:
        """The gates of :meth:`fire`, all needed: the velocity's z, ``min_count`` mentions in
        the window, ``min_ratio`` × the window before, and the warm-up (its two windows)."""
        opts, interval = self.options, series.interval_seconds
        firing = self.fire(*fire_arguments(series))
        z, current, previous = firing.zscore[0], firing.observed[0], firing.expected[0]
        window = span(opts["window"])
        bar = opts["min_ratio"] * (previous + 1.0) - 1.0
        return [
            Gate(f"velocity z over {window}", "z_threshold", z, opts["z_threshold"],
                 z >= opts["z_threshold"]),
            Gate(f"count over {window}", "min_count", current, opts["min_count"],
                 current >= opts["min_count"]),
            Gate(f"count over {window} vs min_ratio x the {window} before", "min_ratio",
                 current, bar, current + 1.0 >= opts["min_ratio"] * (previous + 1.0)),
            warmup_gate(self, len(series), interval, self.bins("window", interval)),
        ]  # fmt: skip

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        figures = {"observed": observed, "expected": expected, "zscore": details["zscore"]}
        figures |= {"field": self.options["field"], "counts": details.get("counts")}
        figures |= self.counted_params(details)
        return Reason("volume_acceleration", {**figures, "window": self.options["window"]})
