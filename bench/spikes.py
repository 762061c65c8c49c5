"""Spike detection scored as pages, on generated and real series, and vectorised throughput.

``python -m bench spikes [--quick]`` (``--variants``: only the variants table, see 3.;
``--false-pages``: koubei's false pages by the kind of their first alert, then every page and
the ``critical`` alerts alone for each of ``CRITICAL_VARIANTS``)

1. **Pages** (:class:`koubei.analysis.detectors.evaluate.PageScore`: alerts < 1 h apart are one
   page; incidents caught and how many of them the same pages would catch at random times,
   false pages per 30 days, delay) for koubei's defaults, the
   window-ratio rule (ElastAlert ``spike``; also under koubei's paging policy) and a library
   detector (robust STL from statsmodels + MAD, :mod:`koubei.analysis.detectors.stl_mad`), in one
   run, on (a) generated series from the held-out seeds (:data:`HELD_OUT_SEEDS`; tuning uses
   ``TUNING_SEEDS``) with the realistic noise model, and (b) every series of
   ``anomaly-series/`` (``$KOUBEI_ANOMALY_SERIES``, default ``../shared/data/anomaly-series``)
   with its labelled windows.
2. **Throughput**: the default detectors over 1,000 brands × 30 days of 5-minute bins as one
   matrix, against the window-ratio rule's time on the same matrix.
3. **Variants** (``--variants``): koubei's defaults with some options changed
   (:data:`VARIANTS`), scored on the *tuning* seeds (1000-1099) and anomaly-series, where
   settings are chosen; ``--held-out`` adds the held-out seeds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from koubei.analysis.detectors import (
    REGISTRY,
    CountSeries,
    Detector,
    build_detectors,
    default_config,
    default_detectors,
    detect_all,
    read_csv,
)
from koubei.analysis.detectors.evaluate import PageScore
from koubei.analysis.detectors.paging import PagingPolicy
from koubei.analysis.detectors.synthetic import HELD_OUT_SEEDS, START, TUNING_SEEDS, generate_many
from koubei.timeutil import aware

TEST_SEED = HELD_OUT_SEEDS.start
DEFAULT_ANOMALY_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/anomaly-series"


@dataclass
class Labelled:
    name: str
    series: CountSeries
    windows: list[tuple[int, int]]  # incident windows [start, end) in bins
    grace_bins: int = 0  # an alert this soon after a window ends is late, not false


#: random offsets per series for "caught by chance" (:class:`PageScore`)
CHANCE_SHIFTS = 200

#: Every episode is sent: how the baselines ship (their own 1 h cooldown, no incident policy).
EVERY_EPISODE = PagingPolicy(quiet_seconds=0, escalate=False, page_severity="info")


BOTH_VIEWS = ("mention-surge", "mention-jump")


def variant(changes: dict[str, dict[str, Any]]) -> Callable[[], list[Detector]]:
    """koubei's defaults with ``changes`` (detector name → options) applied."""

    def make() -> list[Detector]:
        config = default_config()
        for detector in config.detectors:
            detector.options.update(changes.get(detector.name, {}))
        return build_detectors(config)

    return make


def on_both(options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: options for name in BOTH_VIEWS}


#: The settings around the defaults that BENCHMARKS.md ("Spike detection") reports.
VARIANTS: dict[str, dict[str, dict[str, Any]]] = {
    "defaults": {},
    "before session 5: warm-up 1 day, no usual-peak floor": on_both(
        {"warmup": "1d", "peak_ratio": 0.0}
    ),
    "warm-up 2 days, no usual-peak floor": on_both({"warmup": "2d", "peak_ratio": 0.0}),
    "no usual-peak floor": on_both({"peak_ratio": 0.0}),
    "floor 0.6x on the surge": {"mention-surge": {"peak_ratio": 0.6}},
    "floor 1x on the surge": {"mention-surge": {"peak_ratio": 1.0}},
    "floor 0.8x on both views": {"mention-jump": {"peak_ratio": 0.8}},
    "own bar on mention-jump, 30 days": {"mention-jump": {"return_days": 30.0}},
    "own bar on both views, 7 days": on_both({"return_days": 7.0}),
    "own bar on both views, 30 days": on_both({"return_days": 30.0}),
    "own bar on both views, 60 days": on_both({"return_days": 60.0}),
    "own bar: mention-jump 30 days, mention-surge 90 days": {
        "mention-jump": {"return_days": 30.0},
        "mention-surge": {"return_days": 90.0},
    },
    "no mention-jump": {"mention-jump": {"z_threshold": 1e9, "z_sustained": 1e9}},
    # session 24 (17 for the idea): the jump holds for two 5-minute bins at z 8 (defaults);
    # before, one bin at z 12. Its neighbours, looked at when choosing:
    "before session 24: mention-jump one bin at z 12": {
        "mention-jump": {"z_threshold": 12.0, "z_sustained": 12.0}
    },
    "mention-jump held two bins, z 7": {"mention-jump": {"z_sustained": 7.0}},
    "mention-jump held two bins, z 10": {"mention-jump": {"z_sustained": 10.0}},
    "mention-jump held two bins, z 12": {"mention-jump": {"z_sustained": 12.0}},
    "mention-jump held two bins, z 8, or one bin at z 24": {"mention-jump": {"z_threshold": 24.0}},
}
own_bar_detectors = variant(on_both({"return_days": 30.0}))


