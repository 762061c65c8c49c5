"""Adapting the model to unlabelled text of a new domain (self-training, no labels needed).

The shipped weights come from shop reviews; a corpus from elsewhere (dairy, books, hotels, food
delivery) uses words those reviews never taught, or taught with another leaning. Given that
corpus, :func:`adapt` learns its vocabulary from the model's own confident calls:

1. score every text; those at ``CONFIDENT`` or beyond (either side) are pseudo-labelled;
2. for every feature seen in at least ``MIN_DOCS`` of them, the log ratio of its document
   frequency among pseudo-positives and pseudo-negatives (each divided by its side's count, so
   the corpus' balance cancels) is added to its weight, on the weights' scale
   (``model.BAYES_SCALE``, as training starts from the Bayes table);
3. the calibrated log-odds are corrected so that the share of texts scored positive is the one
   the unadapted model gave. Self-training drifts toward the side that already dominates (books
   went from 58 % to 74 % called positive, true share 55 %, and lost accuracy); holding the
   share means adaptation re-ranks texts but never moves the corpus' negative share by itself.
   The correction is not one constant for every text but saturates with the text's share of
   the drift: a unit (the text, or one of a long text's sentences: ``model.scored_units``)
   with ``k`` adapted features (those whose weight step 2 changed) has
   ``shift * min(1, k / K)`` taken off its calibrated log-odds, ``K`` being the
   ``SATURATION_QUANTILE`` quantile of ``k`` over the corpus' texts and ``shift`` the one that
   holds the share (found by bisection). The drift is the sum of many small shifts, so a long
   text carries much of it and a short one little; a constant sized for a corpus of long texts
   threw short ones to an extreme (books fold: the intercept went −0.21 → −10.19, and
   ``很好`` from 0.85 to 0.00). Leave one category out (``python -m bench sentiment --adapt``,
   BENCHMARKS.md), on the short reviews (at most 12 characters) of the other eight
   categories: accuracy 0.9444 unadapted, 0.9123 saturating, 0.8783 with the constant (a
   prototype on the same folds); on the left-out category's own texts the mean is 0.9174
   against the constant's 0.9170 (dairy 0.8770 → 0.8765, the worst fold water heaters
   0.8970 → 0.8935). The quantile was picked from six values (0.05 to 0.5) on those same
   nine folds, so these figures flatter it somewhat. A unit with no adapted feature keeps its
   unadapted calibration.

``adapt_and_score`` does this and scores the texts with one feature extraction per text: the
features found while scoring for the pseudo-labels are kept (as ids into a vocabulary of the
corpus) and give the counts and the adapted scores, so adapting costs little more than scoring.

Steps 1-3 run ``ROUNDS`` times; a later round takes its pseudo-labels from the round before's
adapted model, its log ratios still going on the unadapted weights.

**Monitored names are not learnt.** In a feed that is mostly one brand's crisis the brand's
name is a confident-negative feature like any other: adapted to the test sample's negative dairy
reviews (every one names 蒙牛) among other categories' reviews, the shipped model learnt 蒙牛 and
蒙 as negative and scored the neutral ``蒙牛的新品上市了`` 0.38 instead of 0.65. A per-source
model adapted then would score every later neutral mention negative and inflate the negative
share alerts are raised on. So, given the ``monitored`` names (the command layer passes every
name, alias and competitor of brands.yaml; this package reads no config), the features of those
names keep the unadapted weights (``features.MonitoredNames.is_name_feature``: the name's
n-grams of two or more characters, and those holding it whole), and a mention is no evidence for
a character of the name the text has nowhere else (``mention_only``: 蒙 of 蒙牛, while 牛 in 牛奶
still learns). The same feed then scores the mention 0.61 (``test_adaptation.py``). Two
general guards (a cap on a topic word's document share, halving the shift of features the model
already knew) lost leave-one-category-out accuracy; with this one all nine folds score as
before with brands.yaml's names held, and with the dairy reviews' own brands (蒙牛, 伊利, 光明)
held all but books (−0.03 points), mean 0.9170 both (BENCHMARKS.md).

**An adapted model is not adapted again** (:class:`AlreadyAdaptedError`). Its weights are the
adapted ones and its file keeps no others, so a second adaptation would learn its corpus on top
of the first, and its correction would be the second's alone: the features the first adapted
that the second corpus does not change would keep their adapted weights with no correction
(adapted to the sample's books, then its phones: 646 of 1,107). Adapt the model it was adapted
from (:func:`adapted_from`, the start of its version) to the union of the texts instead.

Measured leave-one-category-out (``python -m bench sentiment --adapt``, BENCHMARKS.md): with
one round every category's accuracy on its own texts rose (mean 0.8884 → 0.9135); with two the
mean was 0.9170 with the constant correction (eight categories above their unadapted figure,
tablets 0.04 points below) and is 0.9174 with the saturating one, all nine above. The
threshold, minimum and strength were chosen on three of the nine folds (dairy, books,
computers), the rounds on all nine. Nothing here reads a label: the corpus is the user's own
text.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from itertools import compress

import numpy as np
import numpy.typing as npt

from koubei.pipeline.sentiment import features, opinion
from koubei.pipeline.sentiment.model import BAYES_SCALE, SentimentModel, scored_units

__all__ = [
    "ADAPTED_MARK",
    "CONFIDENT",
    "MAX_TEXTS",
    "MIN_DOCS",
    "MIN_TEXTS",
    "ROUNDS",
    "SATURATION_QUANTILE",
    "AlreadyAdaptedError",
    "adapt",
    "adapt_and_score",
    "adapted_from",
]

#: Probability (or 1 - it) at which the model's call is taken as a pseudo-label.
CONFIDENT = 0.8
#: Texts a feature must appear in (among the pseudo-labelled) to be adapted.
MIN_DOCS = 3
#: Fewer texts with an opinion than this and the counts are noise: the model is returned as is.
MIN_TEXTS = 200
#: How much of a feature's corpus log ratio is added (1.0: on the Bayes table's footing).
STRENGTH = 1.0
#: Texts adapted on at most: a larger corpus is sampled evenly. Their features are held in memory
#: while adapting (12,000 reviews: 2.5 million ids and 190,000 distinct features; ``score`` on
#: 10,545 reviews peaks near 96 MB of RSS, 11 of them numpy's import, against 36 MB scoring
#: without adapting), so this cap bounds memory for any file. Every leave-one-category-out fold
#: measured had at most 10,000 texts.
MAX_TEXTS = 12_000
#: Self-training rounds: the second takes its pseudo-labels from the first round's adapted model
#: (its log ratios still go on the unadapted weights, not on top of the first's). Leave one
#: category out, all nine, every row: mean 0.9135 with one round, 0.9170 with two
#: (BENCHMARKS.md); a round costs a pass of sums over the kept ids, not an extraction.
ROUNDS = 2
#: The correction of step 3 is full for a unit with at least this quantile (over the corpus'
#: texts) of adapted features, proportionally less below it. Picked from six values (0.05 to
#: 0.5) on the nine leave-one-category-out folds (see step 3 above).
SATURATION_QUANTILE = 0.1
#: Bisection steps for the share-holding shift (from ±SHIFT_BOUND: far below 1e-12 apart).
SHIFT_STEPS = 60
SHIFT_BOUND = 50.0


#: Units counted at once by ``_Corpus.counts`` (about 200,000 ids).
_COUNT_BLOCK = 2048


class _Vocabulary(dict[str, int]):
    """Feature → id, numbering a feature the first time it is looked up."""

    def __missing__(self, feature: str) -> int:
        self[feature] = number = len(self)
        return number


def _counted(
    ids: npt.NDArray[np.intc],
    bounds: npt.NDArray[np.intp],
    selected: npt.NDArray[np.bool_],
    size: int,
) -> npt.NDArray[np.intp]:
    """How many of the ``selected`` units (unit ``u``: ``ids[bounds[u]:bounds[u + 1]]``) hold
    each id below ``size``, ``_COUNT_BLOCK`` units at a time: ``np.bincount`` casts what it
    counts to intp, eight bytes an id (the 1.5 million ids of 7,800 long reviews' whole texts
    at once: 12 MB more of peak, twice a round)."""
    counts = np.zeros(size, dtype=np.intp)
    for low in range(0, len(selected), _COUNT_BLOCK):
        high = min(low + _COUNT_BLOCK, len(selected))
        part = ids[bounds[low] : bounds[high]]
        sizes = bounds[low + 1 : high + 1] - bounds[low:high]
        counts += np.bincount(part[np.repeat(selected[low:high], sizes)], minlength=size)
    return counts


def _kept(
    model: SentimentModel,
    vocabulary: dict[str, int],
    ids: array[int],
    starts: list[int],
    first: list[int],
) -> npt.NDArray[np.bool_]:
    """Which features (by id) can change a score or a count: those ``model`` weighs, and those
    in at least ``MIN_DOCS`` whole texts (a text's first unit, which ``_Corpus.evidence``
    counts; with fewer, ``_shifted`` never learns a feature whatever the pseudo-labels)."""
    weighted = np.fromiter(
        map(model.weights.__contains__, vocabulary), dtype=np.bool_, count=len(vocabulary)
    )
    whole = np.zeros(len(starts) - 1, dtype=np.bool_)
    whole[first[:-1]] = True
    bounds = np.asarray(starts, dtype=np.intp)
    documents = _counted(np.frombuffer(ids, dtype=np.intc), bounds, whole, len(vocabulary))
    return weighted | (documents >= max(MIN_DOCS, 1))


def _compacted(
    kept: npt.NDArray[np.bool_],
    ids: array[int],
    starts: list[int],
    mention_only: dict[int, set[int]],
) -> tuple[list[int], dict[int, set[int]]]:
    """``ids`` (shortened in place) without the features not ``kept``, the others renumbered in
    order, and the units' ``starts`` and ``mention_only`` to match.

    Nothing read afterwards changes, bit for bit: a dropped feature weighs 0.0 in every round
    (the model has no weight for it and ``_shifted`` never learns it), and ``logits``' sums,
    which start from 0 and so are never -0.0, are the same floats without their ``+ 0.0``
    terms; it is in no count of learnt features, and its document counts are never read. A
    text keeps its ``mention_only`` entry even when none of its ids is kept: whether there is
    any names the monitored names in the adapted model's version."""
    renumbered = np.cumsum(kept, dtype=np.intc) - 1
    renumbered[~kept] = -1
    bounds = np.asarray(starts, dtype=np.intp)
    compacted = np.zeros_like(bounds)
    view = np.frombuffer(ids, dtype=np.intc)
    written = 0
    for low in range(0, len(bounds) - 1, _COUNT_BLOCK):
        high = min(low + _COUNT_BLOCK, len(bounds) - 1)
        block = renumbered[view[bounds[low] : bounds[high]]]
        keep = block >= 0
        before = np.zeros(len(block) + 1, dtype=np.intp)  # kept ids before each position
        np.cumsum(keep, out=before[1:])
        compacted[low + 1 : high + 1] = written + before[bounds[low + 1 : high + 1] - bounds[low]]
        part = block[keep]
        view[written : written + len(part)] = part  # (never past the ids still to be read)
        written += len(part)
    del view  # (an array exporting its buffer cannot be shortened)
    del ids[written:]
    mention_only = {
        t: {int(renumbered[i]) for i in named if kept[i]} for t, named in mention_only.items()
    }
    return compacted.tolist(), mention_only


