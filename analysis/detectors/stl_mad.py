"""``stl_mad``: the library baseline — robust STL (statsmodels) with a MAD threshold, causally.

A well-kept detector built on a maintained library, run beside koubei's own detectors in
``python -m bench spikes`` (issue 20). Every ``refit`` the series' last ``history`` is decomposed
with ``statsmodels.tsa.seasonal.STL(robust=True)`` (period: one day of bins); until the next refit
a bin is forecast as the last trend value plus the seasonal value one period earlier, and fires
when it exceeds that forecast by ``mad_threshold`` × the robust spread (1.4826 × MAD) of the
fit's residuals. Only data before the refit point is used, so it is causal; it detects rises only
(as koubei's detectors do). Slower than the vectorised detectors: one STL fit per refit per row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from koubei.analysis.detectors.base import Detector, Firing, register
from koubei.analysis.detectors.reasons import Reason

DAY = 86400
MAD_TO_SD = 1.4826


@register("stl_mad")
class StlMad(Detector):
    defaults: ClassVar[dict[str, Any]] = {
        "history": "7d",  # decompose this much of the past at each refit ...
        "refit": "1d",  # ... this often (one fit costs ~0.1 s for a week of 5-minute bins)
        "mad_threshold": 4.0,  # fire above forecast + this × 1.4826 × MAD of the fit residuals
        "field": "negative",
        "cooldown": "1h",
    }
    duration_options = frozenset({"history", "refit", "cooldown"})
    choice_options: ClassVar[dict[str, tuple[str, ...]]] = {"field": ("total", "negative")}

    def fire(
        self,
        total: np.ndarray,
        negative: np.ndarray,
        interval_seconds: int,
        start: datetime | None = None,
    ) -> Firing:
        from statsmodels.tsa.seasonal import STL

        counts = np.asarray(negative if self.options["field"] == "negative" else total, float)
        period = max(2, DAY // interval_seconds)
        history = max(2 * period + 1, self.bins("history", interval_seconds))
        refit = self.bins("refit", interval_seconds)
        rows, n = counts.shape
        expected = np.full((rows, n), np.nan)
        scale = np.full((rows, n), np.nan)
        for at in range(2 * period + 1, n, refit):  # fit on bins < at, forecast at .. at+refit
            lo = max(0, at - history)
            for r in range(rows):
                window = counts[r, lo:at]
                # LOESS evaluated every `jump` points and interpolated (statsmodels' own speed-up)
                jump = max(1, period // 15)
                fit = STL(
                    window,
                    period=period,
                    robust=True,
                    seasonal_jump=jump,
                    trend_jump=5 * jump,
                    low_pass_jump=5 * jump,
                ).fit()
                resid = np.asarray(fit.resid)
                mad = MAD_TO_SD * float(np.median(np.abs(resid - np.median(resid))))
                seasonal = np.asarray(fit.seasonal)
                trend = float(np.asarray(fit.trend)[-1])
                stop = min(n, at + refit)
                # seasonal value one period before each forecast bin (cycling the last period)
                phase = (np.arange(at, stop) - at) % period
                expected[r, at:stop] = trend + seasonal[len(seasonal) - period + phase]
                scale[r, at:stop] = max(mad, 1e-9)
        with np.errstate(invalid="ignore"):
            z = np.nan_to_num((counts - expected) / scale)
        fired = z > self.options["mad_threshold"]
        return Firing(fired, counts, np.nan_to_num(expected), z)

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        figures = {"observed": observed, "expected": expected, "field": self.options["field"]}
        # `counts`: a plain `timestamp,value` series has no tone, whatever `field` says
        return Reason("stl_forecast", {**figures, "counts": details.get("counts")})