#: name → (detectors, paging policy); ``None`` is koubei's default policy.
SYSTEMS: dict[str, tuple[Callable[[], list[Detector]], PagingPolicy | None]] = {
    "koubei (defaults of `spikes detect`)": (default_detectors, None),
    "koubei + own bar (`return_days: 30`, off by default)": (own_bar_detectors, None),
    "window_ratio rule (1h vs previous 1h, ×3)": (
        lambda: [REGISTRY["window_ratio"]()],
        EVERY_EPISODE,
    ),
    "window_ratio rule + koubei's paging policy": (lambda: [REGISTRY["window_ratio"]()], None),
    "stl_mad (statsmodels robust STL daily refit + 4 MAD)": (
        lambda: [REGISTRY["stl_mad"]()],
        EVERY_EPISODE,
    ),
}


def alert_bins(
    detectors: list[Detector], series: CountSeries, policy: PagingPolicy | None = None
) -> list[int]:
    """Bins at which ``detect_all`` (what `koubei spikes detect` prints) alerts."""
    index = {ts: i for i, ts in enumerate(series.start)}
    return [index[d.timestamp] for d in detect_all(detectors, series, policy)]


def generated(n_series: int, days: int, seed: int = TEST_SEED) -> list[Labelled]:
    """Held-out generated series as one plain count: the negative mentions (`spikes detect`)."""
    out = []
    for item in generate_many(n_series, seed=seed, days=days):
        s = item.series
        volume = CountSeries(s.start, s.negative, s.negative, s.interval_seconds, s.key)
        windows = [(i.start, i.end) for i in item.incidents]
        out.append(Labelled(f"gen{item.series.key}", volume, windows, grace_bins=12))
    return out


