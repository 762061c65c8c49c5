"""The sentiment model: a table of feature weights, a calibration, and the scoring rules.

The weights start as snownlp's Bayes log-likelihood ratios (see ``training``); scoring is a sum of
dictionary look-ups over ``features.extract``, so it needs neither snownlp's nor jieba's
tokenizer at run time. ``score`` is the calibrated probability that the text is positive; the
label is neutral inside the model's neutral band.
"""

from __future__ import annotations

import gzip
import marshal
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from koubei.pipeline.sentiment import features

FORMAT = 1
MODELS_DIR = Path(__file__).with_name("models")
DEFAULT_MODEL = MODELS_DIR / "default.marshal.gz"
# Texts longer than this with several sentences are also scored sentence by sentence.
LONG_TEXT = 30
# A sentence scoring below this pulls a long text's score toward it by NEGATIVE_SENTENCE_WEIGHT.
# Measured on the calibration slice: 0.1/0.35 costs 0.1 point of document accuracy on shop
# reviews (whose labels are per document) and keeps one furious sentence from being drowned.
NEGATIVE_SENTENCE = 0.1
NEGATIVE_SENTENCE_WEIGHT = 0.35


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


@dataclass
class SentimentModel:
    """Feature weights plus calibration; build with ``load_model`` or ``training.train_model``.

    Attributes
    ----------
    version : str
        Recorded on every scored document as ``model_version``.
    weights : dict
        Feature → weight (log-odds contribution).
    bias : float
        Log-odds of an empty text before calibration.
    platt : tuple of float
        ``(a, b)``: ``score = sigmoid(a * z + b)`` for raw log-odds ``z``.
    neutral : tuple of float
        ``(low, high)``: scores in ``[low, high]`` are labelled neutral.
    max_n : int
        Longest plain character n-gram the weights were trained on (3 for models that predate
        the setting).
    lexicon : bool
        Whether the weights include the lexicon features (False for models that predate them).
    """

    version: str
    weights: dict[str, float]
    bias: float = 0.0
    platt: tuple[float, float] = (1.0, 0.0)
    neutral: tuple[float, float] = (0.4, 0.6)
    meta: dict[str, Any] = field(default_factory=dict)
    max_n: int = 3
    lexicon: bool = False

    # --- scoring -------------------------------------------------------------------------

    def logit(self, text: str) -> float:
        """Uncalibrated log-odds of ``text`` being positive."""
        get = self.weights.get
        found = features.extract(text, self.max_n, self.lexicon)
        return self.bias + sum([get(f, 0.0) for f in found])

    def probability(self, text: str) -> float:
        """Calibrated probability positive for one unit of text (no sentence aggregation)."""
        a, b = self.platt
        return _sigmoid(a * self.logit(text) + b)

    def label_for(self, score: float) -> str:
        """positive / neutral / negative for a calibrated score."""
        low, high = self.neutral
        if score < low:
            return "negative"
        if score > high:
            return "positive"
        return "neutral"

    def score(self, text: str) -> tuple[float, str]:
        """Probability positive and label for ``text`` (see ``probability_aggregated``)."""
        p = self.probability_aggregated(text)
        return p, self.label_for(p)

    def probability_aggregated(self, text: str) -> float:
        """Calibrated probability positive, with sentence aggregation for long texts.

        Long texts are also scored per sentence: a clearly negative sentence pulls the score
        down (never up), so one angry sentence in a long post is not drowned by polite ones.
        Empty text scores 0.5.
        """
        if not isinstance(text, str) or not text.strip():
            return 0.5
        p = self.probability(text)
        if len(text) > LONG_TEXT:
            parts = features.sentences(text)
            if len(parts) > 1:
                worst = min(self.probability(s) for s in parts)
                if worst < NEGATIVE_SENTENCE and worst < p:
                    p = (1 - NEGATIVE_SENTENCE_WEIGHT) * p + NEGATIVE_SENTENCE_WEIGHT * worst
        return min(1.0, max(0.0, p))

    def score_many(self, texts: Iterable[str]) -> list[tuple[float, str]]:
        """``score`` for each text, in order."""
        return [self.score(t) for t in texts]

    def score_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Set ``record["sentiment"]`` from ``text_clean`` (else ``text_raw``); returns record."""
        text = record.get("text_clean") or record.get("text_raw") or ""
        score, label = self.score(text if isinstance(text, str) else str(text))
        record["sentiment"] = {
            "score": round(score, 6),
            "label": label,
            "model_version": self.version,
        }
        return record

    # --- persistence ---------------------------------------------------------------------

    def save(self, path: Path) -> Path:
        """Write the model as gzip-compressed marshal (fast to load, no code execution)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT,
            "version": self.version,
            "bias": self.bias,
            "platt": list(self.platt),
            "neutral": list(self.neutral),
            "meta": self.meta,
            "max_n": self.max_n,
            "lexicon": self.lexicon,
            "weights": self.weights,
        }
        tmp = path.with_name(path.name + ".tmp")
        with gzip.open(tmp, "wb", compresslevel=6) as handle:
            handle.write(marshal.dumps(payload))
        tmp.replace(path)
        return path


def load_model(path: Path | None = None) -> SentimentModel:
    """Load a model file; the default is the model shipped in ``pipeline/sentiment/models/``.

    Parameters
    ----------
    path : Path, optional
        A file written by ``SentimentModel.save`` (``koubei sentiment train``).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        The file is not a koubei sentiment model of a known format.
    """
    path = Path(path) if path is not None else DEFAULT_MODEL
    with gzip.open(path, "rb") as handle:
        try:
            payload = marshal.loads(handle.read())
        except (EOFError, ValueError, TypeError) as exc:
            raise ValueError(f"{path}: not a sentiment model ({exc})") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path}: not a sentiment model of format {FORMAT}")
    return SentimentModel(
        version=str(payload["version"]),
        weights=payload["weights"],
        bias=float(payload["bias"]),
        platt=(float(payload["platt"][0]), float(payload["platt"][1])),
        neutral=(float(payload["neutral"][0]), float(payload["neutral"][1])),
        meta=dict(payload.get("meta") or {}),
        max_n=int(payload.get("max_n", 3)),
        lexicon=bool(payload.get("lexicon", False)),
    )