@dataclass
class _Corpus:
    """The features of the sampled texts, as ids into ``names``: unit ``u``'s are
    ``ids[starts[u]:starts[u + 1]]``; text ``t``'s units (the text, then its sentences when it
    is long: ``model.scored_units``) are ``first[t]:first[t + 1]``.

    Kept so that scoring for the pseudo-labels, counting, and scoring with the adapted weights
    extract each text's features once (extraction is nearly all of scoring's time). The log-odds
    are summed in Python (``logits``), in the order ``SentimentModel.logit`` sums them, so that
    they are its floats bit for bit on every Python (3.12 compensates ``sum`` of floats, which
    numpy does not). The rest runs in numpy (the counts, each round's learning in ``_shifted``,
    the correction's bisection), with the float64 operations of the Python loops it replaced in
    their order, so the adapted model is the same, bit for bit: importing numpy costs about
    0.09 s, and on 10,545 reviews those loops took 0.55 s, the numpy passes 0.03 s
    (BENCHMARKS.md, "Cost after the saturating correction")."""

    names: list[str]
    ids: array[int]
    starts: list[int]
    first: list[int]
    #: text → the ids of its features that only its mentions of a monitored name give
    mention_only: dict[int, set[int]]
    #: the units that have features and where each starts, for ``np.add.reduceat`` (which gives
    #: an empty unit its next unit's first value, not nothing)
    filled: npt.NDArray[np.intp] = field(init=False)
    filled_starts: npt.NDArray[np.intp] = field(init=False)

    def __post_init__(self) -> None:
        starts = np.asarray(self.starts, dtype=np.intp)
        self.filled = np.flatnonzero(starts[1:] > starts[:-1])
        self.filled_starts = starts[self.filled]

    @classmethod
    def of(
        cls, model: SentimentModel, texts: Sequence[str], monitored: features.MonitoredNames
    ) -> _Corpus:
        vocabulary = _Vocabulary()
        ids = array("i")  # 4 bytes an id; about 130 ids a review
        starts = [0]
        first = [0]
        mention_only: dict[int, set[int]] = {}
        for t, text in enumerate(texts):
            for unit in scored_units(text):
                found = features.extract(
                    unit, model.max_n, model.lexicon, model.social, model.general
                )
                # One C-level look-up a feature; only a new one calls __missing__ (a setdefault
                # in a comprehension took a fifth of the adaptation's time).
                ids.extend(map(vocabulary.__getitem__, found))
                starts.append(len(ids))
                if monitored and len(starts) - 2 == first[-1]:  # the whole text, counted
                    named = monitored.mention_only(unit) & found
                    if named:
                        mention_only[t] = {vocabulary[f] for f in named}
            first.append(len(starts) - 1)
        # Only the names of the features that can matter are kept, and only their ids: the
        # look-up table was a third of the memory adapting takes, and of 210,705 features of
        # 7,800 long reviews 149,060 are in no weight of the model and in fewer than MIN_DOCS
        # texts, so they can never be learnt (``_shifted``) and only add 0.0 to a sum
        # (``_compacted``). Past this point ids are all that is read.
        kept = _kept(model, vocabulary, ids, starts, first)
        names = list(compress(vocabulary, kept.tolist()))
        del vocabulary  # (its table, the ids' ints and the dropped features' names)
        starts, mention_only = _compacted(kept, ids, starts, mention_only)
        return cls(names, ids, starts, first, mention_only)

    def evidence(self) -> tuple[npt.NDArray[np.intc], npt.NDArray[np.intp]]:
        """The ids every text counts for when adapting, one text after the other, and how many
        each has: its whole text's (its first unit's; distinct, as features are a set), less
        those only its mentions of a monitored name give (the corpus' mood about 蒙牛 says
        nothing about 蒙; the texts where a character is in an ordinary word still teach it)."""
        starts = np.asarray(self.starts, dtype=np.intp)
        sizes = starts[1:] - starts[:-1]  # every unit's
        whole = np.asarray(self.first[:-1], dtype=np.intp)
        in_whole = np.zeros(len(sizes), dtype=np.bool_)
        in_whole[whole] = True
        # a flag an id rather than its position (a byte, not eight: the memory adapting takes)
        ids = np.frombuffer(self.ids, dtype=np.intc)[np.repeat(in_whole, sizes)]
        lengths = sizes[whole]
        if not self.mention_only:
            return ids, lengths
        offsets = np.cumsum(lengths) - lengths  # where each text's ids start in ``ids``
        keep = np.ones(len(ids), dtype=np.bool_)
        for t, named in self.mention_only.items():
            part = slice(offsets[t], offsets[t] + lengths[t])
            keep[part] = ~np.isin(ids[part], list(named))
            lengths[t] = np.count_nonzero(keep[part])
        return ids[keep], lengths

    def logits(self, weights: list[float], bias: float) -> list[float]:
        """Every unit's log-odds under ``weights`` (by feature id). The sum runs in the order
        the features were found, as ``SentimentModel.logit``'s does: the same float, bit for bit."""
        get, ids, starts = weights.__getitem__, self.ids, self.starts
        return [
            bias + sum(map(get, ids[starts[u] : starts[u + 1]])) for u in range(len(starts) - 1)
        ]

    def counts(self, changed: npt.ArrayLike) -> list[int]:
        """Every unit's number of ``changed`` features (ids are distinct within a unit)."""
        mask = np.zeros(len(self.names), dtype=np.bool_)
        mask[np.asarray(changed, dtype=np.intp)] = True
        flags = mask[np.frombuffer(self.ids, dtype=np.intc)]
        counts = np.zeros(len(self.starts) - 1, dtype=np.int64)
        # A block of units at a time: reduceat casts what it sums to int64, eight bytes an id
        # (all 2.5 million ids of 12,000 reviews at once raised adapting's peak by 20 MB).
        filled, at = self.filled, self.filled_starts
        for low in range(0, len(filled), _COUNT_BLOCK):
            high = min(low + _COUNT_BLOCK, len(filled))
            end = at[high] if high < len(filled) else len(flags)  # (empty units between)
            block = flags[at[low] : end]
            counts[filled[low:high]] = np.add.reduceat(
                block, at[low:high] - at[low], dtype=np.int64
            )
        return counts.tolist()

    def probabilities(
        self, model: SentimentModel, logits: list[float], counts: list[int]
    ) -> list[float]:
        """Every text's ``probability_aggregated`` under ``model``, from its units' ``logits``
        and ``counts`` of ``model.adapted`` features (``SentimentModel.calibrated``)."""
        units = list(map(model.calibrated, logits, counts))
        first = self.first
        return [model.combine(units[first[t] : first[t + 1]]) for t in range(len(first) - 1)]


