"""Bins no row reports (issue 20, "late data is not a drop"): an outage of the export is not an
all-clear that closes an incident, and a long outage of a busy series is not read as zeros."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from koubei.analysis.detectors import CountSeries, default_detectors, detect_all, read_csv
from koubei.analysis.detectors.baseline import calendar, seasonal_baseline
from koubei.analysis.detectors.gaps import outage_bins, outage_runs
from koubei.analysis.detectors.negative_volume import NegativeVolume
from koubei.analysis.detectors.paging import PagingPolicy
from tests.analysis.detectors.conftest import PER_DAY, START, daily_profile
from tests.analysis.detectors.test_paging import _det, _volume


def _write(path: Path, counts: list[int] | list[float], keep: np.ndarray) -> Path:
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


def _outages(series: CountSeries, unseen: list[datetime]) -> list[tuple[datetime, datetime]]:
    """The outages of ``series`` (:attr:`CountSeries.outages`) were ``unseen`` bins not reported."""
    gone = set(unseen)
    filled = [start in gone for start in series.start]
    return dataclasses.replace(series, filled=filled).outages


def test_a_hole_the_series_usually_has_is_quiet_time() -> None:
    """A sensor reporting one bin in four (runs of 3 unseen bins all day) is sampled so: its
    incidents 10 h apart are two, where counting only reported bins as quiet (2.5 h of them)
    merged them. In a series that reports every bin, an 8 h run is an outage: one incident.
    (At 6 h of quiet: the default, 12 h, would join incidents 10 h apart anyway.)"""
    t0 = START + timedelta(days=2)
    policy = PagingPolicy(quiet_seconds=6 * 3600)
    episodes = [_det(t0, "warning", bins=1), _det(t0 + timedelta(hours=10), "warning")]
    day = CountSeries.from_values(START, [0] * 4 * PER_DAY)
    bins = day.start
    sampled = [b for i, b in enumerate(bins) if i % 4 and b not in (t0, episodes[1].timestamp)]
    assert len(policy.pages(episodes, 300, outages=_outages(day, sampled))) == 2
    outage = [b for b in bins if t0 + timedelta(hours=1) <= b < t0 + timedelta(hours=9)]
    assert _outages(day, outage) == [(t0 + timedelta(hours=1), t0 + timedelta(hours=9))]
    assert len(policy.pages(episodes, 300, outages=_outages(day, outage))) == 1
    # the same outage, but the day before it had one as long: how the series is sampled
    nightly = [b - timedelta(hours=20) for b in outage] + outage
    assert len(policy.pages(episodes, 300, outages=_outages(day, nightly))) == 2


def test_an_outage_is_read_against_the_day_before_it_not_before_the_incident() -> None:
    """The paging policy reads an outage as the baseline does (one rule, .gaps.outage_runs):
    a crisis firing for 20 h opens 2 h after the series' export stopped for 10 h; 23 h after the
    onset the export stops for 8 h, then the crisis fires again. The day before the 8 h had every
    bin reported, so they are an outage, not quiet time: one incident. Read against the day
    before the onset (the 10 h run, paging's own rule before), they were quiet: two pages."""
    t0 = START + timedelta(days=2)
    day = CountSeries.from_values(START, [0] * 4 * PER_DAY)
    before = [b for b in day.start if t0 - timedelta(hours=12) <= b < t0 - timedelta(hours=2)]
    lost = t0 + timedelta(hours=23), t0 + timedelta(hours=31)
    during = [b for b in day.start if lost[0] <= b < lost[1]]
    outages = _outages(day, before + during)
    assert outages[-1] == lost
    episodes = [_det(t0, "warning", bins=20 * 12), _det(lost[1] + timedelta(hours=1), "warning")]
    assert len(PagingPolicy().pages(episodes, 300, outages=outages)) == 1
    # the same 8 h with a run as long in the day before them: how the series is sampled
    usual = [b - timedelta(hours=12) for b in during]
    assert len(PagingPolicy().pages(episodes, 300, outages=_outages(day, usual + during))) == 2


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


#: a busy brand's export stops for 8 h from these hours of its sixth day (a Saturday)
OUTAGE_HOURS = (8, 12, 20)


def _busy_with_an_outage(seed: int, hour: int) -> tuple[list[int], np.ndarray]:
    """A busy brand's mentions (40 a bin at the evening peak, Poisson), no crisis, and which
    bins have a row (none for 8 h from ``hour`` on day 5)."""
    counts = np.random.default_rng(seed).poisson(40 * daily_profile(8))
    keep = np.ones(len(counts), dtype=bool)
    keep[5 * PER_DAY + hour * 12 : 5 * PER_DAY + (hour + 8) * 12] = False
    return counts.tolist(), keep


def test_the_recovery_from_an_outage_is_not_a_spike(tmp_path: Path) -> None:
    """Before, the baselines learnt the carried row as 8 h of data: the 12 h level sank to it
    (or rose, carrying the evening peak into the night) and the hourly sum over it counted it,
    so the recovery paged 12 times over these 24 series (08:00 once, 12:00 four times, 20:00
    seven). An outage is missing to the baseline now; a crisis after it still pages."""
    detectors = default_detectors()
    for hour in OUTAGE_HOURS:
        for seed in range(8):
            data = read_csv(_write(tmp_path / "busy.csv", *_busy_with_an_outage(seed, hour)))
            assert data.gaps_carried == 8 * 12
            pages = detect_all(detectors, data.series)
            assert pages == [], (hour, seed, [p.timestamp for p in pages])
    counts, keep = _busy_with_an_outage(0, 8)
    crisis = slice(5 * PER_DAY + 18 * 12, 5 * PER_DAY + 24 * 12)  # two hours after the data is back
    six_times = np.random.default_rng(1).poisson(6 * 40 * daily_profile(8)[crisis])
    counts[crisis] = six_times.tolist()
    data = read_csv(_write(tmp_path / "crisis.csv", counts, keep))
    pages = [p.timestamp for p in detect_all(detectors, data.series)]
    onset = data.series.start[crisis.start]
    assert len(pages) == 1 and onset <= pages[0] <= onset + timedelta(minutes=30), pages


def test_an_outage_is_a_run_of_unseen_bins_longer_than_the_day_before_had() -> None:
    """A day sampled one bin in three (runs of 2) is how the series is sampled; an 8 h run
    after it is an outage, and so is the first run of a series that reports every bin."""
    unseen = np.zeros(3 * PER_DAY, dtype=bool)
    unseen[10:13] = True
    unseen[PER_DAY : 2 * PER_DAY] = np.arange(PER_DAY) % 3 > 0
    unseen[2 * PER_DAY + 24 : 2 * PER_DAY + 120] = True
    outage = outage_bins(outage_runs(unseen, PER_DAY), len(unseen))
    assert np.flatnonzero(outage).tolist() == [
        10,
        11,
        12,
        *range(2 * PER_DAY + 24, 2 * PER_DAY + 120),
    ]


def test_the_baseline_skips_an_outage_causally_and_keeps_known_empty_bins() -> None:
    """The expected counts and z at every bin use the bins before it only, with the outage
    missing; an empty bin an export left out (known_empty: a real 0) stays data."""
    counts, keep = _busy_with_an_outage(2, 12)
    x = np.array(counts, dtype=float)[None, :]
    missing = ~keep[None, :]
    cal = calendar(START, x.shape[1], 300)
    full = seasonal_baseline(x, 300, cal=cal, missing=missing)
    assert np.all(full.zscore[missing] == 0.0)
    for cut in (5 * PER_DAY + 12 * 12 + 5, 5 * PER_DAY + 20 * 12, 5 * PER_DAY + 20 * 12 + 3):
        head = seasonal_baseline(
            x[:, :cut], 300, cal=calendar(START, cut, 300), missing=missing[:, :cut]
        )
        assert np.array_equal(head.expected, full.expected[:, :cut], equal_nan=True), cut
        assert np.array_equal(head.zscore, full.zscore[:, :cut]), cut
    # the same zeros read as bins an export left out, or as rows of 0: one baseline
    zeros = [0 if not k else v for v, k in zip(counts, keep, strict=True)]
    rows = CountSeries.from_values(START, zeros)
    left_out = CountSeries(rows.start, zeros, zeros, 300, "", (~keep).tolist(), (~keep).tolist())
    surge = NegativeVolume("mention-surge", {"window": "1h", "recent_window": "12h"})
    expected = [surge.fire_series(s).expected for s in (left_out, rows)]
    assert np.array_equal(*expected, equal_nan=True)


def test_pages_stay_causal_with_holes_in_the_data() -> None:
    """As ``test_appending_future_data_never_changes_past_pages``, over the crisis across a hole,
    a busy brand with a crisis after it, and generated series, each with the same outage (missing
    to the baselines) and a day sampled one bin in three (its first run of 2 is an outage too:
    the day before had none; the next ones are how it is sampled)."""
    counts, keep = _crisis_across_a_hole(1)
    series = [CountSeries.from_values(START, counts)]
    busy = np.array(_busy_with_an_outage(4, 12)[0])
    busy[HOLE.stop + 24 : HOLE.stop + 96] *= 6  # a crisis two hours after the data is back
    series += [CountSeries.from_values(START, busy.tolist())]
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
        for cut in (
            4 * PER_DAY + 200,
            HOLE.start + 40,
            HOLE.stop + 1,
            HOLE.stop + 30,
            HOLE.stop + 40,
        ):
            head = full.head(cut)
            before = [(d.timestamp, d.severity, d.reason) for d in detect_all(detectors, head)]
            assert before == [p for p in pages if p[0] < full.start[cut]]
    assert checked >= 2  # the crisis, and what the generated series page


def test_an_outage_across_a_dst_change_is_one_run() -> None:
    """A run of unseen bins across a spring DST change (Berlin: 01:55 CET, then 03:00 CEST) is
    one run of 4 h, longer than the 3 h the day before had: an outage, one incident. In the
    zone's wall clock it was two runs of 2 h, neither longer than the usual, and the crisis
    paged twice."""
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    day = CountSeries.from_values(datetime(2026, 3, 28, 12, tzinfo=berlin), [0] * 24 * 12, 300)
    t0 = datetime(2026, 3, 28, 20, tzinfo=berlin)
    usual = [b for b in day.start if t0 - timedelta(hours=7) <= b < t0 - timedelta(hours=4)]
    lost = datetime(2026, 3, 29, 0, tzinfo=berlin), datetime(2026, 3, 29, 5, tzinfo=berlin)
    outage = [b for b in day.start if lost[0] <= b < lost[1]]
    assert len(outage) == 4 * 12  # bins stepped in UTC: 4 h, 02:00-02:55 never exists
    back = datetime(2026, 3, 29, 6, tzinfo=berlin)  # firing again 1 h after the data is back
    episodes = [_det(t0, "warning", bins=1), _det(back, "warning")]
    [*_, lost_run] = _outages(day, usual + outage)
    assert lost_run == (lost[0].astimezone(UTC), lost[1].astimezone(UTC))  # one run of 4 h
    assert len(PagingPolicy().pages(episodes, 300, outages=_outages(day, usual + outage))) == 1


def test_rows_to_come_do_not_change_how_a_run_without_rows_is_read(tmp_path: Path) -> None:
    """Whether a run beside one low row is zeros or an outage is decided by the rows up to its
    end: the low spell of an hour 16 h later turned the run (carried, an outage, while the file
    was read so far) into zeros, and changed the series, and so the pages, before that hour."""
    counts = [40] * 400
    counts[100] = 2  # one low row, then no row for 6 bins, busy after
    keep = np.ones(400, dtype=bool)
    keep[101:107] = False
    so_far = read_csv(_write(tmp_path / "so_far.csv", counts[:300], keep[:300])).series
    counts[300:312] = [2] * 12  # later: rows of 2 for an hour
    full = read_csv(_write(tmp_path / "full.csv", counts, keep)).series
    assert so_far.total[100:108] == [2] * 7 + [40]  # carried: an outage, not 30 min of nothing
    assert full.total[:300] == so_far.total
    assert full.unseen == so_far.unseen


def test_a_growing_file_reads_each_bin_as_it_was_read_when_it_ended(tmp_path: Path) -> None:
    """A quiet brand's export that leaves its empty bins out, then writes a 0 and a fraction
    (it writes its zeros after all, or was rescaled): before, the rows to come decided every
    run of the file, so the runs read as zeros (and the pages sent on them) turned into carried
    bins once the 0 arrived. Each bin is now read as the file up to the row ending its run
    says, and the runs from the first 0 or fraction on are carried."""
    rng = np.random.default_rng(7)
    counts = rng.integers(1, 4, 2 * PER_DAY).astype(float)
    keep = rng.random(len(counts)) > 0.3
    keep[[0, -1]] = True
    first_zero = PER_DAY + 40
    counts[first_zero], counts[first_zero + 30] = 0, 2.5
    keep[[first_zero, first_zero + 30]] = True
    values = [int(v) if v == int(v) else v for v in counts]
    path = _write(tmp_path / "growing.csv", values, keep)
    lines = path.read_text("utf-8").splitlines()
    whole = read_csv(path).series
    read_as = list(zip(whole.total, whole.filled, whole.known_empty, strict=True))
    assert whole.known_empty[:first_zero].count(True) > 50  # left-out bins before the 0: zeros
    assert not any(whole.known_empty[first_zero:])  # and after it carried
    for rows in range(3, len(lines), 7):  # the file as an export had written it so far
        part = tmp_path / "part.csv"
        part.write_text("\n".join(lines[:rows]) + "\n", "utf-8")
        series = read_csv(part).series
        got = list(zip(series.total, series.filled, series.known_empty, strict=True))
        assert got == read_as[: len(got)], f"first {rows - 1} rows"


def test_an_outage_longer_than_the_cap_closes_the_incident_before_it() -> None:
    """An outage holds an incident open for at most ``outage_cap`` (a day): a crisis firing 2 h
    after an export that stopped for three days is a new incident with its own page. Before
    (no cap) it joined the incident of three days earlier and paged nobody. An outage within
    the cap still holds the incident open, and ``outage_cap: 0s`` counts every outage as quiet."""
    t0 = START + timedelta(days=2)
    series = CountSeries.from_values(START, [0] * 7 * PER_DAY)
    for hours, cap, pages in [(72, 86400, 2), (20, 86400, 1), (20, 0, 2), (72, 4 * 86400, 1)]:
        lost = t0 + timedelta(hours=1), t0 + timedelta(hours=1 + hours)
        outage = [b for b in series.start if lost[0] <= b < lost[1]]
        outages = _outages(series, outage)
        assert outages == [lost]
        episodes = [_det(t0, "warning", bins=1), _det(lost[1] + timedelta(hours=2), "warning")]
        policy = PagingPolicy(outage_cap_seconds=cap)
        assert len(policy.pages(episodes, 300, outages=outages)) == pages, (hours, cap)


def test_a_crisis_after_a_three_day_outage_pages_again(tmp_path: Path) -> None:
    """Crisis A (Sunday 10:00-14:00), the export stops at 16:00 for three days, crisis B starts
    an hour after it is back. Before the cap, the outage's 72 h were not quiet: B's firing came
    3 h of quiet after A's and joined A's incident, so B paged nobody."""
    rates = 40 * daily_profile(14)
    crisis_a = 6 * PER_DAY + 10 * 12
    rates[crisis_a : crisis_a + 4 * 12] *= 6
    hole = slice(crisis_a + 6 * 12, crisis_a + 6 * 12 + 72 * 12)
    crisis_b = hole.stop + 12
    rates[crisis_b : crisis_b + 4 * 12] *= 6
    keep = np.ones(len(rates), dtype=bool)
    keep[hole] = False
    counts = np.random.default_rng(0).poisson(rates).tolist()
    data = read_csv(_write(tmp_path / "brand.csv", counts, keep))
    assert len(data.series.outages) == 1
    pages = detect_all(default_detectors(), data.series)
    b_start = data.series.start[crisis_b]
    assert [p.timestamp < b_start for p in pages] == [True, False], [p.timestamp for p in pages]
    assert pages[1].timestamp < b_start + timedelta(hours=4)  # inside B
