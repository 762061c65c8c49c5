"""Realistic labelled mention series for evaluating spike detectors.

Each series is a brand's total and negative mentions per bin with:

* a daily profile (night trough, lunch and evening peaks, jittered per brand), a weekend factor,
  slow multiplicative wander (AR(1) in log space) and over-dispersed (negative-binomial) noise;
* **nuisances that are not crises** — shopping holidays (a whole day of ×1.5-3 volume, same
  negative share) and level shifts (a new source or audience: a permanent step in all mentions);
* **the noise of real mention counts** (``realistic=True``, the default since issue 20: real
  series were ~40× noisier than the smooth model) — heavier tails (negative binomial with
  dispersion 3-30, single-bin outliers), self-exciting attention bursts that are not crises
  (:func:`_attention_bursts`), a daily cycle whose phase drifts, and runs of zero counts (a
  source outage reported as zero);
* **crises** — extra negative mentions (plus some neutral chatter) of different heights,
  durations and shapes: ``spike`` (fast rise, exponential decay), ``ramp`` (builds over hours)
  and ``plateau`` (a step up for a while). Label = ``[onset, end)`` in bins.

Everything is drawn from a seeded ``numpy.random.Generator``, so a seed is a fixed test set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from koubei.analysis.detectors.series_types import CountSeries
from koubei.timeutil import DEFAULT_TZ

DAY = 86400
START = datetime(2026, 3, 2, tzinfo=DEFAULT_TZ)  # a Monday
WARMUP_DAYS = 4  # no crisis is placed before this: detectors need history
#: the shortest series :func:`generate` makes: a crisis (up to 10 h) or a level shift (a day
#: before the end) must fit after the warm-up
MIN_DAYS = WARMUP_DAYS + 2
#: Seeds nobody tunes on: ``python -m bench spikes`` reports them. Tune on TUNING_SEEDS.
TUNING_SEEDS = range(1000, 1100)
HELD_OUT_SEEDS = range(20_000, 21_000)


@dataclass
class Incident:
    start: int  # first bin of the crisis
    end: int  # bin after its last
    shape: str
    height: float  # peak extra negatives as a multiple of the mean negative rate


@dataclass
class Nuisance:
    kind: str  # "holiday" | "level_shift" | "attention_burst" | "zero_run"
    start: int
    end: int


@dataclass
class LabelledSeries:
    series: CountSeries
    incidents: list[Incident] = field(default_factory=list)
    nuisances: list[Nuisance] = field(default_factory=list)


def _daily_profile(hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    trough = rng.uniform(0.05, 0.4)
    shift = rng.uniform(-1.0, 1.0)
    lunch, evening = rng.uniform(0.4, 1.0), 1.0

    def bump(centre: float, width: float) -> np.ndarray:
        d = (hours - centre - shift + 12) % 24 - 12
        return np.exp(-0.5 * (d / width) ** 2)

    shape = lunch * bump(12.5, 2.0) + evening * bump(21.0, 2.5) + 0.3 * bump(16.0, 4.0)
    return trough + (1 - trough) * shape / shape.max()


def _attention_bursts(
    rate: np.ndarray, share: np.ndarray, per_day: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, list[Nuisance]]:
    """Self-exciting bursts of attention that are not crises (a launch, news, a viral post).

    A Hawkes-like cluster process: bursts arrive at a random daily rate; each is a fast rise
    and an exponential decay of extra mentions, its peak a lognormal multiple of the mean rate
    (mostly small, now and then several times the usual volume), and each burst triggers
    follow-up bursts (branching ratio 0.2-0.6) within hours. The negative fraction of a burst
    varies: a launch is mostly positive, a controversy near the brand's usual share.
    Returns extra total and negative rates per bin, and one nuisance label per cluster.
    """
    n = len(rate)
    mean_rate = float(rate.mean())
    total, negative = np.zeros(n), np.zeros(n)
    labels: list[Nuisance] = []
    branching = rng.uniform(0.2, 0.6)
    starts = np.sort(rng.integers(0, n, rng.poisson(rng.uniform(0.3, 2.0) * n / per_day)))
    t = np.arange(n)
    for first in starts:
        queue = [(int(first), float(mean_rate * rng.lognormal(np.log(0.4), 1.0)))]
        end = int(first)
        neg_fraction = float(np.clip(np.mean(share) * rng.uniform(0.2, 1.5), 0.0, 1.0))
        while queue:
            at, size = queue.pop()
            tau = rng.uniform(20, 180) / 1440 * per_day  # decay time in bins
            rise = int(rng.integers(1, 4))
            after = t - at
            shape = np.where(after < 0, 0.0, np.where(after < rise, (after + 1) / rise, 1.0))
            shape = shape * np.exp(-np.maximum(after - rise, 0) / tau)
            total += size * shape
            negative += size * neg_fraction * shape
            end = max(end, int(at + rise + 3 * tau))
            for _ in range(rng.poisson(branching)):
                lag_bins = int(rng.exponential(per_day / 24))
                if at + lag_bins < n:
                    queue.append((at + lag_bins, size * rng.uniform(0.3, 1.0)))
        labels.append(Nuisance("attention_burst", int(first), min(n, end)))
    return total, negative, labels


def _crisis_shape(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Profile (peak 1) of a crisis over its ``n`` bins."""
    t = np.arange(n, dtype=float)
    if kind == "spike":
        rise = max(1, int(rng.integers(1, 4)))
        decay = n / 3.0
        return np.where(t < rise, (t + 1) / rise, np.exp(-(t - rise) / decay))
    if kind == "ramp":
        build = max(2, int(n * rng.uniform(0.4, 0.7)))
        return np.where(t < build, (t + 1) / build, np.exp(-(t - build) / max(1.0, n / 6.0)))
    return np.ones(n)  # plateau


