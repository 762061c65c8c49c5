"""Sentiment benchmark: accuracy and throughput of the shipped model against stock snownlp.

Every ratio is against ``SnowNLP(text).sentiments`` measured in the same run on the same texts.
Accuracy uses the held-out 20 % of the labelled corpus (``KOUBEI_REVIEWS_CSV``, default
``../shared/data/reviews_9cats.csv``; seeded split; never trained on). The default run also
reports, in the same run (``bench.sentiment_general``): speed with start-up included, the
social-text table with the no-opinion rate, and leave-one-category-out on all nine categories
with the farthest category (bigram distance) as a stand-in unseen domain. ``--quick`` runs on
small samples. ``--social`` prints only the social-text table (every row, the shipped model)
and how many labelled reviews the asking rule (``opinion.asks_without_judging``) reads;
``--domains`` only the blind food-delivery and hotel reviews (also in the default run).
``--loco-screen`` only the default run's all-nine leave-one-category-out, unadapted, as
``--quick`` runs it (``loco_all(rows, per_category=40)``: sessions 40-41 screened lexicon
variants by its mean of every row, about two minutes), per category and mean.

``--loco`` runs only the leave-one-category-out evaluation instead: for each of
``LOCO_CATEGORIES`` (or ``--categories=A,B``), train on the training split of the other eight
categories (all of it; ``--quick`` takes a seeded subsample) with the shipped model's settings
and score ``LOCO_TEST`` held-out rows of the left-out category with both the koubei model and
stock snownlp. ``--previous`` trains with the settings before the generalisation work instead
(trigrams, no category balancing, no consistency scaling) for comparison.

``--adapt`` measures adaptation to unlabelled text (``pipeline/sentiment/adaptation.py``):
leave-one-category-out on all nine categories (``--categories=A,B`` for some), every row of the
left-out category scored before and after adapting the fold's model to that category's texts.
With ``--monitored=A,B`` (names, e.g. ``蒙牛,伊利,光明``, the real brands of the dairy reviews)
or ``--monitored-config`` (every name of brands.yaml in ``$KOUBEI_CONFIG_DIR``, else the shipped
one) it also adapts with those names' features held (``adapt(..., monitored=...)``) and prints
that column and, per fold, the score of two neutral mentions of the first name
(``<name>很牛``, ``<name>的新品上市了``) by the unadapted, adapted and held models (not the
in-domain line).
The table's short-text column is each fold's accuracy on the short reviews (at most
``SHORT_TEXT`` characters) of the other eight categories, every row, before and after adapting:
adapting to a corpus of long texts should not throw short posts to an extreme.

``--adapt-cost`` measures what ``score``'s default adaptation costs against scoring alone:
in one process on ``--texts=N`` held-out texts (default all; best of ``--repeats=K``, default 4),
then start-up included and peak RSS of ``score`` and ``score --no-adapt`` on all held-out texts
against a stock snownlp script (about 3 minutes, most of it stock; ``--quick``: 1,000 texts).
``--startup``: only the start-up-included speed, on ``--texts=N`` held-out texts (default 2,000).

``--memory`` measures the peak RSS of ``score`` adapting against ``--no-adapt`` (fresh
interpreters, ``VmHWM``) on three files drawn from the labelled CSV shuffled with
``random.Random(7)``: the first ``LONG_TEXTS`` reviews of at least ``LONG_CHARS`` characters
(the size and length of a hotel-review set: adapting's memory grows with a file's length), the
first ``MAX_TEXTS`` reviews of every length, and ``MAX_TEXTS`` lines of those reviews joined in
turn, each of at least ``JOINED_CHARS`` characters (far over ``MAX_CHARACTERS``, so sampled;
about three minutes in all).

``--sample-cost`` measures what adapting on an even sample (a corpus over ``MAX_CHARACTERS``)
costs in accuracy: leave-one-category-out on ``SAMPLE_COST_CATEGORIES`` (``--categories=A,B``),
every row of the left-out category scored by the fold's model adapted on all of it and on even
samples of ``SAMPLE_FRACTIONS`` of its characters (about a minute).

``--lexicon`` measures what the lexicon features add: leave-one-category-out over all nine
categories (every row of the left-out category) and in-domain held-out accuracy, trained with
and without them on the same folds (two processes, one per variant; about 4 minutes).
"""

