"""``stl_mad``: the library baseline — robust STL (statsmodels) with a MAD threshold, causally.

A well-kept detector built on a maintained library, run beside koubei's own detectors in
``python -m bench spikes`` (issue 20). Every ``refit`` the series' last ``history`` is decomposed
with ``statsmodels.tsa.seasonal.STL(robust=True)`` (period: one day of bins); until the next refit
a bin is forecast as the last trend value plus the seasonal value one period earlier, and fires
when it exceeds that forecast by ``mad_threshold`` × the robust spread (1.4826 × MAD) of the
fit's residuals. Only data before the refit point is used, so it is causal; it detects rises only
(as koubei's detectors do). Slower than the vectorised detectors: one STL fit per refit per row.

Warm-up: the first fit waits for a full ``history`` (7 days), so nothing fires before. Fitted on
fewer days, the seasonal LOESS (span 7 cycles) nearly passes through every time-of-day
sub-series, the residuals' MAD collapses and the forecast's bar with it: on calm 5-minute
series (Poisson around a daily profile, and the generator's realistic noise without crises or
bursts) a fit on the first 2, 3 or 4 days fired on 109-195 bins of the next day, one on 5 days
on 23-53, on 6 days on 1-20, the full 7 days on 1-75 (mostly 2-12), the method's own rate. The
earlier first fit at two days and one bin (the least STL accepts) fired all day on day three,
inflating the baseline's false pages; koubei's three-day warm-up would still leave day three
and four at that level, so the window itself is the warm-up.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np

from koubei.analysis.detectors.base import Detector, Firing, Gate, fire_arguments, register
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
        outage: np.ndarray | None = None,
    ) -> Firing:
        from statsmodels.tsa.seasonal import STL

        counts = np.asarray(negative if self.options["field"] == "negative" else total, float)
        period = max(2, DAY // interval_seconds)
        history = max(2 * period + 1, self.bins("history", interval_seconds))
        refit = self.bins("refit", interval_seconds)
        rows, n = counts.shape
        expected = np.full((rows, n), np.nan)
        scale = np.full((rows, n), np.nan)
        # the first fit has a full `history` (the warm-up, see the module docstring)
        for at in range(history, n, refit):  # fit on bins < at, forecast at .. at+refit
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
                # floored above the fit's float rounding, which grows with the values: a constant
                # series of 1e12 was forecast 0.02 off, 2e7 MADs of 1e-9, and fired every day
                scale[r, at:stop] = max(mad, 1e-9 * max(1.0, float(np.max(np.abs(window)))))
        with np.errstate(invalid="ignore"):
            z = np.nan_to_num((counts - expected) / scale)
        fired = z > self.options["mad_threshold"]
        return Firing(fired, counts, np.nan_to_num(expected), z)

    def gates(self, series: Any) -> list[Gate]:
        """Its one gate: the bin's excess over the STL forecast in robust spreads (0 until the
        first fit, a full ``history`` in) above ``mad_threshold``."""
        z = self.fire(*fire_arguments(series)).zscore[0]
        limit = self.options["mad_threshold"]
        return [Gate("excess over the forecast / robust spread", "mad_threshold", z, limit,
                     z > limit)]  # fmt: skip

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        figures = {"observed": observed, "expected": expected, "field": self.options["field"]}
        # `counts`: a plain `timestamp,value` series has no tone, whatever `field` says
        return Reason("stl_forecast", {**figures, "counts": details.get("counts")})
