"""Training: snownlp's Bayes classifier → weight table → discriminative correction → calibration.

1. ``snownlp.classification.bayes.Bayes`` is trained on the feature sets of the fit split (each
   feature counted once per document, which suits short reviews better than raw counts).
2. Its smoothed per-class frequencies are exported as log-likelihood ratios: one weight per
   feature seen at least ``MIN_COUNT`` times. This is the lexicon prior, learned only from our
   training split.
3. Cross-category consistency (when the rows carry several categories): each feature's
   polarity is measured per category; a feature whose polarity flips between categories, or
   that is seen (3+ times) in only one, is product vocabulary rather than sentiment and is
   scaled down (to zero if no category saw it 3 times). Computed from the training rows only.
4. A few passes of logistic-loss correction adjust those weights, regularised toward the
   (consistency-scaled) Bayes weights, which fixes Naive Bayes' double counting of overlapping
   n-grams (measured: +1.5 points held-out accuracy over the raw Bayes table). The passes see at
   most ``CATEGORY_CAP`` rows per category, so the four big short-review categories do not
   dictate the weights, and each feature's step is scaled by its consistency.
   Measured with ``python -m bench sentiment --loco`` (see BENCHMARKS.md): 2 and 3 together
   raised mean leave-one-category-out accuracy by about a point for half a point in-domain.
5. Platt scaling on a calibration slice the earlier steps never saw turns log-odds into a
   probability; the neutral band is set around 0.5 on the same slice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from koubei import timeutil
from koubei.errors import KoubeiError
from koubei.pipeline.sentiment import features
from koubei.pipeline.sentiment.model import BAYES_SCALE, SentimentModel
from koubei.textfile import csv_separator, header_names, read_utf8

SEED = 20261125
HOLDOUT = 0.2
CALIBRATION = 0.1
MIN_COUNT = 2
EPOCHS = 3
LEARNING_RATE = 0.05
PRIOR_STRENGTH = 1e-4  # pull of each update back toward the Bayes weight
CATEGORY_CAP = 3000  # correction rows per category (LOCO: 2000 and 3000 beat 1000 and 4000)
CONSISTENCY_SUPPORT = 3  # a category "sees" a feature in at least this many of its documents
BAD_ROWS_NAMED = 10  # rows with a bad label or an empty review named in the error


@dataclass(frozen=True)
class Example:
    """One labelled text: ``label`` is 1 for positive, 0 for negative."""

    text: str
    label: int
    category: str = ""


class LabelledDataError(KoubeiError, ValueError):
    """A labelled CSV that cannot be used; the message names the file (and line)."""


def load_labelled(path: Path, said: list[str] | None = None) -> list[Example]:
    """Read a CSV with ``label`` (0/1) and ``review`` columns (``cat`` optional).

    Exact duplicate texts are kept once (first label wins) so that no text can be both trained
    on and held out. A byte order mark (spreadsheets save one) is allowed, and so are GBK (what
    Excel and WPS save as "CSV" on a Chinese Windows) and UTF-16 with its byte order mark, as
    ``koubei sentiment score`` and ``spikes`` read them; the separator is the one an Excel
    ``sep=;`` first line names (that line skipped), else ``,``, or ``;`` or tab when the first
    line has no comma (:func:`~koubei.textfile.csv_separator`, as ``spikes`` and ``score
    --column`` read it), and the header's names are read without the spaces around them
    (``label, review``; :func:`~koubei.textfile.header_names`). A file in none of these
    encodings, one that lacks the columns or is malformed (a quote never closed: named at the
    row that opened it)
    raises :class:`LabelledDataError` naming it (a header naming ``label``, ``review`` or ``cat``
    twice too, as ``score --column`` refuses it), and so does a row whose label is not 0 or 1
    (``2``, ``pos``, empty), whose review is empty, or that has more fields than the header (a
    review with an unquoted separator in it, ``1,好,很好``): the message has one line per such
    row (``file:line: label 'pos' is not 0 or 1``, the first ``BAD_ROWS_NAMED`` of them), so
    no row is dropped or cut short without a word. Which encoding a file that is not UTF-8 was
    read as is added to ``said`` (when given: :func:`~koubei.textfile.decoded_as`'s words, which
    ``sentiment score`` prints too) for the caller's stderr.
    """
    try:
        # was "not UTF-8 (byte 0xca)" for an Excel export
        text = read_utf8(path, gbk=True, said=said)
    except ValueError as exc:
        raise LabelledDataError(str(exc)) from None
    delimiter, sep_line = csv_separator(text)
    # strict: a quote opened and never closed was read to the end of the file as one review,
    # every later row in it, and the file evaluated as one text without a word.
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    if sep_line:  # Excel's sep= line: it named the separator
        next(reader.reader)
    seen: set[str] = set()
    rows: list[Example] = []
    start = 1  # the line the row being read starts on (a quoted review may span lines)
    try:
        if reader.fieldnames:  # (reads the header row)
            # "label, review" as typed by hand: the columns, as ``score --column`` and
            # ``spikes`` read a header (was: "has no 'label' and 'review' columns (found:
            # label,  review)"); a column named twice is refused, as ``score --column`` does
            where = f"{path}:{reader.line_num}"
            try:
                reader.fieldnames = header_names(
                    reader.fieldnames, where, ("label", "review", "cat")
                )
            except ValueError as exc:
                raise LabelledDataError(str(exc)) from None
        if not {"label", "review"} <= set(reader.fieldnames or ()):
            found = ", ".join(reader.fieldnames or ()) or "none"
            raise LabelledDataError(f"{path}: has no 'label' and 'review' columns (found: {found})")
        bad: list[str] = []
        start = reader.line_num + 1
        for row in reader:
            text = (row.get("review") or "").strip()
            label = (row.get("label") or "").strip()
            extra = row.get(None)  # DictReader's restkey: fields past the header's
            if extra:
                # The review was cut at the separator and the rest dropped, unseen.
                count = len(reader.fieldnames or ()) + len(extra)
                bad.append(
                    f"{path}:{start}: {count} fields, the header has "
                    f"{len(reader.fieldnames or ())} (quote a review holding {delimiter!r})"
                )
            elif label not in {"0", "1"}:
                bad.append(f"{path}:{start}: label {label!r} is not 0 or 1")
            elif not text:
                bad.append(f"{path}:{start}: empty review")
            elif text not in seen:
                seen.add(text)
                rows.append(Example(text, int(label), (row.get("cat") or "").strip()))
            start = reader.line_num + 1
    except csv.Error as exc:
        why = "a quote opened here is never closed" if "end of data" in str(exc) else exc
        raise LabelledDataError(f"{path}:{start}: not a CSV row ({why})") from None
    if bad:
        more = len(bad) - BAD_ROWS_NAMED
        tail = [f"{path}: {more} more rows like these"] if more > 0 else []
        raise LabelledDataError("\n".join(bad[:BAD_ROWS_NAMED] + tail))
    return rows


def split(
    rows: Sequence[Example], holdout: float = HOLDOUT, seed: int = SEED
) -> tuple[list[Example], list[Example]]:
    """Shuffle with a fixed seed; return ``(train, held_out)`` with ``holdout`` of rows held."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    cut = int(len(shuffled) * holdout)
    return shuffled[cut:], shuffled[:cut]