def _sample(count: int) -> list[int]:
    """The positions of the texts adapted on: all of them, or ``MAX_TEXTS`` evenly spaced."""
    if count <= MAX_TEXTS:
        return list(range(count))
    step = count / MAX_TEXTS
    return [int(i * step) for i in range(MAX_TEXTS)]


def _quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile, interpolated linearly between the closest ranks (numpy's default)."""
    ranked = sorted(values)
    position = q * (len(ranked) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ranked) - 1)
    return ranked[low] + (ranked[high] - ranked[low]) * (position - low)


#: What an adapted model's version holds after the version of the model it was adapted from:
#: ``<version>+adapted-<hash>``, as ``_adapted`` writes it.
ADAPTED_MARK = "+adapted-"


def _correction(
    model: SentimentModel, corpus: _Corpus, logits: list[float], counts: list[int], share: float
) -> tuple[float, float]:
    """Step 3's ``(shift, K)``: the texts' ``SATURATION_QUANTILE`` quantile ``K`` of adapted
    features, and the ``shift`` for which ``a * logit + b - shift * min(1, k / K) >= 0`` on
    the positive ``share`` of the texts (as a whole), by bisection (that share falls as
    ``shift`` grows). No shift when the share is 0 or 1 or no text has an adapted feature."""
    whole = corpus.first[:-1]
    k = [counts[u] for u in whole]
    saturation = max(1.0, _quantile([float(n) for n in k], SATURATION_QUANTILE))
    if not 0 < share < 1 or not any(k):
        return 0.0, saturation
    a, b = model.platt
    # The same float64 operations, in the same order, as ``a * logit + b`` and
    # ``z - shift * min(1, k / K)`` in Python (``SentimentModel.calibrated``): the same shift.
    calibrated = a * np.array([logits[u] for u in whole]) + b
    fraction = np.minimum(1.0, np.array(k, dtype=np.float64) / saturation)
    low, high = -SHIFT_BOUND, SHIFT_BOUND
    for _ in range(SHIFT_STEPS):
        middle = (low + high) / 2
        above = int(np.count_nonzero(calibrated - middle * fraction >= 0))
        if above / len(whole) > share:
            low = middle
        else:
            high = middle
    return (low + high) / 2, saturation