def anomaly_series(root: Path) -> list[Labelled]:
    """Every series of ``anomaly-series/`` with its labelled windows (see its README).

    Count series are read as they are; the others (CPU %, prices, latencies) are scaled so their
    median is 1,000 before rounding, the same input for every detector.
    """
    windows = json.loads((root / "windows.json").read_text())
    out = []
    for name in sorted(windows):
        path = root / name
        values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=1)
        integral = bool(np.all(values == np.round(values)) and np.all(values >= 0))
        median = float(np.median(np.abs(values[values != 0]))) if np.any(values) else 1.0
        scale = 1.0 if integral else 1000.0 / median
        data = read_csv(path, key=name, scale=scale)
        s = data.series
        t0 = s.start[0]
        spans = []
        for first, last in windows[name]:
            a = aware(datetime.fromisoformat(first))
            b = aware(datetime.fromisoformat(last))
            spans.append(
                (
                    int((a - t0).total_seconds() // s.interval_seconds),
                    int((b - t0).total_seconds() // s.interval_seconds) + 1,
                )
            )
        out.append(Labelled(name, s, spans))
    return out


def score(
    systems: dict[str, tuple[Callable[[], list[Detector]], PagingPolicy | None]],
    sets: list[Labelled],
) -> dict[str, Any]:
    results: dict[str, PageScore] = {}
    per_series: dict[str, dict[str, PageScore]] = {}
    for name, (make, policy) in systems.items():
        detectors = make()
        total = PageScore(chance_shifts=CHANCE_SHIFTS)
        for item in sets:
            alerts = alert_bins(detectors, item.series, policy)
            one = PageScore(chance_shifts=CHANCE_SHIFTS)
            for result in (total, one):
                result.add(
                    alerts,
                    item.windows,
                    len(item.series),
                    item.series.interval_seconds,
                    grace_bins=item.grace_bins,
                )
            per_series.setdefault(item.name, {})[name] = one
        results[name] = total
    return {"total": results, "per_series": per_series}


def _table(title: str, results: dict[str, PageScore]) -> None:
    print(title)
    print(
        "| detector | incidents caught | of them by chance | false pages | false pages / 30 d "
        "| delay median min |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        s = r.summary()
        print(
            f"| {name} | {s['caught']} / {s['incidents']} | {s['caught_by_chance']} | "
            f"{s['false_pages']} | {s['false_per_30d']:.2f} | {s['delay_median_min']:.0f} |"
        )
    print()


def synthetic_matrix(n_brands: int, days: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Fast vectorised counts (daily profile, per-brand levels) for the throughput run."""
    rng = np.random.default_rng(seed)
    n = days * 288
    hours = (np.arange(n) % 288) / 12.0
    profile = 0.2 + 0.8 * np.exp(-0.5 * (((hours - 20 + 12) % 24 - 12) / 4) ** 2)
    level = np.exp(rng.uniform(np.log(2), np.log(300), n_brands))[:, None]
    total = rng.poisson(level * profile[None, :]).astype(float)
    negative = rng.binomial(total.astype(np.int64), 0.15).astype(float)
    return total, negative


def throughput(n_brands: int, days: int) -> dict[str, float]:
    total, negative = synthetic_matrix(n_brands, days)
    # CPU time of this process next to wall time: the machine is shared, and wall time
    # there mostly measures the other jobs.
    cpu = time.process_time()
    REGISTRY["window_ratio"]().fire(total, negative, 300, START)
    rule_cpu = time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    fired = 0
    for detector in default_detectors():
        fired += int(detector.fire(total, negative, 300, START).fired.sum())
    ours_wall, ours_cpu = time.perf_counter() - started, time.process_time() - cpu
    bins = total.size
    return {
        "brands": n_brands,
        "days": days,
        "bins": bins,
        "wall_seconds": round(ours_wall, 2),
        "cpu_seconds": round(ours_cpu, 2),
        "bins_per_cpu_second": round(bins / ours_cpu),
        "window_ratio_cpu_seconds": round(rule_cpu, 3),
        "cpu_vs_window_ratio": round(ours_cpu / rule_cpu, 1),
        "firing_bins": fired,
    }


def variants_table(root: Path, held_out: bool) -> None:
    """Each of :data:`VARIANTS` on the tuning seeds and anomaly-series (and the held-out seeds)."""
    sets = {"tuning seeds 1000-1099": generated(100, 30, seed=TUNING_SEEDS.start)}
    if root.is_dir():
        sets["anomaly-series"] = anomaly_series(root)
    if held_out:
        sets[f"held-out seeds {TEST_SEED}-{TEST_SEED + 59}"] = generated(60, 30)
    systems: dict[str, tuple[Callable[[], list[Detector]], PagingPolicy | None]] = {
        name: (variant(changes), None) for name, changes in VARIANTS.items()
    }
    scored = {label: score(systems, items)["total"] for label, items in sets.items()}
    print(
        "| variant | "
        + " | ".join(f"{label}: caught (by chance), false pages" for label in sets)
        + " |"
    )
    print("|---|" + "---|" * len(sets))
    for name in VARIANTS:
        cells = []
        for results in scored.values():
            s = results[name].summary()
            cells.append(
                f"{s['caught']} / {s['incidents']} ({s['caught_by_chance']}), {s['false_pages']}"
            )
        print(f"| {name} | " + " | ".join(cells) + " |")


#: Session 18's change to what ``critical`` means, and the setting before it (same run).
CRITICAL_VARIANTS: dict[str, Callable[[], list[Detector]]] = {
    "defaults (a jump alone is at most a warning; a growing episode escalates)": (
        default_detectors
    ),
    "no escalation on growth (escalate_on_growth: false)": variant(
        on_both({"escalate_on_growth": False})
    ),
    "before session 18 (neither: critical_alone true, escalate_on_growth false)": variant(
        {
            "mention-jump": {"critical_alone": True, "escalate_on_growth": False},
            "mention-surge": {"escalate_on_growth": False},
        }
    ),
}


def false_pages_by_kind(sets: dict[str, list[Labelled]]) -> None:
    """koubei's false pages (defaults) on ``sets``, by the detector, severity and role (onset or
    escalation) of each page's first alert."""
    detectors = default_detectors()
    for label, items in sets.items():
        result = PageScore()
        for item in items:
            index = {ts: i for i, ts in enumerate(item.series.start)}
            kinds = {
                index[d.timestamp]: f"{d.detector} {d.severity} "
                + ("escalation" if "escalates" in d.details else "onset")
                for d in detect_all(detectors, item.series)
            }
            step = item.series.interval_seconds
            result.add(list(kinds), item.windows, len(item.series), step,
                       grace_bins=item.grace_bins, kinds=kinds)  # fmt: skip
        print(f"{label}: {result.false_pages} false pages")
        for kind, count in result.false_by_kind.most_common():
            print(f"  {kind}: {count}")


def critical_pages(sets: dict[str, list[Labelled]]) -> None:
    """For each of :data:`CRITICAL_VARIANTS` on ``sets``: every page, and the ``critical``
    alerts alone scored as pages (how right ``critical`` is)."""
    print("every page / critical alerts alone: caught (by chance), false pages")
    for name, make in CRITICAL_VARIANTS.items():
        detectors = make()
        cells = []
        for label, items in sets.items():
            every = PageScore(chance_shifts=CHANCE_SHIFTS)
            critical = PageScore(chance_shifts=CHANCE_SHIFTS)
            for item in items:
                index = {ts: i for i, ts in enumerate(item.series.start)}
                pages = detect_all(detectors, item.series)
                severe = [p for p in pages if p.severity == "critical"]
                for score, kept in ((every, pages), (critical, severe)):
                    score.add([index[p.timestamp] for p in kept], item.windows, len(item.series),
                              item.series.interval_seconds, grace_bins=item.grace_bins)  # fmt: skip
            e, c = every.summary(), critical.summary()
            cells.append(
                f"{label}: {e['caught']} / {e['incidents']} ({e['caught_by_chance']}), "
                f"{e['false_pages']} / {c['caught']} ({c['caught_by_chance']}), {c['false_pages']}"
            )
        print(f"{name}\n  " + "\n  ".join(cells))


def main(argv: list[str]) -> int:
    if "--false-pages" in argv:
        root = Path(os.environ.get("KOUBEI_ANOMALY_SERIES", DEFAULT_ANOMALY_DIR))
        sets = {"tuning seeds 1000-1099": generated(100, 30, seed=TUNING_SEEDS.start)}
        if root.is_dir():
            sets["anomaly-series"] = anomaly_series(root)
        false_pages_by_kind(sets)
        sets["held-out seeds 20000-20059"] = generated(60, 30, seed=HELD_OUT_SEEDS.start)
        print()
        critical_pages(sets)
        return 0
    if "--variants" in argv:
        root = Path(os.environ.get("KOUBEI_ANOMALY_SERIES", DEFAULT_ANOMALY_DIR))
        variants_table(root, held_out="--held-out" in argv)
        return 0
    quick = "--quick" in argv
    n_series, days = (16, 21) if quick else (60, 30)
    brands = 100 if quick else 1000
    root = Path(os.environ.get("KOUBEI_ANOMALY_SERIES", DEFAULT_ANOMALY_DIR))
    started = time.perf_counter()
    gen = score(SYSTEMS, generated(n_series, days))
    _table(
        f"generated, held-out seeds {TEST_SEED}..{TEST_SEED + n_series - 1} "
        f"({n_series} series × {days} days, plain volume):",
        gen["total"],
    )
    if root.is_dir():
        real = score(SYSTEMS, anomaly_series(root))
        _table(f"anomaly-series ({root}): every series", real["total"])
        print("per series (caught/incidents (by chance), false pages):")
        for series_name, by_system in real["per_series"].items():
            cells = ", ".join(
                f"{r.caught}/{r.incidents} ({r.chance:.1f}) {r.false_pages}fp"
                for r in by_system.values()
            )
            print(f"  {series_name}: {cells}")
        print()
    else:
        print(f"anomaly-series not found at {root} (set KOUBEI_ANOMALY_SERIES)")
    print(f"(accuracy took {time.perf_counter() - started:.0f} s)")
    print("throughput:", json.dumps(throughput(brands, 30)))
    return 0