def bayes_weights(
    feature_sets: Sequence[set[str]], labels: Sequence[int]
) -> tuple[dict[str, float], float]:
    """Train snownlp's Bayes on feature sets; export log-likelihood ratios and the log prior."""
    from snownlp.classification.bayes import Bayes

    bayes = Bayes()
    bayes.train([(fs, "pos" if y else "neg") for fs, y in zip(feature_sets, labels, strict=True)])
    pos, neg = bayes.d["pos"], bayes.d["neg"]
    weights: dict[str, float] = {}
    for feature in set(pos.d) | set(neg.d):
        # AddOneProb stores count + 1 for every seen key; unseen keys count 1 ("none").
        raw = pos.d.get(feature, 1) - 1 + neg.d.get(feature, 1) - 1
        if raw >= MIN_COUNT:
            weights[feature] = math.log(pos.freq(feature)) - math.log(neg.freq(feature))
    n_pos = sum(labels)
    prior = math.log(max(n_pos, 1) / max(len(labels) - n_pos, 1))
    return weights, prior


def consistency(
    feature_sets: Sequence[set[str]], labels: Sequence[int], categories: Sequence[str]
) -> dict[str, float]:
    """Per feature, how consistently its polarity holds across categories, in [0, 1].

    For every category that saw the feature in at least ``CONSISTENCY_SUPPORT`` documents, its
    smoothed log-ratio ``r_c`` (document frequency among positives vs negatives, so category
    class balance cancels) is computed; the score is ``|sum r_c| / sum |r_c|`` (1 when all agree
    in sign, near 0 when they cancel), halved when only one category saw it. Features no
    category saw often enough are absent (score 0).
    """
    pos: dict[str, Counter[str]] = {}
    neg: dict[str, Counter[str]] = {}
    docs: Counter[tuple[str, int]] = Counter()
    for fs, y, cat in zip(feature_sets, labels, categories, strict=True):
        (pos if y else neg).setdefault(cat, Counter()).update(fs)
        docs[cat, y] += 1
    num: defaultdict[str, float] = defaultdict(float)
    den: defaultdict[str, float] = defaultdict(float)
    cover: Counter[str] = Counter()
    for cat in {c for c, _ in docs}:
        p, n = pos.get(cat, Counter()), neg.get(cat, Counter())
        dp, dn = docs[cat, 1] + 2, docs[cat, 0] + 2
        for feature in set(p) | set(n):
            cp, cn = p[feature], n[feature]
            if cp + cn >= CONSISTENCY_SUPPORT:
                r = math.log((cp + 1) / dp) - math.log((cn + 1) / dn)
                num[feature] += r
                den[feature] += abs(r)
                cover[feature] += 1
    return {f: abs(num[f]) / den[f] * min(1.0, cover[f] / 2) for f in den if den[f] > 0 and num[f]}