def _shifted(
    evidence: tuple[npt.NDArray[np.intc], npt.NDArray[np.intp]],
    base: npt.NDArray[np.float64],
    calls: list[float],
    frozen: npt.NDArray[np.bool_],
    held: set[int],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp], int]:
    """The weights by id with each feature's corpus log ratio among the texts ``calls`` makes
    confident (counted on their ``_Corpus.evidence``) added to ``base`` (the unadapted
    weights), the ids changed, and how many texts were pseudo-labelled. A feature ``frozen``
    marks that would have changed keeps its weight and is added to ``held``.

    In numpy, with the float64 operations of the loop over features it replaced, in the same
    order: the same weights, bit for bit (the logs are still ``math.log``'s)."""
    ids, lengths = evidence
    sure = np.asarray(calls, dtype=np.float64)
    on_pos = sure >= CONFIDENT
    on_neg = sure <= 1 - CONFIDENT
    # documents of each feature among the pseudo-positives and the pseudo-negatives
    bounds = np.zeros(len(lengths) + 1, dtype=np.intp)
    np.cumsum(lengths, out=bounds[1:])
    dp = _counted(ids, bounds, on_pos, len(base))
    dn = _counted(ids, bounds, on_neg, len(base))
    n_pos, n_neg = int(np.count_nonzero(on_pos)), int(np.count_nonzero(on_neg))
    # log((dp + 0.5) / (n_pos + 1)) - log((dn + 0.5) / (n_neg + 1)), with the logs of the
    # counts looked up (math.log's, not numpy's, whose last bit may differ)
    log_half = np.array([math.log(k + 0.5) for k in range(max(n_pos, n_neg) + 1)])
    sides = math.log(n_neg + 1) - math.log(n_pos + 1)
    scale = STRENGTH * BAYES_SCALE
    learnt = dp + dn >= max(MIN_DOCS, 1)  # (a feature no confident text has is not learnt)
    held.update(np.flatnonzero(learnt & frozen).tolist())
    changed = np.flatnonzero(learnt & ~frozen)
    by_id = base.copy()
    by_id[changed] += scale * (log_half[dp[changed]] - log_half[dn[changed]] + sides)
    return by_id, changed, n_pos + n_neg


