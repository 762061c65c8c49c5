"""The sentiment model: a table of feature weights, a calibration, and the scoring rules.

The weights start as snownlp's Bayes log-likelihood ratios (see ``training``); scoring is a sum of
dictionary look-ups over ``features.extract``, so it needs neither snownlp's nor jieba's
tokenizer at run time. ``score`` is the calibrated probability that the text is positive; the
label is neutral inside the model's neutral band.

Model files are gzip-compressed JSON with a schema name and version (layout in
``MODEL_FORMAT.md`` next to this module): plain data any JSON reader can load, with no
dependence on the Python version (marshal's format may change between releases) and no code
execution on load.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from koubei.atomicfile import atomic_write
from koubei.pipeline.clean import analysed_text
from koubei.pipeline.sentiment import features, opinion
from koubei.pipeline.sentiment.rules import rules_version

SCHEMA = "koubei-sentiment-model"
SCHEMA_VERSION = 2  # 1 was the marshal file this layout replaced
# Through importlib.resources so that the installed wheel finds its copy (package data).
MODELS_DIR = Path(str(resources.files("koubei.pipeline.sentiment").joinpath("models")))
DEFAULT_MODEL = MODELS_DIR / "default.json.gz"
# Texts longer than this with several sentences are also scored sentence by sentence.
LONG_TEXT = 30
# A sentence scoring below this pulls a long text's score toward it by NEGATIVE_SENTENCE_WEIGHT.
# Measured on the calibration slice: 0.1/0.35 costs 0.1 point of document accuracy on shop
# reviews (whose labels are per document) and keeps one furious sentence from being drowned.
NEGATIVE_SENTENCE = 0.1
NEGATIVE_SENTENCE_WEIGHT = 0.35
# The weights' scale: training starts them at the Bayes log-ratios times this, since those of
# overlapping n-grams double count; adaptation adds its corpus log-ratios on the same footing.
# Here rather than in training so that scoring never imports training (and numpy).
BAYES_SCALE = 0.1


def scored_units(text: str) -> list[str]:
    """What ``probability_aggregated`` scores: the text, then its sentences when it is long."""
    if len(text) > LONG_TEXT:
        parts = features.sentences(text)
        if len(parts) > 1:
            return [text, *parts]
    return [text]


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
        Recorded on every scored document as ``model_version`` (the rules the model is applied
        with are recorded beside it as ``rules_version``, ``rules.rules_version``).
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
    social : bool
        Whether the weights were trained with the social-signal features (``features.extract``).
    general : bool
        Whether the weights were trained with the general (HowNet) lexicon features.
    adapted : frozenset of str
        The features whose weights adaptation changed (empty for a model not adapted).
    adapted_shift, adapted_saturation : float
        Adaptation's correction of the calibrated log-odds: a unit with ``k`` of the ``adapted``
        features has ``adapted_shift * min(1, k / adapted_saturation)`` taken off (see
        ``adaptation``, step 3). A unit with none keeps its calibration as it was.
    """

    version: str
    weights: dict[str, float]
    bias: float = 0.0
    platt: tuple[float, float] = (1.0, 0.0)
    neutral: tuple[float, float] = (0.4, 0.6)
    meta: dict[str, Any] = field(default_factory=dict)
    max_n: int = 3
    lexicon: bool = False
    social: bool = False
    general: bool = False
    adapted: frozenset[str] = frozenset()
    adapted_shift: float = 0.0
    adapted_saturation: float = 1.0

    # --- scoring -------------------------------------------------------------------------

    def logit(self, text: str) -> float:
        """Uncalibrated log-odds of ``text`` being positive."""
        return self._logit_and_features(text)[0]

    def _logit_and_features(self, text: str) -> tuple[float, set[str]]:
        get = self.weights.get
        found = features.extract(text, self.max_n, self.lexicon, self.social, self.general)
        return self.bias + sum([get(f, 0.0) for f in found]), found

    def probability(self, text: str) -> float:
        """Calibrated probability positive for one unit of text (no sentence aggregation)."""
        logit, found = self._logit_and_features(text)
        # A set intersection (in C, over the smaller set): the adapted features the unit has.
        return self.calibrated(logit, len(found & self.adapted) if self.adapted else 0)

    def calibrated(self, logit: float, adapted_count: int = 0) -> float:
        """The probability positive for a raw log-odds ``logit`` (the Platt calibration) of a
        unit with ``adapted_count`` of the ``adapted`` features (adaptation's correction)."""
        a, b = self.platt
        z = a * logit + b
        if adapted_count:
            z -= self.adapted_shift * min(1.0, adapted_count / self.adapted_saturation)
        return _sigmoid(z)

    def label_for(self, score: float) -> str:
        """positive / neutral / negative for a calibrated score."""
        low, high = self.neutral
        if score < low:
            return "negative"
        if score > high:
            return "positive"
        return "neutral"

    def score(self, text: str) -> tuple[float, str]:
        """Probability positive and label for a post's own words (see ``opinion``).

        A repost is scored on its text before ``//@``; a post with no words of its own (bare
        repost, emoji, @handles, links, platform boilerplate, empty) gets ``(0.5, "no_opinion")``:
        0.5 keeps ``score`` a probability for every consumer, the label keeps it out of the
        negative share. A short question asking others for their experience or advice, with no
        judgement of its own (``opinion.asks_without_judging``: 有人喝过鲜牧吗), is labelled
        neutral: a mention, not a negative one.
        """
        own = opinion.own_text(text) if isinstance(text, str) else ""
        if opinion.is_no_opinion(own):
            return 0.5, opinion.NO_OPINION
        return self.labelled(own, self.probability_aggregated(own))

    def labelled(self, own: str, p: float) -> tuple[float, str]:
        """The score and label of a post whose own words ``own`` have the aggregated probability
        ``p``: ``label_for(p)``, except for a question asking others that judges nothing
        (``opinion.asks_without_judging``), moved into the neutral band on the side of 0.5 the
        model put it (the label says it judges nothing; the score still says the model's side).
        """
        if opinion.asks_without_judging(own):
            low, high = self.neutral
            p = min(high, max(low, p))
        return p, self.label_for(p)

    def probability_aggregated(self, text: str) -> float:
        """Calibrated probability positive, with sentence aggregation for long texts.

        Long texts are also scored per sentence: a clearly negative sentence pulls the score
        down (never up), so one angry sentence in a long post is not drowned by polite ones.
        Empty text scores 0.5.
        """
        if not isinstance(text, str) or not text.strip():
            return 0.5
        return self.combine([self.probability(unit) for unit in scored_units(text)])

    @staticmethod
    def combine(probabilities: Sequence[float]) -> float:
        """The aggregated probability from those of ``scored_units(text)``, in that order."""
        p = probabilities[0]
        if len(probabilities) > 1:
            worst = min(probabilities[1:])
            if worst < NEGATIVE_SENTENCE and worst < p:
                p = (1 - NEGATIVE_SENTENCE_WEIGHT) * p + NEGATIVE_SENTENCE_WEIGHT * worst
        return min(1.0, max(0.0, p))

    def score_many(self, texts: Iterable[str]) -> list[tuple[float, str]]:
        """``score`` for each text, in order."""
        return [self.score(t) for t in texts]

    def score_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """Set ``record["sentiment"]`` from its ``analysed_text``; returns record. It records
        which model scored it (``model_version``, this file's) and under which scoring rules
        (``rules_version``: the lexicons, glosses and no-opinion rules, ``rules.py``)."""
        score, label = self.score(analysed_text(record))
        record["sentiment"] = {
            "score": round(score, 6),
            "label": label,
            "model_version": self.version,
            "rules_version": rules_version(),
        }
        return record

    # --- persistence ---------------------------------------------------------------------

    def save(self, path: Path) -> Path:
        """Write the model as gzip-compressed JSON (layout: ``MODEL_FORMAT.md``).

        Keys are sorted and the gzip header carries no time stamp, so the same model always
        produces the same bytes.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "version": self.version,
            "bias": self.bias,
            "platt": list(self.platt),
            "neutral": list(self.neutral),
            "max_n": self.max_n,
            "lexicon": self.lexicon,
            "social": self.social,
            "general": self.general,
            "meta": self.meta,
            # Two parallel arrays rather than one object: parsing them is a third faster.
            "features": sorted(self.weights),
            "weights": [self.weights[f] for f in sorted(self.weights)],
        }
        if self.adapted:  # an unadapted model's file stays as it was, byte for byte
            payload["adapted_features"] = sorted(self.adapted)
            payload["adapted_shift"] = self.adapted_shift
            payload["adapted_saturation"] = self.adapted_saturation
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        with atomic_write(path, binary=True) as handle:
            handle.write(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0))
        return path


def _field(payload: dict[str, Any], name: str, kind: type, path: Path) -> Any:
    value = payload.get(name)
    # bool is an int subclass; an int is a valid float in JSON (1 for 1.0).
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ValueError(f"{path}: field {name!r} must be {kind.__name__}, got {value!r:.60}")
    return value


def _pair(payload: dict[str, Any], name: str, path: Path) -> tuple[float, float]:
    value = payload.get(name)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{path}: field {name!r} must be a list of two numbers, got {value!r:.60}")
    return float(value[0]), float(value[1])


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
        The file is not a koubei sentiment model of this schema version; the message names the
        file and the field.
    """
    path = Path(path) if path is not None else DEFAULT_MODEL
    try:
        with gzip.open(path, "rb") as handle:
            payload = json.loads(handle.read().decode("utf-8"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a sentiment model ({exc})") from exc
    except RecursionError:  # JSON nested deeper than Python reads: no model's
        raise ValueError(f"{path}: not a sentiment model (JSON nested too deep)") from None
    if not isinstance(payload, dict) or payload.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a sentiment model (no schema {SCHEMA!r})")
    if payload.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"{path}: sentiment model schema_version {payload.get('schema_version')!r}, "
            f"this koubei reads {SCHEMA_VERSION}"
        )
    names = _field(payload, "features", list, path)
    values = _field(payload, "weights", list, path)
    if len(names) != len(values):
        raise ValueError(f"{path}: {len(names)} features but {len(values)} weights")
    if not all(type(f) is str for f in names):
        raise ValueError(f"{path}: field 'features' must hold only strings")
    if not all(type(v) is float or type(v) is int for v in values):
        bad = next(f for f, v in zip(names, values, strict=True) if type(v) not in (float, int))
        raise ValueError(f"{path}: weight of feature {bad!r} is not a number")
    weights = dict(zip(names, map(float, values), strict=True))
    return SentimentModel(
        version=_field(payload, "version", str, path),
        weights=weights,
        bias=float(_field(payload, "bias", float, path)),
        platt=_pair(payload, "platt", path),
        neutral=_pair(payload, "neutral", path),
        meta=dict(_field(payload, "meta", dict, path)),
        max_n=_field(payload, "max_n", int, path),
        lexicon=_field(payload, "lexicon", bool, path),
        # Optional: files written before the social features have no key (and no such features).
        social=_field(payload, "social", bool, path) if "social" in payload else False,
        general=_field(payload, "general", bool, path) if "general" in payload else False,
        **_adaptation(payload, path),
    )


def _adaptation(payload: dict[str, Any], path: Path) -> dict[str, Any]:
    """The optional adaptation fields, as ``SentimentModel`` arguments: none (the defaults, no
    correction) for a file without them, written before them or by an unadapted model."""
    if "adapted_features" not in payload:
        return {}
    names = _field(payload, "adapted_features", list, path)
    if not all(type(f) is str for f in names):
        raise ValueError(f"{path}: field 'adapted_features' must hold only strings")
    saturation = float(_field(payload, "adapted_saturation", float, path))
    if not saturation > 0:
        raise ValueError(f"{path}: field 'adapted_saturation' must be positive")
    return {
        "adapted": frozenset(names),
        "adapted_shift": float(_field(payload, "adapted_shift", float, path)),
        "adapted_saturation": saturation,
    }