from __future__ import annotations

import functools
import multiprocessing
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.sentiment_general import (
    SCREEN_TEST,
    farthest_category,
    loco_all,
    print_asking_reviews,
    print_domain_table,
    print_loco,
    print_social_table,
    score_peaks,
    startup_runs,
    startup_speed,
)
from koubei import paths
from koubei.pipeline.sentiment import SentimentModel, load_model, training
from koubei.pipeline.sentiment.evaluation import (
    evaluate,
    leave_one_category_out,
    metrics,
    stock_snownlp_score,
)
from koubei.pipeline.sentiment.parallel import score_parallel
from koubei.pipeline.sentiment.training import Example

# Books (long, content-heavy), fruit and dairy (food, nearest to food delivery) and computers
# (long, service-heavy electronics reviews, nearest to hotel reviews in style).
LOCO_CATEGORIES = ("书籍", "水果", "蒙牛", "计算机")
PREVIOUS_SETTINGS = {"max_n": 3, "category_cap": None, "use_consistency": False}
LOCO_TEST = 400
# The longest category (books, 128 characters a review, as long as a hotel review), the farthest
# (dairy), a long service-heavy one and the smallest (water heaters: 573 rows).
SAMPLE_COST_CATEGORIES = ("书籍", "蒙牛", "计算机", "热水器")
SAMPLE_FRACTIONS = (1.0, 0.7, 0.45, 0.25)