def _adapted(
    model: SentimentModel, usable: list[str], monitored: Sequence[str]
) -> tuple[SentimentModel, list[float] | None]:
    """The adapted model and its ``probability_aggregated`` of every usable text; ``model`` and
    None when too few texts carry an opinion. Features of the ``monitored`` names keep their
    weights."""
    if len(usable) < MIN_TEXTS:
        return model, None
    positions = _sample(len(usable))
    sample = [usable[i] for i in positions]
    names = features.MonitoredNames(monitored)
    corpus = _Corpus.of(model, sample, names)
    get = model.weights.get
    base = [get(f, 0.0) for f in corpus.names]
    frozen = np.zeros(len(corpus.names), dtype=np.bool_)
    frozen[[i for i, f in enumerate(corpus.names) if names.is_name_feature(f)]] = True
    evidence = corpus.evidence()
    base_by_id = np.array(base)
    held: set[int] = set()
    # ``model``'s own calls; it is never an adapted one (``adapt_and_score`` refuses it), so
    # no unit holds an adapted feature of it and no call carries a correction
    no_adapted = [0] * (len(corpus.starts) - 1)
    calls = corpus.probabilities(model, corpus.logits(base, model.bias), no_adapted)
    del no_adapted
    positive_share = sum(p >= 0.5 for p in calls) / len(sample)
    for _round in range(ROUNDS):
        by_id, changed, pseudo = _shifted(evidence, base_by_id, calls, frozen, held)
        # The round's weights as a list for ``logits``: the unadapted ones, the changed replaced
        # (new floats for the changed only; all 190,000 anew each round grew the memory by 6 MB)
        round_weights = list(base)
        for i, weight in zip(changed.tolist(), by_id[changed].tolist(), strict=True):
            round_weights[i] = weight
        logits = corpus.logits(round_weights, model.bias)
        del round_weights
        counts = corpus.counts(changed)
        shift, saturation = _correction(model, corpus, logits, counts, positive_share)
        # a round's model differs from ``model`` by its correction alone until the last round:
        # only its calls are needed (the weights are ``by_id``, by feature id)
        step = replace(model, adapted_shift=shift, adapted_saturation=saturation)
        calls = corpus.probabilities(step, logits, counts)
    learnt = [corpus.names[i] for i in changed.tolist()]
    weights = dict(model.weights)
    weights.update(zip(learnt, by_id[changed].tolist(), strict=True))
    adapted_features = frozenset(learnt)
    del by_id, changed, counts, evidence, learnt
    # The version names what the weights came from: the texts and, when the monitored names
    # changed what they teach (a text mentions one, or a feature of one was held), the names:
    # the same texts adapted with and without them are two models. Names the texts never
    # touch change nothing, nor the version (the shipped brands on a file that names none).
    held_features = sorted(corpus.names[i] for i in held)
    touched = names.names if held or corpus.mention_only else []
    source = "\n".join(usable) + "".join(f"\n\x00monitored {n}" for n in touched)
    # And the correction (a model adapted by the constant correction this replaced, on the same
    # texts, scored differently under the same version otherwise). The shift to 9 significant
    # digits: its last ones follow the order a set of features is summed in, which the string
    # hash seed sets, and one file must give one version in every process (score and adapt).
    correction = f"\n\x00saturating {SATURATION_QUANTILE} {shift:.9g} {saturation!r}\n"
    source += correction + "\n".join(sorted(adapted_features))
    digest = hashlib.sha1(source.encode("utf-8")).hexdigest()[:8]
    adapted = replace(
        model,
        weights=weights,
        adapted=adapted_features,
        adapted_shift=shift,
        adapted_saturation=saturation,
        version=f"{model.version}{ADAPTED_MARK}{digest}",
        meta={
            **model.meta,
            "adapted_on": len(sample),
            "pseudo_labelled": pseudo,
            "monitored_names": touched,
            "held_name_features": held_features,
        },
    )
    kept = calls
    if len(sample) == len(usable):
        return adapted, kept
    # A sampled corpus: the texts adapted on are scored from their kept features, the rest
    # afresh by the adapted model (as ``score`` would score them).
    del corpus, logits
    probabilities: list[float | None] = [None] * len(usable)
    for position, p in zip(positions, kept, strict=True):
        probabilities[position] = p
    return adapted, [
        adapted.probability_aggregated(usable[i]) if p is None else p
        for i, p in enumerate(probabilities)
    ]


