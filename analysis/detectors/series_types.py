"""The series the detectors read: :class:`CountSeries` and :class:`CascadeSeries`, and the
keys of monitored series (:func:`series_key`).

A :class:`CountSeries` is one monitored key (a brand, ``brand|platform`` or ``brand|aspect:X``)
as equally spaced bins of total and negative mention counts. Detectors work on 2-D arrays
(series × bins, built with the helpers of :mod:`causal`) so that one brand and a thousand brands
run the same vectorised code. Reading one from a CSV file is :func:`.series.read_csv`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from koubei.analysis.detectors.gaps import outage_runs
from koubei.timeutil import aware


def series_key(brand: str, platform: str | None = None, aspect: str | None = None) -> str:
    """The key of a monitored series: ``鲜牧``, ``鲜牧|weibo``, ``鲜牧|aspect:物流`` ..."""
    parts = [brand]
    if platform:
        parts.append(platform)
    if aspect:
        parts.append(f"aspect:{aspect}")
    return "|".join(parts)


@dataclass
class CountSeries:
    """Equally spaced bins of mention counts for one key.

    ``start[i]`` is the (tz-aware) start of bin ``i``; ``total[i]`` all mentions in it and
    ``negative[i]`` the negative ones. ``filled[i]`` marks a bin the source did not report (a gap
    filled by carrying the last value forward); detectors never fire on a filled bin.
    ``known_empty[i]`` marks a filled bin read as 0 instead (an export that leaves its empty
    bins out, :func:`.gaps.left_out_zeros`): quiet time, where the other filled bins are data
    nobody saw (``unseen``; an outage of them, :attr:`outages`, is not quiet to the paging
    policy nor data to the seasonal baseline).
    """

    start: list[datetime]
    total: list[int]
    negative: list[int]
    interval_seconds: int = 300
    key: str = ""
    filled: list[bool] = field(default_factory=list)
    known_empty: list[bool] = field(default_factory=list)
    #: trailing bins whose posts may still be arriving (crawl lag): not a fall, not an all-clear
    unsettled: int = 0

    def __post_init__(self) -> None:
        if not (len(self.start) == len(self.total) == len(self.negative)):
            raise ValueError("start, total and negative must have the same length")
        if self.interval_seconds <= 0:
            raise ValueError("interval_seconds must be positive")
        if not self.filled:
            self.filled = [False] * len(self.start)
        if not self.known_empty:
            self.known_empty = [False] * len(self.start)
        self.start = [aware(s) for s in self.start]

    def __len__(self) -> int:
        return len(self.start)

    @property
    def settled_until(self) -> datetime | None:
        """Start of the first bin still settling (``None`` when every bin is complete)."""
        if self.unsettled <= 0 or not self.start:
            return None
        return self.start[max(0, len(self.start) - self.unsettled)]

    @property
    def unseen(self) -> list[datetime]:
        """Starts of the filled bins not known to be empty: data nobody saw (not quiet time)."""
        gone = zip(self.start, self.filled, self.known_empty, strict=True)
        return [start for start, filled, empty in gone if filled and not empty]

    @property
    def outage_runs(self) -> list[tuple[int, int]]:
        """``[start, end)`` bin indices of the outages of the data (:func:`.gaps.outage_runs`:
        runs of unseen bins longer than any the series had in the day before each began)."""
        unseen = np.array(self.filled, dtype=bool) & ~np.array(self.known_empty, dtype=bool)
        return outage_runs(unseen, max(1, 86400 // self.interval_seconds))

    @property
    def outages(self) -> list[tuple[datetime, datetime]]:
        """:attr:`outage_runs` as ``[start, end)`` times in UTC (the bins step in UTC: a run
        across a DST change is as long as it lasted), for the paging policy."""
        step = timedelta(seconds=self.interval_seconds)
        utc = [(self.start[a].astimezone(UTC), b - a) for a, b in self.outage_runs]
        return [(start, start + step * bins) for start, bins in utc]

    @property
    def volume_only(self) -> bool:
        """True when negative and total are the same series (one plain mention count)."""
        return self.total is self.negative or list(self.total) == list(self.negative)

    def head(self, n: int) -> CountSeries:
        """The first ``n`` bins (used to check causality)."""
        return CountSeries(
            self.start[:n],
            list(self.total[:n]),
            list(self.negative[:n]),
            self.interval_seconds,
            self.key,
            list(self.filled[:n]),
            list(self.known_empty[:n]),
        )

    @classmethod
    def from_bins(cls, bins: Sequence[Any], interval_seconds: int, key: str = "") -> CountSeries:
        """From objects with ``start``, ``total``, ``negative`` (``queries.volume_series``)."""
        return cls(
            [b.start for b in bins],
            [int(b.total) for b in bins],
            [int(b.negative) for b in bins],
            interval_seconds,
            key,
        )

    @classmethod
    def from_values(
        cls,
        start: datetime,
        values: Sequence[float],
        interval_seconds: int = 300,
        key: str = "",
        total: Sequence[float] | None = None,
    ) -> CountSeries:
        """A series from counts; without ``total`` the values are the whole volume."""
        step = timedelta(seconds=interval_seconds)
        neg = [int(np.rint(v)) for v in values]
        tot = neg if total is None else [int(np.rint(v)) for v in total]
        # Stepped in UTC: a zone's wall clock plus 5 minutes walks into the hour a spring DST
        # change skips (02:00-02:55 in Berlin, the same instants as 03:00-03:55, and a step
        # back) and counts the autumn one's repeated hour once.
        first = aware(start)
        utc = first.astimezone(UTC)
        starts = [(utc + i * step).astimezone(first.tzinfo) for i in range(len(neg))]
        return cls(starts, tot, neg, interval_seconds, key)


@dataclass
class CascadeSeries:
    """Growth of one negative repost cascade (or all of a brand's), per bin.

    ``reposts`` are new reposts/replies in the bin; ``depth``, ``breadth`` (largest number of
    nodes at one level), ``max_followers`` and ``verified`` describe the cascade as of the end of
    the bin (cumulative). Built by the spread analysis; see
    :mod:`koubei.analysis.detectors.cascade`.
    """

    start: list[datetime]
    reposts: list[int]
    depth: list[int]
    breadth: list[int]
    max_followers: list[int]
    verified: list[bool]
    interval_seconds: int = 300
    key: str = ""

    def __post_init__(self) -> None:
        n = len(self.start)
        lengths = {len(self.reposts), len(self.depth), len(self.breadth)}
        lengths |= {len(self.max_followers), len(self.verified)}
        if lengths != {n}:
            raise ValueError("every cascade column must have one value per bin")
        self.start = [aware(s) for s in self.start]

    def __len__(self) -> int:
        return len(self.start)
