"""``negative_share``: the share of negative mentions rises clearly above its recent norm.

Catches a crisis that does not (yet) lift volume much — e.g. the usual chatter turning sour.
Over the last ``window`` bins the negative count is tested against the pooled share of the
``reference`` period before it (binomial z-score with an over-dispersion factor); the rise must
also be at least ``min_share_increase`` (absolute) on at least ``min_total`` mentions.
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
from koubei.analysis.detectors.causal import lag, trailing_sum
from koubei.analysis.detectors.reasons import Reason


@register("negative_share")
class NegativeShare(Detector):
    counted_window = "window"  # the reason names its clock span
    defaults: ClassVar[dict[str, Any]] = {
        "window": "30m",  # current share over this window
        "reference": "1d",  # baseline share pooled over this period before the window
        "z_threshold": 4.0,
        "min_share_increase": 0.12,
        "min_total": 30,
        "min_count": 10,
        "overdispersion": 3.0,  # variance inflation over binomial (real posts come in clumps)
        "warmup": "6h",
        "cooldown": "1h",
    }
    duration_options = frozenset({"window", "reference", "warmup", "cooldown"})

    def fire(
        self,
        total: np.ndarray,
        negative: np.ndarray,
        interval_seconds: int,
        start: datetime | None = None,
        outage: np.ndarray | None = None,
    ) -> Firing:
        opts = self.options
        part = self._parts(total, negative, interval_seconds)
        tot_w, neg_w, tot_ref, p0, share, z = (
            part[k] for k in ("tot_w", "neg_w", "tot_ref", "p0", "share", "z")
        )
        fired = (
            (z >= opts["z_threshold"])
            & (share - p0 >= opts["min_share_increase"])
            & (tot_w >= opts["min_total"])
            & (neg_w >= opts["min_count"])
            & (tot_ref >= opts["min_total"])
        )
        fired[:, : self.bins("warmup", interval_seconds)] = False
        return Firing(fired, neg_w, p0 * tot_w, z, share - p0)

    def _parts(
        self, total: np.ndarray, negative: np.ndarray, interval_seconds: int
    ) -> dict[str, np.ndarray]:
        """The per-bin figures :meth:`fire` decides on (and :meth:`gates` shows)."""
        w = self.bins("window", interval_seconds)
        r = self.bins("reference", interval_seconds)
        tot_w = trailing_sum(total, w)
        neg_w = trailing_sum(negative, w)
        tot_ref = np.nan_to_num(lag(trailing_sum(total, r), w))
        neg_ref = np.nan_to_num(lag(trailing_sum(negative, r), w))
        p0 = np.clip((neg_ref + 0.5) / (tot_ref + 1.0), 0.01, 0.99)
        share = neg_w / np.maximum(tot_w, 1.0)
        sd = np.sqrt(np.maximum(tot_w, 1.0) * p0 * (1 - p0) * self.options["overdispersion"])
        z = (neg_w - p0 * tot_w) / sd
        return {
            "tot_w": tot_w,
            "neg_w": neg_w,
            "tot_ref": tot_ref,
            "p0": p0,
            "share": share,
            "z": z,
        }

    def gates(self, series: Any) -> list[Gate]:
        """negative-share's gates, all needed: the share's z, its rise, the window's mentions
        and negative ones, the reference period's mentions and the warm-up."""
        opts, interval = self.options, series.interval_seconds
        total, negative, *_ = fire_arguments(series)
        part = {k: v[0] for k, v in self._parts(total, negative, interval).items()}
        window, ref = span(opts["window"]), span(opts["reference"])
        rise = part["share"] - part["p0"]
        checks = [
            (f"share z over {window}", "z_threshold", part["z"]),
            (f"negative share over {window} minus the reference's", "min_share_increase", rise),
            (f"mentions over {window}", "min_total", part["tot_w"]),
            (f"negative mentions over {window}", "min_count", part["neg_w"]),
            (f"mentions over the {ref} reference", "min_total", part["tot_ref"]),
        ]
        out = [Gate(name, o, value, opts[o], value >= opts[o]) for name, o, value in checks]
        return [*out, warmup_gate(self, len(series), interval)]

    def reason(self, observed: float, expected: float, details: dict[str, Any]) -> Reason:
        share_delta = details.get("share_delta", 0.0)
        return Reason(
            "share_rise",
            {"observed": observed, "expected": expected, "share_delta": share_delta}
            | self.counted_params(details),
        )
