"""Bins no row reports (issue 20, "late data is not a drop"): an outage of the export is not an
all-clear that closes an incident, and a long outage of a busy series is not read as zeros."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np

from koubei.analysis.detectors import CountSeries, default_detectors, detect_all, read_csv
from koubei.analysis.detectors.paging import PagingPolicy
from tests.analysis.detectors.conftest import PER_DAY, START, daily_profile
from tests.analysis.detectors.test_paging import _det, _volume


def _write(path: Path, counts: list[int], keep: np.ndarray) -> Path:
    """``counts`` from :data:`START` as 5-minute rows, the bins not in ``keep`` left out."""
    rows = [
        f"{START + timedelta(minutes=5 * i):%Y-%m-%d %H:%M},{v}"
        for i, v in enumerate(counts)
        if keep[i]
    ]
    path.write_text("timestamp,value\n" + "\n".join(rows) + "\n", "utf-8")
    return path


#: Sunday 10:00: a crisis of 20 h starts; the export writes nothing from 12:00 to 20:00
ONSET, HOLE = 6 * PER_DAY + 10 * 12, slice(6 * PER_DAY + 12 * 12, 6 * PER_DAY + 20 * 12)


def _crisis_across_a_hole(seed: int = 0) -> tuple[list[int], np.ndarray]:
    """A brand's mentions (daily cycle, Poisson counts) six times their usual level for 20 h
    from :data:`ONSET`, and which bins have a row (none in :data:`HOLE`)."""
    rates = 40 * daily_profile(8)
    rates[ONSET : ONSET + 20 * 12] *= 6
    keep = np.ones(len(rates), dtype=bool)
    keep[HOLE] = False
    return np.random.default_rng(seed).poisson(rates).tolist(), keep


def test_a_crisis_across_a_hole_in_the_export_pages_once(tmp_path: Path) -> None:
    """Before, the 8 h without a row were 8 h without a firing: the incident closed, and the
    crisis paged again at 20:00."""
    data = read_csv(_write(tmp_path / "brand.csv", *_crisis_across_a_hole()))
    assert data.gaps_carried == 8 * 12  # busy rows beside: a gap in the export, not zeros
    pages = detect_all(default_detectors(), data.series)
    inside = [p for p in pages if p.timestamp >= START + timedelta(minutes=5 * ONSET)]
    assert len(inside) == 1, [p.timestamp for p in pages]
    assert inside[0].details["last_at"] > data.series.start[HOLE.stop].isoformat()


def test_a_hole_the_series_usually_has_is_quiet_time() -> None:
    """A sensor reporting one bin in four (runs of 3 unseen bins all day) is sampled so: its
    incidents 10 h apart are two, where counting only reported bins as quiet (2.5 h of them)
    merged them. In a series that reports every bin, an 8 h run is an outage: one incident."""
    t0 = START + timedelta(days=2)
    episodes = [_det(t0, "warning", bins=1), _det(t0 + timedelta(hours=10), "warning")]
    bins = [START + timedelta(minutes=5 * i) for i in range(4 * PER_DAY)]
    sampled = [b for i, b in enumerate(bins) if i % 4 and b not in (t0, episodes[1].timestamp)]
    assert len(PagingPolicy().pages(episodes, 300, unseen=sampled)) == 2
    outage = [b for b in bins if t0 + timedelta(hours=1) <= b < t0 + timedelta(hours=9)]
    assert len(PagingPolicy().pages(episodes, 300, unseen=outage)) == 1
    # the same outage, but the day before the incident had one as long: how it is sampled
    nightly = [b - timedelta(hours=20) for b in outage] + outage
    assert len(PagingPolicy().pages(episodes, 300, unseen=nightly)) == 2


def test_an_outage_beside_one_low_row_of_a_busy_series_is_not_read_as_zeros(
    tmp_path: Path,
) -> None:
    """A busy brand (40 mentions a bin at its evening peak) with one row of 2 in the small hours,
    then 8 h with no row: before, the row of 2 made the 8 h read as zeros (an 8 h fall, then a
    recovery from nothing). A series that stays low for hours leaves such runs out."""
    rng = np.random.default_rng(3)
    counts = np.maximum(rng.poisson(40 * daily_profile(8)), 4)
    hole = 5 * PER_DAY + 8 * 12
    counts[hole - 1] = 2
    keep = np.ones(len(counts), dtype=bool)
    keep[hole : hole + 8 * 12] = False
    data = read_csv(_write(tmp_path / "busy.csv", counts.tolist(), keep))
    assert (data.gaps_zero, data.gaps_carried) == (0, 8 * 12)
    assert data.series.total[hole : hole + 8 * 12] == [2] * (8 * 12)
    assert data.series.unseen[0] == data.series.start[hole]
    # a quiet brand whose nights are rows of 1-3 for 10 h: 8 h with no row there is 8 h of 0
    night = (np.arange(len(counts)) % PER_DAY) < 10 * 12
    counts[night] = rng.integers(1, 4, int(night.sum()))
    data = read_csv(_write(tmp_path / "quiet.csv", counts.tolist(), keep))
    assert (data.gaps_zero, data.gaps_carried) == (8 * 12, 0)
    assert data.series.unseen == []  # left-out empty bins are seen quiet


def test_pages_stay_causal_with_holes_in_the_data() -> None:
    """As ``test_appending_future_data_never_changes_past_pages``, over the crisis across a hole
    and over generated series with the same outage and a day sampled one bin in three."""
    counts, keep = _crisis_across_a_hole(1)
    series = [CountSeries.from_values(START, counts)]
    series += [_volume(seed, 10) for seed in (20_001, 20_002)]
    detectors = default_detectors()
    checked = 0
    for full in series:
        filled = ~np.resize(keep, len(full))
        filled[4 * PER_DAY : 5 * PER_DAY] = np.arange(PER_DAY) % 3 > 0
        total = list(full.total)
        for i in np.flatnonzero(filled):
            total[i] = total[i - 1]  # carried, as read_csv does
        full = CountSeries(full.start, total, total, 300, full.key, filled.tolist())
        pages = [(d.timestamp, d.severity, d.reason) for d in detect_all(detectors, full)]
        checked += len(pages)
        for cut in (4 * PER_DAY + 200, HOLE.start + 40, HOLE.stop + 1, HOLE.stop + 30):
            head = full.head(cut)
            before = [(d.timestamp, d.severity, d.reason) for d in detect_all(detectors, head)]
            assert before == [p for p in pages if p[0] < full.start[cut]]
    assert checked >= 2  # the crisis, and what the generated series page
