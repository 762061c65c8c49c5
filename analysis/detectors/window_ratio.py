"""``window_ratio``: the comparison rule common alerting tools ship (ElastAlert's ``spike``).

Counts in the current window are compared with the window immediately before it; the rule fires
when ``current ≥ spike_height × reference`` and both windows clear their minimum counts
(``threshold_cur``, ``threshold_ref``). No seasonality and no noise model: it is the baseline the
seasonal detectors are measured against (``python -m bench spikes``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from koubei.analysis.detectors.base import Detector, Firing, Gate, fire_arguments, register, span
from koubei.analysis.detectors.causal import lag, trailing_sum
from koubei.analysis.detectors.reasons import Reason


@register("window_ratio")
class WindowRatio(Detector):
    counted_window = "timeframe"  # the reason names its clock span
    defaults: ClassVar[dict[str, Any]] = {
        "timeframe": "1h",
        "spike_height": 3.0,
        "threshold_cur": 10,
        "threshold_ref": 5,
        "field": "negative",
        "cooldown": "1h",
    }
    duration_options = frozenset({"timeframe", "cooldown"})
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
        current, reference, have_ref = self._parts(total, negative, interval_seconds)
        fired = (
            have_ref
            & (current >= opts["threshold_cur"])
            & (reference >= opts["threshold_ref"])
            & (current >= opts["spike_height"] * reference)
        )
        ratio = current / np.maximum(reference, 1.0)
        return Firing(fired, current, reference, ratio)

    def _parts(
        self, total: np.ndarray, negative: np.ndarray, interval_seconds: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The current window's count, the one before it, and whether both are complete."""
        counts = negative if self.options["field"] == "negative" else total
        w = self.bins("timeframe", interval_seconds)
        current = trailing_sum(counts, w)
        reference = lag(current, w)
        have_ref = np.arange(counts.shape[1])[None, :] >= 2 * w - 1  # both windows complete
        return current, np.nan_to_num(reference), have_ref

    def gates(self, series: Any) -> list[Gate]:
        """The rule's gates, all needed: two complete windows, ``threshold_cur``,
        ``threshold_ref`` and ``spike_height``."""
        opts, interval = self.options, series.interval_seconds
        total, negative, *_ = fire_arguments(series)
        current, reference, have_ref = (a[0] for a in self._parts(total, negative, interval))
        frame = span(opts["timeframe"])
        history = (np.arange(len(series)) + 1.0) * interval
        need = 2.0 * self.bins("timeframe", interval) * interval
        bar = opts["spike_height"] * reference
        return [
            Gate("history up to this bin", "timeframe", history, need, have_ref, unit="s"),
            Gate(
                f"count over {frame}",
                "threshold_cur",
                current,
                opts["threshold_cur"],
                current >= opts["threshold_cur"],
            ),
            Gate(
                f"count over the {frame} before",
                "threshold_ref",
                reference,
                opts["threshold_ref"],
                reference >= opts["threshold_ref"],
            ),
            Gate(
                f"count over {frame} vs spike_height x the {frame} before",
                "spike_height",
                current,
                bar,
                current >= bar,
            ),
        ]

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        figures = {"observed": observed, "expected": expected, "field": self.options["field"]}
        # `counts`: a plain `timestamp,value` series has no tone, whatever `field` says
        figures["counts"] = details.get("counts")
        figures |= self.counted_params(details)
        return Reason("window_ratio", {**figures, "window": self.options["timeframe"]})
