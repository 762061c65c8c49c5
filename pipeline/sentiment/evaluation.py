"""Accuracy, per-class precision/recall/F1 and throughput of a scorer on labelled texts.

Labelled data here is binary (1 positive, 0 negative), so accuracy thresholds the score at 0.5;
the three-way labels are reported as the share called neutral and the accuracy on the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.sentiment.training import Example

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
