"""Accuracy, per-class precision/recall/F1 and throughput of a scorer on labelled texts.

Labelled data here is binary (1 positive, 0 negative), so accuracy thresholds the score at 0.5;
the three-way labels are reported as the share called neutral and the accuracy on the rest.
``leave_one_category_out`` measures cross-domain transfer: train without a category, score it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from koubei.pipeline.sentiment.opinion import NO_OPINION
from koubei.pipeline.sentiment.training import Example

if TYPE_CHECKING:
    from koubei.pipeline.sentiment.model import SentimentModel

Scorer = Callable[[str], float]


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def evaluate(
    score: Scorer,
    rows: Sequence[Example],
    neutral: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """Score every row once, timing it, and compare with the labels.

    Parameters
    ----------
    score : callable
        Text → probability positive.
    rows : sequence of Example
        Labelled texts.
    neutral : (low, high), optional
        The scorer's neutral band, for the neutral share and the accuracy outside it.

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``positive``/``negative`` precision-recall-F1 with ``support``,
        ``docs_per_second``, and with ``neutral``: ``neutral_share``, ``accuracy_decided``.
    """
    start = time.perf_counter()
    scores = [score(r.text) for r in rows]
    elapsed = time.perf_counter() - start
    return metrics(scores, [r.label for r in rows], elapsed, neutral)


def social_row_right(score: float, label: str, labelled: str) -> bool:
    """Whether ``score(text)`` (``score``, ``label``) is right for a row of the social-text
    table labelled ``labelled``: a ``no_opinion`` or ``neutral`` row when the label is the
    same; a ``positive`` or ``negative`` row when the post is scored (not ``no_opinion``) and
    the score is on that side of 0.5, as the binary review sets are judged (a score inside the
    neutral band still has a side)."""
    if labelled in (NO_OPINION, "neutral"):
        return label == labelled
    return label != NO_OPINION and (score > 0.5) == (labelled == "positive")


def metrics(
    scores: Sequence[float],
    labels: Sequence[int],
    elapsed: float,
    neutral: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """The figures of ``evaluate`` from scores already computed in ``elapsed`` seconds."""
    predicted = [1 if s >= 0.5 else 0 for s in scores]
    correct = sum(p == y for p, y in zip(predicted, labels, strict=True))
    n = len(labels)
    result: dict[str, Any] = {
        "n": n,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "docs_per_second": round(n / elapsed, 1) if elapsed > 0 else 0.0,
    }
    for name, cls in (("positive", 1), ("negative", 0)):
        tp = sum(p == cls and y == cls for p, y in zip(predicted, labels, strict=True))
        fp = sum(p == cls and y != cls for p, y in zip(predicted, labels, strict=True))
        fn = sum(p != cls and y == cls for p, y in zip(predicted, labels, strict=True))
        result[name] = {**_prf(tp, fp, fn), "support": list(labels).count(cls)}
    if neutral is not None:
        low, high = neutral
        decided = [(s, y) for s, y in zip(scores, labels, strict=True) if not low <= s <= high]
        result["neutral_share"] = round(1 - len(decided) / n, 4) if n else 0.0
        hits = sum((s >= 0.5) == (y == 1) for s, y in decided)
        result["accuracy_decided"] = round(hits / len(decided), 4) if decided else 0.0
    return result


def stock_snownlp_score(text: str) -> float:
    """Stock ``SnowNLP(text).sentiments``: the baseline every figure is compared with."""
    from snownlp import SnowNLP

    return float(SnowNLP(text).sentiments) if text.strip() else 0.5


def format_report(name: str, result: dict[str, Any]) -> str:
    """A few human-readable lines for one evaluation result."""
    lines = [
        f"{name}: accuracy {result['accuracy']:.4f} on {result['n']} texts, "
        f"{result['docs_per_second']:.0f} docs/s"
    ]
    for cls in ("positive", "negative"):
        c = result[cls]
        lines.append(
            f"  {cls:8s} precision {c['precision']:.4f} recall {c['recall']:.4f} "
            f"f1 {c['f1']:.4f} support {c['support']}"
        )
    if "neutral_share" in result:
        lines.append(
            f"  neutral share {result['neutral_share']:.4f}, "
            f"accuracy outside neutral {result['accuracy_decided']:.4f}"
        )
    return "\n".join(lines)


def leave_one_category_out(
    train_rows: Sequence[Example],
    held_rows: Sequence[Example],
    categories: Sequence[str],
    train: Callable[[list[Example]], SentimentModel] | None = None,
    *,
    max_train: int | None = None,
    per_category: int = 400,
    stock: bool = True,
    seed: int = 11,
) -> dict[str, Any]:
    """Train without each category in turn and score only that category (cross-domain check).

    Each fold trains on ``train_rows`` of the *other* categories (all eight of them, not only the
    ones listed) and tests on up to ``per_category`` rows of ``held_rows`` in the left-out
    category, so no test text was ever trained on and the category's vocabulary is unseen.
    Stock snownlp scores the same test texts (it was trained on its own corpus, so it needs no
    fold). Because the whole category is unseen, the fold's model is also scored on *every* row
    of the category (both splits; ``koubei_all``): a few thousand texts instead of a few hundred,
    so differences between training settings are not lost in sampling noise.

    Parameters
    ----------
    train_rows, held_rows : sequence of Example
        The training and held-out splits (``training.split``); rows need ``category``.
    categories : sequence of str
        Categories to leave out, one fold each.
    train : callable, optional
        Rows → model; defaults to ``training.train_model`` with its default settings.
    max_train : int, optional
        Subsample each fold's training rows to this many (seeded) to bound the run time.
    per_category : int
        Test texts per category (seeded sample of its held-out rows).
    stock : bool
        Also score the test texts with stock snownlp (about 30 texts/s).
    seed : int
        Seed of the subsamples.

    Returns
    -------
    dict
        ``{"categories": {cat: {"n", "train_n", "koubei", "stock"?, "n_all", "koubei_all"}},
        "mean": {"koubei", "stock"?, "koubei_all"}}`` with accuracies.
    """
    if train is None:
        from koubei.pipeline.sentiment.training import train_model

        train = train_model
    per_cat: dict[str, dict[str, Any]] = {}
    for category in categories:
        fold = [r for r in train_rows if r.category != category]
        if max_train is not None and len(fold) > max_train:
            fold = random.Random(seed).sample(fold, max_train)
        pool = [r for r in held_rows if r.category == category]
        tests = random.Random(seed).sample(pool, min(per_category, len(pool)))
        if not tests:
            raise ValueError(f"no held-out rows in category {category!r}")
        model = train(fold)
        entry: dict[str, Any] = {
            "n": len(tests),
            "train_n": len(fold),
            "koubei": evaluate(model.probability_aggregated, tests)["accuracy"],
        }
        if stock:
            entry["stock"] = evaluate(stock_snownlp_score, tests)["accuracy"]
        every = [r for r in (*train_rows, *held_rows) if r.category == category]
        entry["n_all"] = len(every)
        entry["koubei_all"] = evaluate(model.probability_aggregated, every)["accuracy"]
        per_cat[category] = entry
    scorers = ["koubei", "stock", "koubei_all"] if stock else ["koubei", "koubei_all"]
    mean = {
        name: round(sum(e[name] for e in per_cat.values()) / len(per_cat), 4) for name in scorers
    }
    return {"categories": per_cat, "mean": mean}
