"""The labelled series generator and the evaluator's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from koubei.analysis.detectors.evaluate import (
    Evaluation,
    PageScore,
    chance_catches,
    evaluate,
    score_onsets,
)
from koubei.analysis.detectors.negative_volume import NegativeVolume
from koubei.analysis.detectors.synthetic import (
    WARMUP_DAYS,
    Incident,
    LabelledSeries,
    Nuisance,
    generate,
    generate_many,
)
from koubei.analysis.detectors.window_ratio import WindowRatio
from tests.analysis.detectors.conftest import PER_DAY, poisson_series


def test_generator_is_seeded_labelled_and_realistic() -> None:
    a, b = generate(3, days=14), generate(3, days=14)
    assert a.series.negative == b.series.negative
    assert generate(4, days=14).series.negative != a.series.negative
    assert len(a.series) == 14 * PER_DAY
    assert all(t >= n for t, n in zip(a.series.total, a.series.negative, strict=True))
    assert a.incidents and all(WARMUP_DAYS * PER_DAY <= i.start < i.end for i in a.incidents)
    lifts = []  # crises lift negatives above the same hours a day before (holidays aside)
    for item in generate_many(10, seed=40, days=14):
        neg = np.asarray(item.series.negative)
        for incident in item.incidents:
            during = neg[incident.start : incident.end].sum()
            lifts.append(
                during / max(1, neg[incident.start - PER_DAY : incident.end - PER_DAY].sum())
            )
    assert np.median(lifts) > 1.5
    hours = np.arange(len(a.series)) % PER_DAY // 12
    total = np.asarray(a.series.total)
    assert total[hours == 21].mean() > 2 * total[hours == 4].mean()  # a daily rhythm
    kinds = {n.kind for s in generate_many(20, seed=100, days=14) for n in s.nuisances}
    assert kinds == {"holiday", "level_shift", "attention_burst", "zero_run"}
    smooth = {
        n.kind for s in generate_many(20, seed=100, days=14, realistic=False) for n in s.nuisances
    }
    assert smooth == {"holiday", "level_shift"}


def test_score_onsets_counts_hits_delays_and_false_alerts_by_cause() -> None:
    series = poisson_series(np.full(10 * PER_DAY, 5.0))
    day = WARMUP_DAYS * PER_DAY
    labelled = LabelledSeries(
        series,
        [Incident(day + 100, day + 130, "spike", 5.0), Incident(day + 500, day + 520, "ramp", 3)],
        [Nuisance("holiday", day + PER_DAY, day + 2 * PER_DAY)],
    )
    result = Evaluation()
    onsets = [10, day + 103, day + 135, day + 200, day + PER_DAY + 5]
    score_onsets(onsets, labelled, result)
    assert (result.incidents, result.detected) == (2, 1)
    assert result.delays_minutes == [15.0]
    assert result.false_alerts == 2  # day+135 is within the grace after the incident
    assert dict(result.false_by_cause) == {"noise": 1, "holiday": 1}
    assert result.monitored_days == 10 - WARMUP_DAYS
    assert result.false_per_30d == 30 * 2 / 6
    assert result.summary()["recall_by_shape"] == {"ramp": 0.0, "spike": 1.0}


def test_detector_beats_the_window_ratio_rule_on_generated_series() -> None:
    data = generate_many(8, seed=500, days=21)
    ours = evaluate(NegativeVolume(), data)
    rule = evaluate(WindowRatio(), data)
    assert ours.incidents == rule.incidents > 0
    assert ours.recall >= rule.recall
    assert ours.false_per_30d <= rule.false_per_30d / 2


def test_realistic_noise_has_heavier_tails_than_the_smooth_model() -> None:
    def tail(realistic: bool) -> float:
        """Median over series of the 99.9th percentile of log(hour / same hour a day before)."""
        extremes = []
        for seed in range(200, 208):
            item = generate(seed, days=10, crises=0, nuisances=False, realistic=realistic)
            hourly = np.convolve(np.asarray(item.series.total, float), np.ones(12), "valid")
            change = np.log((hourly[PER_DAY:] + 1) / (hourly[:-PER_DAY] + 1))
            extremes.append(np.quantile(change, 0.999))
        return float(np.median(extremes))

    assert tail(True) > 2 * tail(False)  # bursts, outliers and zero runs, yet no crisis


def test_page_score_merges_alerts_within_an_hour_into_one_page() -> None:
    score = PageScore()
    # windows [100, 200) and [1000, 1100); alerts: a hit, a false page of three alerts within
    # an hour of each other, a separate false page two hours later
    score.add([150, 500, 505, 515, 540], [(100, 200), (1000, 1100)], 2880, 300)
    assert (score.caught, score.incidents, score.false_pages) == (1, 2, 2)
    assert score.delays_minutes == [250.0]
    assert score.false_per_30d == 6.0  # 2 false pages in 10 days


def test_false_pages_are_counted_by_the_kind_of_their_first_alert() -> None:
    score = PageScore()
    kinds = {150: "surge", 500: "jump", 505: "surge", 515: "surge", 900: "surge"}
    score.add(sorted(kinds), [(100, 200)], 2880, 300, kinds=kinds)
    # 150 is in the window (no page counted); 500-515 is one page, first a jump; 900 its own
    assert score.false_pages == 2 and score.false_by_kind == {"jump": 1, "surge": 1}


def test_chance_catches_keep_the_pages_and_take_away_their_timing() -> None:
    window = [(0, 100)]  # a tenth of a 1,000-bin series
    # ten pages spread evenly: wherever they are moved, one of them lands in the window
    assert chance_catches(list(range(50, 1000, 100)), window, 1000, 200) == 1.0
    # the same ten pages in one burst land there about a tenth of the time, like one page
    burst = chance_catches(list(range(500, 510)), window, 1000, 400)
    assert 0.05 < burst < 0.2
    assert chance_catches([500], window, 1000, 400) == pytest.approx(0.1, abs=0.05)
    # a detector that pages all the time catches every window by chance: the bench subtracts it
    score = PageScore(chance_shifts=50)
    score.add(list(range(0, 2880, 24)), [(100, 400), (2000, 2300)], 2880, 300)
    assert score.caught == 2 and score.summary()["caught_by_chance"] == 2.0