def generate(
    seed: int,
    days: int = 30,
    interval_seconds: int = 300,
    *,
    crises: int | None = None,
    nuisances: bool = True,
    realistic: bool = True,
    key: str = "",
) -> LabelledSeries:
    """One labelled brand series of ``days`` days at ``interval_seconds`` bins.

    ``realistic`` adds the noise of real mention counts (:func:`_real_noise`); without it the
    series is the smooth model the first detectors were tuned on.
    """
    if days < MIN_DAYS:  # numpy's "low >= high" placing a crisis otherwise
        raise ValueError(f"days={days}: a series needs at least {MIN_DAYS} days")
    rng = np.random.default_rng(seed)
    n = days * DAY // interval_seconds
    per_day = DAY // interval_seconds
    t_sec = np.arange(n) * interval_seconds
    hours = (t_sec % DAY) / 3600.0
    weekday = (START.weekday() + t_sec // DAY) % 7

    peak = float(np.exp(rng.uniform(np.log(4), np.log(400))))  # total mentions per bin at peak
    if realistic:  # the daily cycle drifts: its phase wanders by about a quarter hour a day
        drift = np.cumsum(rng.normal(0.0, 0.25, days + 1))[t_sec // DAY]
        hours = (hours - drift) % 24
    rate = peak * _daily_profile(hours, rng)
    rate *= np.where(weekday >= 5, rng.uniform(0.7, 1.4), 1.0)
    wander = np.zeros(n)
    eps = rng.normal(0, 0.02, n)
    for i in range(1, n):  # slow AR(1) wander of the level in log space
        wander[i] = 0.995 * wander[i - 1] + eps[i]
    rate *= np.exp(wander)
    share = np.clip(rng.uniform(0.05, 0.3) * np.exp(0.3 * wander), 0.01, 0.9)

    labels: list[Nuisance] = []
    if nuisances:
        for _ in range(int(rng.integers(0, 3))):  # holidays: a whole day of higher volume
            day = int(rng.integers(WARMUP_DAYS, days))
            s, e = day * per_day, (day + 1) * per_day
            ramp = np.clip(np.minimum(np.arange(n) - s, e - np.arange(n)) / (per_day / 8), 0, 1)
            rate *= 1 + (rng.uniform(1.5, 3.0) - 1) * ramp
            labels.append(Nuisance("holiday", s, e))
        if rng.random() < 0.5:  # a level shift: a new source or audience, up or down
            at = int(rng.integers(WARMUP_DAYS * per_day, n - per_day))
            factor = rng.uniform(1.4, 2.5) if rng.random() < 0.7 else rng.uniform(0.4, 0.7)
            rate[at:] *= factor
            labels.append(Nuisance("level_shift", at, n))

    burst_total = burst_negative = np.zeros(n)
    if realistic:
        burst_total, burst_negative, found = _attention_bursts(rate, share, per_day, rng)
        labels.extend(found)
    negative_rate = rate * share
    extra = np.zeros(n)
    incidents: list[Incident] = []
    count = int(rng.integers(1, 4)) if crises is None else crises
    mean_negative = float(negative_rate.mean())
    for _ in range(count):
        kind = str(rng.choice(["spike", "ramp", "plateau"]))
        length = int(rng.uniform(0.5, 10.0) * 3600 // interval_seconds) + 1
        for _attempt in range(20):
            s = int(rng.integers(WARMUP_DAYS * per_day, n - length))
            if all(s > i.end + per_day // 2 or s + length < i.start for i in incidents):
                break
        height = float(np.exp(rng.uniform(np.log(1.5), np.log(15.0))))
        peak_extra = max(height * mean_negative, rng.uniform(6, 15) * interval_seconds / 300)
        extra[s : s + length] += peak_extra * _crisis_shape(kind, length, rng)
        incidents.append(Incident(s, s + length, kind, peak_extra / max(mean_negative, 1e-9)))
    incidents.sort(key=lambda i: i.start)

    def draw(mean: np.ndarray, dispersion: float) -> np.ndarray:
        # negative binomial as a gamma-Poisson mixture: variance = μ + μ²/dispersion
        lam = rng.gamma(dispersion, np.maximum(mean, 1e-9) / dispersion)
        return rng.poisson(lam)

    dispersion = rng.uniform(3, 30) if realistic else rng.uniform(10, 60)
    chatter = rng.uniform(0.1, 0.6)
    if realistic:  # single-bin outliers: a bot run, one repost storm (heavy upper tail)
        jolt = np.where(rng.random(n) < 0.002, rng.uniform(2.0, 6.0, n), 1.0)
        negative_rate, rate = negative_rate * jolt, rate * jolt
    negative = draw(negative_rate + burst_negative + extra, dispersion)
    others = draw(rate * (1 - share) + burst_total - burst_negative + extra * chatter, dispersion)
    if realistic and rng.random() < 0.4:  # a source outage reported as zero mentions
        for _ in range(int(rng.integers(1, 4))):
            length = int(rng.uniform(0.5, 6.0) * 3600 // interval_seconds)
            at = int(rng.integers(WARMUP_DAYS * per_day, n - length))
            negative[at : at + length] = 0
            others[at : at + length] = 0
            labels.append(Nuisance("zero_run", at, at + length + per_day // 24))
    total = negative + others
    step = timedelta(seconds=interval_seconds)
    series = CountSeries(
        [START + i * step for i in range(n)],
        [int(v) for v in total],
        [int(v) for v in negative],
        interval_seconds,
        key or f"brand{seed}",
    )
    return LabelledSeries(series, incidents, labels)


def generate_many(
    count: int, seed: int = 0, days: int = 30, **kwargs: object
) -> list[LabelledSeries]:
    """``count`` independent labelled series (seeds ``seed .. seed + count - 1``)."""
    return [generate(seed + i, days, **kwargs) for i in range(count)]  # type: ignore[arg-type]


def matrix(labelled: list[LabelledSeries]) -> tuple[np.ndarray, np.ndarray]:
    """Stack equally long series into (total, negative) matrices for a vectorised ``fire``."""
    total = np.array([ls.series.total for ls in labelled], dtype=float)
    negative = np.array([ls.series.negative for ls in labelled], dtype=float)
    return total, negative