def cap_per_category(categories: Sequence[str], cap: int = CATEGORY_CAP) -> list[int]:
    """Indices of the first ``cap`` rows of each category, in order."""
    seen: Counter[str] = Counter()
    kept = []
    for i, cat in enumerate(categories):
        seen[cat] += 1
        if seen[cat] <= cap:
            kept.append(i)
    return kept


def correct(
    weights: dict[str, float],
    bias: float,
    feature_sets: Sequence[set[str]],
    labels: Sequence[int],
    epochs: int = EPOCHS,
    seed: int = SEED,
    rates: dict[str, float] | None = None,
) -> tuple[dict[str, float], float]:
    """Logistic-loss SGD over the weight table, regularised toward its starting (Bayes) values.

    ``rates`` scales each feature's step (default 1): consistency keeps product vocabulary from
    relearning the weight the consistency scaling took away.
    """
    rate = rates if rates is not None else dict.fromkeys(weights, 1.0)
    w = {k: v * BAYES_SCALE for k, v in weights.items()}
    start = dict(w)
    b = bias * BAYES_SCALE
    order = list(range(len(labels)))
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            present = [f for f in feature_sets[i] if f in w]
            z = b + sum(w[f] for f in present)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = (labels[i] - p) * LEARNING_RATE
            b += g
            for f in present:
                w[f] += g * rate[f] - PRIOR_STRENGTH * (w[f] - start[f])
    return {k: round(v, 5) for k, v in w.items() if v != 0.0}, b


