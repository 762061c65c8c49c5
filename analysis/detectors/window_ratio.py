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

from koubei.analysis.detectors.base import Detector, Firing, register
from koubei.analysis.detectors.causal import lag, trailing_sum
from koubei.analysis.detectors.reasons import Reason


@register("window_ratio")
class WindowRatio(Detector):
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
        counts = negative if opts["field"] == "negative" else total
        w = self.bins("timeframe", interval_seconds)
        current = trailing_sum(counts, w)
        reference = lag(current, w)
        have_ref = np.arange(counts.shape[1])[None, :] >= 2 * w - 1  # both windows complete
        reference = np.nan_to_num(reference)
        fired = (
            have_ref
            & (current >= opts["threshold_cur"])
            & (reference >= opts["threshold_ref"])
            & (current >= opts["spike_height"] * reference)
        )
        ratio = current / np.maximum(reference, 1.0)
        return Firing(fired, current, reference, ratio)

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        figures = {"observed": observed, "expected": expected, "field": self.options["field"]}
        # `counts`: a plain `timestamp,value` series has no tone, whatever `field` says
        figures["counts"] = details.get("counts")
        return Reason("window_ratio", {**figures, "window": self.options["timeframe"]})
