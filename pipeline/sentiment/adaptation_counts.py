"""What adaptation (``adaptation.py``) computes over a corpus' feature ids, in numpy.

A module of its own so that numpy is imported only once the corpus pass
(``adaptation._features``) has freed its look-up table and the names of the features it met:
importing numpy takes about 20 MB of RSS in a bare interpreter, 9 of them its libraries' pages,
and imported before the pass it added them to the pass' own peak (7,800 reviews of at least 60
characters: the table 7.6 MB, its ints 6.8 MB, 162,184 names not in the model 13 MB).
BENCHMARKS.md, "Peak memory of adapting (session 18)".
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from koubei.pipeline.sentiment.adaptation_settings import (
    CONFIDENT,
    MIN_DOCS,
    SATURATION_QUANTILE,
    SHIFT_BOUND,
    STRENGTH,
)
from koubei.pipeline.sentiment.model import BAYES_SCALE, SentimentModel

#: Units counted at once by ``Corpus.counts`` (about 200,000 ids).
COUNT_BLOCK = 2048


def counted(
    ids: npt.NDArray[np.intc],
    bounds: npt.NDArray[np.intp],
    selected: npt.NDArray[np.bool_],
    size: int,
) -> npt.NDArray[np.intp]:
    """How many of the ``selected`` units (unit ``u``: ``ids[bounds[u]:bounds[u + 1]]``) hold
    each id below ``size``, ``COUNT_BLOCK`` units at a time: ``np.bincount`` casts what it
    counts to intp, eight bytes an id (the 1.5 million ids of 7,800 long reviews' whole texts
    at once: 12 MB more of peak, twice a round)."""
    counts = np.zeros(size, dtype=np.intp)
    for low in range(0, len(selected), COUNT_BLOCK):
        high = min(low + COUNT_BLOCK, len(selected))
        part = ids[bounds[low] : bounds[high]]
        sizes = bounds[low + 1 : high + 1] - bounds[low:high]
        counts += np.bincount(part[np.repeat(selected[low:high], sizes)], minlength=size)
    return counts


def kept(
    model: SentimentModel, ids: array[int], starts: array[int], first: array[int], size: int
) -> npt.NDArray[np.bool_]:
    """Which of ``size`` features (by id) can change a score or a count: those ``model`` weighs
    (ids below its count: ``adaptation._features`` numbers them first), and those in at least
    ``MIN_DOCS`` whole texts (a text's first unit, which ``Corpus.documents`` counts; in fewer,
    ``shifted`` never learns a feature whatever the pseudo-labels)."""
    whole = np.zeros(len(starts) - 1, dtype=np.bool_)
    whole[first[:-1]] = True
    bounds = np.asarray(starts, dtype=np.intp)
    chosen = counted(np.frombuffer(ids, dtype=np.intc), bounds, whole, size) >= max(MIN_DOCS, 1)
    chosen[: len(model.weights)] = True
    return chosen


def compacted(
    kept: npt.NDArray[np.bool_],
    ids: array[int],
    starts: array[int],
    mention_only: dict[int, set[int]],
) -> tuple[list[int], dict[int, set[int]]]:
    """``ids`` (shortened in place) without the features not ``kept``, the others renumbered in
    order, and the units' ``starts`` and ``mention_only`` to match.

    Nothing read afterwards changes, bit for bit: a dropped feature weighs 0.0 in every round
    (the model has no weight for it and ``shifted`` never learns it), and ``logits``' sums,
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
    for low in range(0, len(bounds) - 1, COUNT_BLOCK):
        high = min(low + COUNT_BLOCK, len(bounds) - 1)
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
class Corpus:
    """The features of the sampled texts, as ids into ``names``: unit ``u``'s are
    ``ids[starts[u]:starts[u + 1]]``; text ``t``'s units (the text, then its sentences when it
    is long: ``model.scored_units``) are ``first[t]:first[t + 1]``.

    Kept so that scoring for the pseudo-labels, counting, and scoring with the adapted weights
    extract each text's features once (extraction is nearly all of scoring's time). The log-odds
    are summed in Python (``logits``), in the order ``SentimentModel.logit`` sums them, so that
    they are its floats bit for bit on every Python (3.12 compensates ``sum`` of floats, which
    numpy does not). The rest runs in numpy (the counts, each round's learning in ``shifted``,
    the correction's shift), with the float64 operations of the Python loops it replaced in
    their order, so the adapted model is the same, bit for bit: importing numpy costs about
    0.09 s, and on 10,545 reviews those loops took 0.55 s, the numpy passes 0.03 s
    (BENCHMARKS.md, "Cost after the saturating correction").

    Memory: the ids are the bulk (7,800 reviews of at least 60 characters: 2.6 million, 10 MB,
    once ``of`` has dropped the 300,000 of features no score can use), and nothing copies them:
    ``documents`` and ``counts`` read them in place, ``COUNT_BLOCK`` units at a time. The peak
    of ``score`` is the corpus pass' (ids and look-up table), then numpy's import and ``of``
    (BENCHMARKS.md, "Peak memory of adapting (session 18)")."""

    names: list[str]
    ids: array[int]
    starts: list[int]
    first: list[int]
    #: text → the ids of its features that only its mentions of a monitored name give
    mention_only: dict[int, set[int]]
    #: the units that have features and where each starts, for ``np.add.reduceat`` (which gives
    #: an empty unit its next unit's first value, not nothing)
    filled: npt.NDArray[np.intp] = field(init=False)
    #: ``ids`` and ``starts`` as arrays (``ids`` is not copied)
    id_view: npt.NDArray[np.intc] = field(init=False)
    bounds: npt.NDArray[np.intp] = field(init=False)
    filled_starts: npt.NDArray[np.intp] = field(init=False)

    def __post_init__(self) -> None:
        self.id_view = np.frombuffer(self.ids, dtype=np.intc)
        self.bounds = np.asarray(self.starts, dtype=np.intp)
        self.filled = np.flatnonzero(self.bounds[1:] > self.bounds[:-1])
        self.filled_starts = self.bounds[self.filled]

    @classmethod
    def of(
        cls,
        model: SentimentModel,
        joined: str,
        lengths: array[int],
        ids: array[int],
        starts: array[int],
        first: array[int],
        mention_only: dict[int, set[int]],
    ) -> Corpus:
        """The corpus of ``adaptation._features``' pass (the names of the features it met that
        the model has no weight for ``joined``, each ``lengths`` long; the units' ids, ...)
        without the features that can never change a score (``kept``); ``ids`` is shortened in
        place. Of 210,705 features of 7,800 reviews of at least 60 characters, 149,060 were in
        no weight of the model and in fewer than ``MIN_DOCS`` texts."""
        weighed = len(model.weights)
        chosen = kept(model, ids, starts, first, weighed + len(lengths))
        sizes = np.frombuffer(lengths, dtype=np.intc)
        new = np.flatnonzero(chosen[weighed:])
        ends = np.cumsum(sizes, dtype=np.intp)[new]
        names = list(model.weights)  # (the ids ``_features`` gave the model's features)
        names += [
            joined[end - size : end]
            for end, size in zip(ends.tolist(), sizes[new].tolist(), strict=True)
        ]
        del sizes, new, ends
        compacted_starts, mention_only = compacted(chosen, ids, starts, mention_only)
        return cls(names, ids, compacted_starts, first.tolist(), mention_only)

    def documents(self, chosen: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
        """How many of the ``chosen`` texts (a flag a text) count each feature (by id) when
        adapting: a text counts its whole text's (its first unit's; distinct, as features are a
        set), less those only its mentions of a monitored name give (the corpus' mood about 蒙牛
        says nothing about 蒙; the texts where a character is in an ordinary word still teach
        it). Read in place: a copy of the whole texts' ids was 6 MB of 7,800 long reviews."""
        units = np.zeros(len(self.starts) - 1, dtype=np.bool_)
        units[np.asarray(self.first[:-1], dtype=np.intp)[chosen]] = True
        counts = counted(self.id_view, self.bounds, units, len(self.names))
        for t, named in self.mention_only.items():
            if chosen[t] and named:  # each is in the text's first unit, once
                counts[list(named)] -= 1
        return counts

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
        ids = self.id_view
        counts = np.zeros(len(self.starts) - 1, dtype=np.int64)
        # A block of units at a time: reduceat casts what it sums to int64, eight bytes an id
        # (all 2.5 million ids of 12,000 reviews at once raised adapting's peak by 20 MB), and
        # indexing by int32 ids casts them to intp (flagging all 2.9 million ids of 7,800 long
        # reviews at once, 3 MB of flags and 23 MB of their ids as intp).
        filled, at = self.filled, self.filled_starts
        for low in range(0, len(filled), COUNT_BLOCK):
            high = min(low + COUNT_BLOCK, len(filled))
            end = at[high] if high < len(filled) else len(ids)  # (empty units between)
            block = mask[ids[at[low] : end]]
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


def shift_and_saturation(
    model: SentimentModel, corpus: Corpus, logits: list[float], counts: list[int], share: float
) -> tuple[float, float]:
    """Step 3's ``(shift, K)``: the texts' ``SATURATION_QUANTILE`` quantile ``K`` of adapted
    features, and the ``shift`` for which ``a * logit + b - shift * min(1, k / K) >= 0`` on
    the positive ``share`` of the texts (as a whole; ``holding_shift``). No shift when the share
    is 0 or 1 or no text has an adapted feature."""
    whole = corpus.first[:-1]
    k = [counts[u] for u in whole]
    saturation = max(1.0, _quantile([float(n) for n in k], SATURATION_QUANTILE))
    if not 0 < share < 1 or not any(k):
        return 0.0, saturation
    a, b = model.platt
    # The same float64 operations, in the same order, as ``a * logit + b`` and
    # ``min(1, k / K)`` in Python (``SentimentModel.calibrated``).
    calibrated = a * np.array([logits[u] for u in whole]) + b
    fraction = np.minimum(1.0, np.array(k, dtype=np.float64) / saturation)
    return holding_shift(calibrated, fraction, share), saturation


#: Relative distance under which two flip points are one (``holding_shift``).
TIE = 1e-12


def holding_shift(
    calibrated: npt.NDArray[np.float64], fraction: npt.NDArray[np.float64], share: float
) -> float:
    """The shift (within ``±SHIFT_BOUND``) that leaves the most texts positive
    (``calibrated - shift * fraction >= 0``) the positive ``share`` allows, taken halfway
    between the flip points of the last text it keeps positive and the first it turns negative
    (where every moving text is kept on one side, the shift nearest 0 a margin past the last).

    A text with ``fraction`` f > 0 is positive while the shift is at most its flip point
    ``calibrated / f``, so the share falls as the shift grows. The smallest shift that holds the
    share (what a bisection finds, as before session 20) sits on a text's flip point: that text
    scored 0.5, and which side of it it fell on followed the last bits of its log-odds, which
    follow the order a set of features is summed in, set by the string hash seed (one text of
    every adapted file, 0.49999999999999994 in one process and 0.5 in the next). Halfway, no
    text is within rounding of 0.5 unless two flip points are: texts with the same flip point
    (the same text twice) turn together, so a gap between equal ones is no gap."""
    texts = len(calibrated)
    allowed = math.floor(share * texts)  # the most texts whose share is at most ``share``
    while allowed < texts and (allowed + 1) / texts <= share:
        allowed += 1
    while allowed > 0 and allowed / texts > share:
        allowed -= 1
    moving = fraction > 0
    fixed = int(np.count_nonzero(calibrated[~moving] >= 0))  # positive whatever the shift
    flips = np.sort(calibrated[moving] / fraction[moving])[::-1]
    edges = np.concatenate(
        ([SHIFT_BOUND], np.clip(flips, -SHIFT_BOUND, SHIFT_BOUND), [-SHIFT_BOUND])
    )
    kept = min(allowed - fixed, len(flips))  # of the texts a shift can turn, those left positive
    if kept < 0:  # more than the share are positive whatever the shift
        return SHIFT_BOUND
    # Flip points within rounding of each other are one (the same features summed in another
    # order): a shift between them would leave both on 0.5.
    while kept > 0 and edges[kept] - edges[kept + 1] <= TIE * max(1.0, abs(edges[kept])):
        kept -= 1
    high, low = float(edges[kept]), float(edges[kept + 1])  # shifts in (low, high] keep ``kept``
    if 0 < kept < len(flips):  # between two texts' flip points
        return (high + low) / 2
    # At an end one side is the bound, not a text: the shift nearest 0 a margin inside, rather
    # than halfway to ±SHIFT_BOUND, which would throw every text that moves to an extreme.
    margin = min(1.0, (high - low) / 2)
    return min(max(0.0, low + margin), high - margin)


def shifted(
    corpus: Corpus,
    base: npt.NDArray[np.float64],
    calls: list[float],
    frozen: npt.NDArray[np.bool_],
    held: set[int],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp], int]:
    """The weights by id with each feature's corpus log ratio among the texts ``calls`` makes
    confident (counted by ``Corpus.documents``) added to ``base`` (the unadapted
    weights), the ids changed, and how many texts were pseudo-labelled. A feature ``frozen``
    marks that would have changed keeps its weight and is added to ``held``.

    In numpy, with the float64 operations of the loop over features it replaced, in the same
    order: the same weights, bit for bit (the logs are still ``math.log``'s)."""
    sure = np.asarray(calls, dtype=np.float64)
    on_pos = sure >= CONFIDENT
    on_neg = sure <= 1 - CONFIDENT
    # documents of each feature among the pseudo-positives and the pseudo-negatives
    dp, dn = corpus.documents(on_pos), corpus.documents(on_neg)
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


def _quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile, interpolated linearly between the closest ranks (numpy's default)."""
    ranked = sorted(values)
    position = q * (len(ranked) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ranked) - 1)
    return ranked[low] + (ranked[high] - ranked[low]) * (position - low)