def platt(logits: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """Fit ``sigmoid(a * z + b)`` to labels by damped Newton steps on the log loss."""
    raw = np.asarray(logits, dtype=float)
    scale = float(raw.std()) or 1.0
    z = raw / scale  # standardised so that the Newton steps are well conditioned
    y = np.asarray(labels, dtype=float)
    # Platt's smoothed targets keep the fit finite on separable data.
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    t = np.where(y > 0, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))

    def loss(a: float, b: float) -> float:
        m = a * z + b
        return float(np.sum(np.logaddexp(0, m) - t * m))

    a, b = 1.0, 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(a * z + b, -30, 30)))
        g = np.array([np.sum((p - t) * z), np.sum(p - t)])
        s = p * (1 - p) + 1e-9
        h = np.array([[np.sum(s * z * z), np.sum(s * z)], [np.sum(s * z), np.sum(s)]])
        step = np.linalg.solve(h + 1e-6 * np.eye(2), g)
        current, shrink = loss(a, b), 1.0
        while shrink > 1e-6 and loss(a - shrink * step[0], b - shrink * step[1]) > current:
            shrink /= 2
        a, b = a - shrink * step[0], b - shrink * step[1]
        if np.abs(shrink * step).max() < 1e-9:
            break
    return float(a / scale), float(b)


def train_model(
    rows: Sequence[Example],
    *,
    epochs: int = EPOCHS,
    seed: int = SEED,
    version: str | None = None,
    max_n: int = features.MAX_NGRAM,
    category_cap: int | None = CATEGORY_CAP,
    use_consistency: bool = True,
    lexicon: bool = True,
    social: bool = True,
    general: bool = True,
) -> SentimentModel:
    """Train a model on ``rows`` (all of them are training data: hold out before calling).

    Parameters
    ----------
    rows : sequence of Example
        Labelled training texts.
    epochs : int
        Correction passes; 0 keeps the pure Bayes table (calibrated).
    version : str, optional
        Defaults to ``nb-<date>-<hash of weights>``.
    max_n : int
        Longest plain character n-gram (``features.extract``); stored in the model.
    category_cap : int, optional
        Correction rows per category; None uses every row.
    use_consistency : bool
        Scale weights and steps by cross-category consistency.
    lexicon : bool
        Add the lexicon features (``lexicon.txt``, see ``features``); stored in the model.
    social : bool
        Add the social-signal features (sarcasm, rhetorical questions; see ``features``); stored
        in the model.
    general : bool
        Add the general-lexicon features (HowNet's word lists, ``hownet.txt``); stored in the
        model.

    Category balancing and consistency apply only when the rows carry two or more categories.
    """
    shuffled = list(rows)
    random.Random(seed + 1).shuffle(shuffled)
    cut = int(len(shuffled) * CALIBRATION)
    calib, fit = shuffled[:cut], shuffled[cut:]
    fit_sets = [features.extract(r.text, max_n, lexicon, social, general) for r in fit]
    fit_labels = [r.label for r in fit]
    fit_cats = [r.category for r in fit]
    several = len(set(fit_cats)) > 1
    weights, prior = bayes_weights(fit_sets, fit_labels)
    rates = None
    if several and use_consistency:
        rates = consistency(fit_sets, fit_labels, fit_cats)
        weights = {f: v * rates[f] for f, v in weights.items() if f in rates}
    if epochs > 0:
        chosen = cap_per_category(fit_cats, category_cap) if several and category_cap else None
        sets = [fit_sets[i] for i in chosen] if chosen is not None else fit_sets
        labels = [fit_labels[i] for i in chosen] if chosen is not None else fit_labels
        weights, bias = correct(weights, prior, sets, labels, epochs=epochs, seed=seed, rates=rates)
    else:
        bias = prior
    model = SentimentModel(
        version="unversioned",
        weights=weights,
        bias=bias,
        max_n=max_n,
        lexicon=lexicon,
        social=social,
        general=general,
    )
    if calib:
        model.platt = platt([model.logit(r.text) for r in calib], [r.label for r in calib])
    digest = hashlib.sha1(repr(sorted(weights.items())[:: max(1, len(weights) // 5000)]).encode())
    model.version = version or f"nb-{timeutil.now():%Y%m%d}-{digest.hexdigest()[:8]}"
    model.meta = {
        "trained_on": len(fit),
        "calibrated_on": len(calib),
        "features": len(weights),
        "epochs": epochs,
        "seed": seed,
        "max_n": max_n,
        "lexicon": lexicon,
        "social": social,
        "general": general,
        "category_cap": category_cap if several else None,
        "consistency": bool(several and use_consistency),
    }
    return model