def _load_and_rss() -> tuple[float, float]:
    code = (
        "import re, time; t = time.perf_counter()\n"
        "from koubei.pipeline.sentiment import load_model; m = load_model(); m.score('很好')\n"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print(time.perf_counter() - t, hwm)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, rss_kib = out.stdout.split()
    return float(seconds), int(rss_kib) / 1024


def _two_core_rate(texts: list[str]) -> float:
    score_parallel(texts[:1000], processes=2)  # warm the page cache and imports
    start = time.perf_counter()
    score_parallel(texts, processes=2)
    return len(texts) / (time.perf_counter() - start)


def _interleaved(
    model: SentimentModel, rows: list[Example], chunk: int = 25
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Stock and koubei on the same texts, alternating small chunks so both see the same load."""
    stock_scores: list[float] = []
    ours: list[float] = []
    stock_time = our_time = 0.0
    for i in range(0, len(rows), chunk):
        texts = [r.text for r in rows[i : i + chunk]]
        start = time.perf_counter()
        stock_scores += [stock_snownlp_score(t) for t in texts]
        middle = time.perf_counter()
        ours += [model.probability_aggregated(t) for t in texts]
        our_time += time.perf_counter() - middle
        stock_time += middle - start
    labels = [r.label for r in rows]
    return (
        metrics(stock_scores, labels, stock_time),
        metrics(ours, labels, our_time, model.neutral),
    )


def _row(name: str, result: dict, base: dict | None = None) -> str:
    ratio = f"{result['docs_per_second'] / base['docs_per_second']:.1f}×" if base else "1.0×"
    return (
        f"| {name} | {result['n']} | {result['accuracy']:.4f} | {result['positive']['f1']:.4f} | "
        f"{result['negative']['f1']:.4f} | {result['docs_per_second']:.0f} | {ratio} |"
    )


def run_loco(
    rows: list[Example], quick: bool, categories: tuple[str, ...], previous: bool = False
) -> None:
    """Print the leave-one-category-out table (koubei vs stock snownlp per category, mean)."""
    train_rows, held = training.split(rows)
    settings: dict[str, Any] = PREVIOUS_SETTINGS if previous else {}
    start = time.perf_counter()
    result = leave_one_category_out(
        train_rows,
        held,
        categories,
        lambda fold: training.train_model(fold, **settings),
        max_train=1_500 if quick else None,
        per_category=40 if quick else LOCO_TEST,
    )
    sizes = ", ".join(f"{c}: {e['train_n']}" for c, e in result["categories"].items())
    print(
        f"leave one category out ({'previous' if previous else 'current'} training settings): "
        f"train on the other categories' training rows ({sizes}), test on held-out rows of "
        f"the category ({time.perf_counter() - start:.0f} s)"
    )
    print(
        "| left-out category | texts | stock snownlp acc | koubei acc (category unseen) "
        "| all rows of category | koubei acc on all |"
    )
    print("|---|---|---|---|---|---|")
    for category, entry in result["categories"].items():
        print(
            f"| {category} | {entry['n']} | {entry['stock']:.4f} | {entry['koubei']:.4f} "
            f"| {entry['n_all']} | {entry['koubei_all']:.4f} |"
        )
    mean = result["mean"]
    print(f"| mean | | {mean['stock']:.4f} | {mean['koubei']:.4f} | | {mean['koubei_all']:.4f} |")


#: Reviews of at most this many characters are the short-text column of ``--adapt``.
SHORT_TEXT = 12
#: Neutral mentions of a brand, ``{}`` its name: adapting should leave their scores alone.
MENTIONS = ("{}很牛", "{}的新品上市了")


def _adapt_fold(category: str, monitored: tuple[str, ...] = ()) -> dict[str, Any]:
    """One leave-one-category-out fold, before and after adapting to the category's texts
    (and, with ``monitored`` names, adapting with their features held)."""
    from koubei.pipeline.sentiment.adaptation import adapt

    rows = training.load_labelled(paths.reviews_csv())
    train_rows, _held = training.split(rows)
    model = training.train_model([r for r in train_rows if r.category != category])
    every = [r for r in rows if r.category == category]
    start = time.process_time()
    adapted = adapt(model, [r.text for r in every])  # texts only: no label is read
    seconds = time.process_time() - start
    entry: dict[str, Any] = {"n": len(every), "true": sum(r.label for r in every) / len(every)}
    models = [("base", model), ("adapted", adapted)]
    if monitored:
        models.append(("held", adapt(model, [r.text for r in every], monitored)))
        entry["mentions"] = {
            mention.format(monitored[0]): [
                m.score(mention.format(monitored[0]))[0] for _, m in models
            ]
            for mention in MENTIONS
        }
    short = [r for r in rows if r.category != category and len(r.text) <= SHORT_TEXT]
    for name, m in models:
        scores = [m.score(r.text)[0] for r in every]
        right = sum((p >= 0.5) == (r.label == 1) for p, r in zip(scores, every, strict=True))
        entry[name] = right / len(every)
        entry[f"{name}_share"] = sum(p >= 0.5 for p in scores) / len(every)
        entry[f"{name}_short"] = sum((m.score(r.text)[0] >= 0.5) == (r.label == 1) for r in short)
        entry[f"{name}_short"] /= len(short)
    entry["seconds"] = seconds
    return entry


def run_adapt(categories: tuple[str, ...], monitored: tuple[str, ...] = ()) -> None:
    """Leave-one-category-out on every row of each category, before and after adaptation to
    that category's unlabelled texts (``pipeline/sentiment/adaptation.py``); two processes."""
    context = multiprocessing.get_context("fork")
    fold = functools.partial(_adapt_fold, monitored=monitored)
    with context.Pool(2) as pool:
        results = dict(zip(categories, pool.map(fold, categories), strict=True))
    print("leave one category out, every row of the left-out category; adapted to its texts")
    if monitored:
        _print_held(results, monitored)
        return
    print(
        "| left-out category | rows | true positive share | koubei | adapted | change (points) "
        "| called positive, koubei / adapted "
        f"| other categories' short reviews (≤ {SHORT_TEXT} chars), koubei / adapted "
        "| adapt CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for category, e in results.items():
        print(
            f"| {category} | {e['n']} | {e['true']:.2f} | {e['base']:.4f} | {e['adapted']:.4f} "
            f"| {100 * (e['adapted'] - e['base']):+.2f} | {e['base_share']:.2f} / "
            f"{e['adapted_share']:.2f} | {e['base_short']:.4f} / {e['adapted_short']:.4f} "
            f"| {e['seconds']:.1f} |"
        )
    means = {
        k: sum(e[k] for e in results.values()) / len(results)
        for k in ("base", "adapted", "base_short", "adapted_short")
    }
    base, adapted = means["base"], means["adapted"]
    print(
        f"| **mean** | | | {base:.4f} | {adapted:.4f} | {100 * (adapted - base):+.2f} | "
        f"| {means['base_short']:.4f} / {means['adapted_short']:.4f} | |"
    )
    e = _in_domain()
    print(
        f"in domain, the shipped model on the {e['n']} held-out reviews: {e['base']:.4f}, "
        f"adapted to them {e['adapted']:.4f} ({100 * (e['adapted'] - e['base']):+.2f} points)"
    )


def _print_held(results: dict[str, dict[str, Any]], monitored: tuple[str, ...]) -> None:
    """The ``--monitored`` table: adapted with and without the names' features held."""
    print(f"monitored names, their features held: {', '.join(monitored)}")
    print(
        "| left-out category | rows | koubei | adapted | adapted, names held "
        "| held against adapted (points) | called positive, adapted / held |"
    )
    print("|---|---|---|---|---|---|---|")
    for category, e in results.items():
        print(
            f"| {category} | {e['n']} | {e['base']:.4f} | {e['adapted']:.4f} | {e['held']:.4f} "
            f"| {100 * (e['held'] - e['adapted']):+.2f} | {e['adapted_share']:.2f} / "
            f"{e['held_share']:.2f} |"
        )
    means = {
        k: sum(e[k] for e in results.values()) / len(results) for k in ("base", "adapted", "held")
    }
    print(
        f"| **mean** | | {means['base']:.4f} | {means['adapted']:.4f} | {means['held']:.4f} "
        f"| {100 * (means['held'] - means['adapted']):+.2f} | |"
    )
    print("neutral mentions, scored by the fold's model: unadapted / adapted / names held")
    for category, e in results.items():
        said = "; ".join(
            f"{text} {' / '.join(f'{p:.2f}' for p in scores)}"
            for text, scores in e["mentions"].items()
        )
        print(f"- {category}: {said}")


def _monitored(argv: list[str]) -> tuple[str, ...]:
    """The names of ``--monitored=A,B``, or of brands.yaml with ``--monitored-config``."""
    if "--monitored-config" in argv:
        from koubei import config

        return tuple(config.load_brands().monitored_names())
    given = [a.split("=", 1)[1] for a in argv if a.startswith("--monitored=")]
    return tuple(n for n in given[0].split(",") if n) if given else ()


def _in_domain() -> dict[str, Any]:
    from koubei.pipeline.sentiment.adaptation import adapt

    held = training.split(training.load_labelled(paths.reviews_csv()))[1]
    model = load_model()
    entry: dict[str, Any] = {"n": len(held)}
    for name, m in (("base", model), ("adapted", adapt(model, [r.text for r in held]))):
        right = sum((m.score(r.text)[0] >= 0.5) == (r.label == 1) for r in held)
        entry[name] = right / len(held)
    return entry


def _value(argv: list[str], flag: str, default: int) -> int:
    given = [a.split("=", 1)[1] for a in argv if a.startswith(f"{flag}=")]
    return int(given[0]) if given else default


def run_adapt_cost(held: list[str], n: int, repeats: int) -> None:
    """What ``score``'s default adaptation costs: in one process, ``score_many`` against
    ``adapt_and_score`` on ``n`` held-out texts (best of ``repeats``, the order swapped each
    repeat so that the machine's load falls on both); then start-up included on all held-out
    texts, ``score`` and ``score --no-adapt`` against stock snownlp, with each one's peak RSS."""
    from koubei.pipeline.sentiment.adaptation import adapt_and_score

    model = load_model()
    texts = held[:n]
    runs: dict[str, Callable[[], object]] = {
        "score_many": lambda: model.score_many(texts),
        "adapt_and_score": lambda: adapt_and_score(model, texts),
    }
    best = dict.fromkeys(runs, float("inf"))
    for repeat in range(repeats):
        for name in list(runs)[:: 1 if repeat % 2 == 0 else -1]:
            start = time.perf_counter()
            runs[name]()
            best[name] = min(best[name], time.perf_counter() - start)
    plain, adapting = best["score_many"], best["adapt_and_score"]
    print(
        f"in one process, best of {repeats}, {len(texts)} held-out texts: score_many "
        f"{plain:.2f} s, adapt_and_score {adapting:.2f} s = {adapting / plain:.2f}×"
    )
    startup = startup_runs(held)
    (ours_s, ours_mb), (alone_s, alone_mb), (plain_s, plain_mb), (stock_s, stock_mb) = startup
    print(
        f"start-up included, all {len(held)} held-out texts: score {ours_s:.2f} s (adapts), "
        f"one process (--processes 1) {alone_s:.2f} s, --no-adapt {plain_s:.2f} s, stock "
        f"snownlp {stock_s:.1f} s = {stock_s / ours_s:.1f}× stock adapting "
        f"({stock_s / alone_s:.1f}× in one process), {stock_s / plain_s:.1f}× with --no-adapt"
    )
    print(
        f"peak RSS of those runs: score {ours_mb:.0f} MB (one process {alone_mb:.0f} MB), "
        f"--no-adapt {plain_mb:.0f} MB = {ours_mb / plain_mb:.1f}× (stock snownlp "
        f"{stock_mb:.0f} MB)"
    )


#: The long file of ``--memory``: this many reviews of at least ``LONG_CHARS`` characters.
LONG_TEXTS = 7_800
LONG_CHARS = 60
#: The file of long texts of ``--memory``: ``MAX_TEXTS`` lines of reviews joined, each of at
#: least this many characters (the count of texts adapting would read whole, far more
#: characters than ``MAX_CHARACTERS``).
JOINED_CHARS = 480


def _joined(texts: list[str], count: int, least: int) -> list[str]:
    """``count`` lines of ``texts`` joined in turn, each of at least ``least`` characters
    (from the first text again when they run out)."""
    lines: list[str] = []
    line: list[str] = []
    size = i = 0
    while len(lines) < count:
        line.append(texts[i % len(texts)])
        size, i = size + len(line[-1]), i + 1
        if size >= least:
            lines.append("".join(line))
            line, size = [], 0
    return lines


def run_memory() -> None:
    """Peak RSS of ``score`` adapting against ``--no-adapt`` on a long, a mixed and a file of
    joined reviews."""
    from koubei.pipeline.sentiment.adaptation import MAX_TEXTS

    texts = [r.text.replace("\n", " ") for r in training.load_labelled(paths.reviews_csv())]
    random.Random(7).shuffle(texts)
    files = {
        f"{LONG_TEXTS:,} reviews of at least {LONG_CHARS} characters": [
            t for t in texts if len(t) >= LONG_CHARS
        ][:LONG_TEXTS],
        f"{MAX_TEXTS:,} reviews of every length": texts[:MAX_TEXTS],
        f"{MAX_TEXTS:,} lines of reviews joined, at least {JOINED_CHARS} characters": _joined(
            texts, MAX_TEXTS, JOINED_CHARS
        ),
    }
    print("peak RSS of `koubei sentiment score FILE` (fresh interpreters, VmHWM)")
    print(
        "| file | mean characters | adapting | adapting, --processes 1 | --no-adapt "
        "| adapting / --no-adapt |"
    )
    print("|---|---|---|---|---|---|")
    for name, chosen in files.items():
        adapting, alone, plain = score_peaks(chosen)
        mean = sum(map(len, chosen)) / len(chosen)
        print(
            f"| {name} | {mean:.0f} | {adapting:.1f} MB | {alone:.1f} MB | {plain:.1f} MB "
            f"| {adapting / plain:.2f}× |"
        )


def run_sample_cost(categories: tuple[str, ...]) -> None:
    """Leave-one-category-out accuracy of adapting on every text against even samples."""
    from koubei.pipeline.sentiment import adaptation, opinion

    rows = training.load_labelled(paths.reviews_csv())
    train_rows, _held = training.split(rows)
    print(
        "| left-out category | rows | mean characters | characters' share | adapted on | accuracy |"
    )
    print("|---|---|---|---|---|---|")
    budget = adaptation.MAX_CHARACTERS
    try:
        for category in categories:
            model = training.train_model([r for r in train_rows if r.category != category])
            every = [r for r in rows if r.category == category]
            texts = [r.text for r in every]
            usable = [opinion.own_text(t) for t in texts]  # what adapting samples, as it does
            usable = [t for t in usable if not opinion.is_no_opinion(t)]
            total = sum(map(len, usable))
            for fraction in SAMPLE_FRACTIONS:
                # the budget that leaves room for this fraction of the texts' characters
                held = total // adaptation._HELD_TEXT_SHARE
                adaptation.MAX_CHARACTERS = int(total * fraction) + held + 1
                if fraction == 1.0:
                    adaptation.MAX_CHARACTERS += total
                _, scored = adaptation.adapt_and_score(model, texts)
                kept = len(adaptation._sample(usable))
                right = sum(
                    (p >= 0.5) == (r.label == 1) for (p, _), r in zip(scored, every, strict=True)
                )
                print(
                    f"| {category} | {len(every)} | {total / len(every):.0f} | {fraction:.2f} "
                    f"| {kept} | {right / len(every):.4f} |",
                    flush=True,
                )
    finally:
        adaptation.MAX_CHARACTERS = budget


def lexicon_variant(lexicon: bool) -> dict[str, float]:
    """Mean leave-one-category-out accuracy (all nine, all rows) and in-domain accuracy."""
    rows = training.load_labelled(paths.reviews_csv())
    train_rows, held = training.split(rows)
    categories = sorted({r.category for r in rows})
    result = leave_one_category_out(
        train_rows,
        held,
        categories,
        lambda fold: training.train_model(fold, lexicon=lexicon),
        per_category=10,
        stock=False,
    )
    scores = {c: e["koubei_all"] for c, e in result["categories"].items()}
    scores["LOCO mean"] = sum(scores.values()) / len(categories)
    model = training.train_model(train_rows, lexicon=lexicon)
    scores["in-domain held out"] = evaluate(model.probability_aggregated, held)["accuracy"]
    return scores


def run_lexicon_ablation() -> None:
    start = time.perf_counter()
    # fork: nothing else runs in this process yet; one variant per core.
    with multiprocessing.get_context("fork").Pool(2) as pool:
        without, with_lexicon = pool.map(lexicon_variant, [False, True])
    print(f"lexicon features, same folds and splits ({time.perf_counter() - start:.0f} s)")
    print("| evaluated on | without lexicon | with lexicon | change (points) |")
    print("|---|---|---|---|")
    for key in without:
        change = (with_lexicon[key] - without[key]) * 100
        print(f"| {key} | {without[key]:.4f} | {with_lexicon[key]:.4f} | {change:+.2f} |")


def main(argv: list[str]) -> int:
    try:
        paths.reviews_csv()
    except paths.MissingDataError as exc:
        print(f"bench sentiment: {exc}", file=sys.stderr)
        return 2
    quick = "--quick" in argv
    if "--lexicon" in argv:
        run_lexicon_ablation()
        return 0
    if "--memory" in argv:
        run_memory()
        return 0
    if "--sample-cost" in argv:
        chosen = [a.split("=", 1)[1] for a in argv if a.startswith("--categories=")]
        run_sample_cost(tuple(chosen[0].split(",")) if chosen else SAMPLE_COST_CATEGORIES)
        return 0
    if "--adapt-cost" in argv:
        rows = training.load_labelled(paths.reviews_csv())
        held_texts = [r.text for r in training.split(rows)[1]][: 1000 if quick else None]
        n = _value(argv, "--texts", len(held_texts))
        run_adapt_cost(held_texts, n, _value(argv, "--repeats", 4))
        return 0
    if "--startup" in argv:  # the start-up-included speed of the default run; --texts=N held out
        held = training.split(training.load_labelled(paths.reviews_csv()))[1]
        texts = [r.text for r in held][: _value(argv, "--texts", 2000)]
        ours_s, alone_s, plain_s, stock_s = startup_speed(texts)
        print(
            f"start-up included, {len(texts)} texts: score {ours_s:.2f} s (adapts to the file), "
            f"--processes 1 {alone_s:.2f} s, --no-adapt {plain_s:.2f} s, stock snownlp "
            f"{stock_s:.1f} s"
        )
        print(
            f"= {stock_s / ours_s:.1f}× stock ({stock_s / alone_s:.1f}× in one process, "
            f"{stock_s / plain_s:.1f}× with --no-adapt)"
        )
        return 0
    if "--social" in argv:  # only the social-text table (as in the default run)
        print_social_table(load_model())
        print_asking_reviews(training.load_labelled(paths.reviews_csv()))
        return 0
    if "--domains" in argv:  # only the blind domain reviews (as in the default run)
        print_domain_table(load_model())
        return 0
    if "--loco-screen" in argv:  # the lexicon screening figure (the --quick run's LOCO part)
        rows = training.load_labelled(paths.reviews_csv())
        print_loco(loco_all(rows, per_category=SCREEN_TEST), *farthest_category(rows))
        return 0
    if "--adapt" in argv:
        chosen = [a.split("=", 1)[1] for a in argv if a.startswith("--categories=")]
        rows = training.load_labelled(paths.reviews_csv())
        every = tuple(sorted({r.category for r in rows}))
        run_adapt(tuple(chosen[0].split(",")) if chosen else every, _monitored(argv))
        return 0
    if "--loco" in argv:
        chosen = [a.split("=", 1)[1] for a in argv if a.startswith("--categories=")]
        categories = tuple(chosen[0].split(",")) if chosen else LOCO_CATEGORIES
        if quick and not chosen:
            categories = categories[:2]
        run_loco(
            training.load_labelled(paths.reviews_csv()), quick, categories, "--previous" in argv
        )
        return 0
    stock_n = 100 if quick else 2000
    rows = training.load_labelled(paths.reviews_csv())
    _, held = training.split(rows)
    sample = random.Random(7).sample(held, stock_n)
    model = load_model()
    load_s, rss_mb = _load_and_rss()

    print(f"model {model.version}; load {load_s:.2f} s, RSS after load {rss_mb:.0f} MB")
    header = (
        "| scorer | texts | accuracy | F1 pos | F1 neg | docs/s (1 core) | × stock |\n"
        "|---|---|---|---|---|---|---|"
    )
    print(header)
    stock_snownlp_score("预热")  # snownlp loads its own models on first use; not timed
    stock, ours = _interleaved(model, sample)
    print(_row("stock snownlp (same texts)", stock))
    print(_row(f"koubei {model.version} (same texts)", ours, stock))
    full = evaluate(model.probability_aggregated, held if not quick else held[:2000], model.neutral)
    print(_row(f"koubei {model.version} (all held out)", full, stock))
    print(
        f"three labels on all held out: neutral share {full['neutral_share']:.3f}, "
        f"accuracy outside neutral {full['accuracy_decided']:.4f}"
    )
    texts = [r.text for r in (held if not quick else held[:2000])]
    rate2 = _two_core_rate(texts)
    print(f"2 processes: {rate2:.0f} docs/s = {rate2 / stock['docs_per_second']:.1f}× stock 1-core")

    ours_s, _, plain_s, stock_s = startup_speed(texts[: 300 if quick else 2000])
    print(
        f"start-up included (fresh interpreters, `koubei sentiment score FILE` vs a stock snownlp "
        f"script, same {300 if quick else 2000} texts): {ours_s:.1f} s vs {stock_s:.1f} s = "
        f"{stock_s / ours_s:.1f}× ({stock_s / plain_s:.1f}× with --no-adapt, {plain_s:.1f} s)"
    )
    print_social_table(model)
    print_domain_table(model)
    farthest, distance = farthest_category(rows)
    print_loco(loco_all(rows, per_category=SCREEN_TEST if quick else 200), farthest, distance)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