class AlreadyAdaptedError(ValueError):
    """``adapt`` was given an adapted model (see the module's docstring)."""

    def __init__(self, model: SentimentModel, base: str) -> None:
        super().__init__(
            f"an adapted model ({model.version}): adapting it again would leave the features "
            f"its adaptation changed without their correction; adapt {base} instead"
        )
        self.base = base


def adapted_from(model: SentimentModel) -> str | None:
    """The version of the model ``model`` was adapted from, None when it is not adapted (for a
    model adapted twice, by a koubei that did not refuse it, the first: the unadapted one)."""
    base, mark, _ = model.version.partition(ADAPTED_MARK)
    return base if mark else None


def adapt(
    model: SentimentModel, texts: Sequence[str], monitored: Iterable[str] = ()
) -> SentimentModel:
    """A copy of ``model`` adapted to ``texts`` (its version says so), or ``model`` itself when
    fewer than ``MIN_TEXTS`` of them carry an opinion (see :mod:`opinion`); an adapted ``model``
    is refused (:class:`AlreadyAdaptedError`). Features of the ``monitored`` names (brands) keep
    ``model``'s weights: the corpus' mood about a brand is what monitoring measures, not a
    meaning of its name."""
    return adapt_and_score(model, texts, monitored)[0]


def adapt_and_score(
    model: SentimentModel, texts: Sequence[str], monitored: Iterable[str] = ()
) -> tuple[SentimentModel, list[tuple[float, str]]]:
    """``adapt(model, texts, monitored)`` and that model's ``score`` of every text, in order.

    Each text's features are extracted once (in a corpus larger than ``MAX_TEXTS``, the texts
    left out of the sample are scored afresh by the adapted model). An adapted ``model`` is
    refused (:class:`AlreadyAdaptedError`), whatever the texts."""
    base = adapted_from(model)
    if base is not None:
        raise AlreadyAdaptedError(model, base)
    own = [opinion.own_text(t) if isinstance(t, str) else "" for t in texts]
    opinionated = [i for i, t in enumerate(own) if not opinion.is_no_opinion(t)]
    usable = [own[i] for i in opinionated]
    adapted, probabilities = _adapted(model, usable, list(monitored))
    if probabilities is None:
        probabilities = [adapted.probability_aggregated(text) for text in usable]
    out: list[tuple[float, str]] = [(0.5, opinion.NO_OPINION)] * len(own)
    for i, p in zip(opinionated, probabilities, strict=True):
        out[i] = (p, adapted.label_for(p))
    return adapted, out
