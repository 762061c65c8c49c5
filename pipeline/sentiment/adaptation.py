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
   holds the share (halfway between two texts' flip points, so that no text is left on
   0.5: ``adaptation_counts.holding_shift``). The drift is the sum of many small shifts, so a long
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
Once they are all read, the features that can never change a score (no weight in the model, in
fewer than ``MIN_DOCS`` texts: most of a corpus' features) are dropped, and only then is numpy
imported (``adaptation_counts``, which holds the counts and sums in numpy): that is what bounds
the memory adapting takes.

Steps 1-3 run ``ROUNDS`` times; a later round takes its pseudo-labels from the round before's
adapted model, its log ratios still going on the unadapted weights.

**Monitored names are not learnt.** In a feed that is mostly one brand's crisis the brand's
name is a confident-negative feature like any other: adapted to the test sample's negative dairy
reviews (every one names 蒙牛) among other categories' reviews, the shipped model learnt 蒙牛 and
蒙 as negative and scored the neutral ``蒙牛的新品上市了`` 0.38 instead of 0.65. A per-source
model adapted then would score every later neutral mention negative and inflate the negative
share alerts are raised on. So, given the ``monitored`` names (the command layer passes every
name, alias and competitor of brands.yaml; this package reads no config), the features of those
names keep the unadapted weights (``MonitoredNames.is_name_feature``: the name's
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

import contextlib
import hashlib
import os
import tempfile
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import replace
from itertools import islice

from koubei.pipeline.sentiment import features, opinion
from koubei.pipeline.sentiment.adaptation_settings import (
    CONFIDENT,
    MIN_DOCS,
    SATURATION_QUANTILE,
)
from koubei.pipeline.sentiment.model import SentimentModel, scored_units
from koubei.pipeline.sentiment.names import MonitoredNames

__all__ = [
    "ADAPTED_MARK",
    "CONFIDENT",
    "MAX_CHARACTERS",
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

#: Fewer texts with an opinion than this and the counts are noise: the model is returned as is.
MIN_TEXTS = 200
#: Texts adapted on at most: a larger corpus is sampled evenly. Their features are held in memory
#: while adapting (12,000 reviews of every length: 1.6 million ids and 85,000 features the model
#: has no weight for while they are read, 1.46 million ids and 2,800 of those features kept
#: after), so this cap bounds memory for any count of texts, and ``MAX_CHARACTERS`` for any
#: length. Peak RSS of ``score`` (``python -m bench sentiment --memory``, BENCHMARKS.md): 69 MB
#: on those 12,000, 80 MB on 7,800 reviews of at least 60 characters, against 37-39 MB with
#: ``--no-adapt``. Every leave-one-category-out fold measured had at most 10,000 texts.
MAX_TEXTS = 12_000
#: Characters held while adapting at most: those of the texts adapted on, and a sixteenth
#: (``_HELD_TEXT_SHARE``) of the whole corpus', which is all held to be scored (a character of
#: a text takes 2 bytes; one the pass reads, about 16 times that in its ids and look-up table).
#: A corpus over it is sampled evenly to fit; the texts left out are scored afresh by the
#: adapted model, in as many processes as the pass. The count alone let 12,000 texts of 490
#: characters peak at 227 MB; 1,589 of them are now adapted on and the peak is 92-94 MB
#: (BENCHMARKS.md). A hotel-review set (7,800 texts of 130 characters: 1.08 million counted)
#: is adapted whole, as is every file of ``bench sentiment --memory`` but its long-text one.
MAX_CHARACTERS = 1_150_000
_HELD_TEXT_SHARE = 16
#: Self-training rounds: the second takes its pseudo-labels from the first round's adapted model
#: (its log ratios still go on the unadapted weights, not on top of the first's). Leave one
#: category out, all nine, every row: mean 0.9135 with one round, 0.9170 with two
#: (BENCHMARKS.md); a round costs a pass of sums over the kept ids, not an extraction.
ROUNDS = 2


#: Texts hashed at once for the adapted model's version.
_HASH_BLOCK = 1024

#: The name of a folder of forked passes' ids starts so (in the temporary folder, ``TMPDIR``),
#: followed by its process's ``koubei.owned_folders.owner_mark``.
SPOOL_PREFIX = "koubei-adapt-"


class _Vocabulary(dict[str, int]):
    """Feature → id, numbering a feature the first time it is looked up."""

    def __missing__(self, feature: str) -> int:
        self[feature] = number = len(self)
        return number


#: What a forked process's pass over a stretch of texts gives (:func:`_stretch_ids`): the
#: features it met that the model has no weight for, joined, in the order met, and each one's
#: length (its own numbering of them follows the model's features, in that order); the file
#: holding each unit's ids and how many there are; where each unit starts; each text's first
#: unit; and (text, id) of every id only a text's mentions of a monitored name give.
_StretchIds = tuple[
    str, "array[int]", str, int, "array[int]", "array[int]", "array[int]", "array[int]"
]


class _Pass:
    """One pass over texts, as ids: the look-up table numbering the features met, each unit's
    ids, where each unit starts, each text's first unit, and (text, id) of every id only a
    text's mentions of a monitored name give."""

    def __init__(self, model: SentimentModel) -> None:
        self.model = model
        self.weighed = len(model.weights)
        self.vocabulary = _Vocabulary({f: i for i, f in enumerate(model.weights)})
        self.ids = array("i")  # 4 bytes an id; about 130 ids a review
        # (arrays, not lists: ints kept from the pass would pin the pools of the vocabulary's
        # ints, which numpy's import then fills once they are freed: 10 MB of peak on 7,800
        # long reviews)
        self.starts = array("q", [0])
        self.first = array("q", [0])
        self.named_texts, self.named_ids = array("q"), array("i")
        # the features only the appended passes met, numbered after the look-up table's (kept
        # apart: growing the table past its size once more held two tables at once, 13 MB of
        # peak on 7,800 long reviews)
        self.later: dict[str, int] = {}

    def read(self, monitored: MonitoredNames, texts: Sequence[str]) -> None:
        """One extraction a unit of ``texts`` (a pass reads once): nearly all of adapting's
        time."""
        model, vocabulary = self.model, self.vocabulary
        ids, starts, first = self.ids, self.starts, self.first
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
                    for f in named:
                        self.named_texts.append(t)
                        self.named_ids.append(vocabulary[f])
            first.append(len(starts) - 1)

    def new_features(self) -> list[str]:
        """The features met that the model has no weight for, in the order met."""
        return [*islice(self.vocabulary, self.weighed, None), *self.later]

    def append(self, stretch: _StretchIds) -> tuple[str, int, array[int]]:
        """Add a forked process's pass over the texts after these (:func:`_stretch_ids`), as
        if this pass had read them (no text is read after this), but for its ids: returns the
        file holding them, how many there are, and the ids its own numbering of new features
        takes here. Read them in order with :func:`_renumbered_ids` once the look-up table is
        freed (read while it was held, they raised the peak by 11 MB on 7,800 long reviews)."""
        joined, lengths, ids_file, count, starts, first, named_texts, named_ids = stretch
        end, renumber = 0, array("i")
        known, later, read = self.vocabulary.get, self.later, len(self.vocabulary)
        for size in lengths:  # numbered here in the order met: as one pass numbers them
            name = joined[end : end + size]
            number = known(name)
            if number is None:
                number = later.setdefault(name, read + len(later))
            renumber.append(number)
            end += size
        units_before, ids_before, texts_before = (
            len(self.starts) - 1,
            self.starts[-1],  # with the ids of the passes appended before, still in files
            len(self.first) - 1,
        )
        self.starts.extend(array("q", (s + ids_before for s in starts[1:])))
        self.first.extend(array("q", (u + units_before for u in first[1:])))
        self.named_texts.extend(array("q", (t + texts_before for t in named_texts)))
        weighed = self.weighed  # (a few ids: renumbered here)
        self.named_ids.extend(
            array("i", (i if i < weighed else renumber[i - weighed] for i in named_ids))
        )
        return ids_file, count, renumber


def _stretch_ids(
    model: SentimentModel, monitored: MonitoredNames, spool: str, texts: Sequence[str]
) -> _StretchIds:
    """A pass over a stretch of texts in a forked process, sent back compact: its ids in a file
    of the folder ``spool``, read straight into the first pass's ids (pickled back, the 6 MB of
    ids of 3,900 long reviews were held twice over in the first process as they arrived)."""
    found = _Pass(model)
    found.read(monitored, texts)
    new = found.new_features()
    del found.vocabulary
    lengths = array("i", map(len, new))
    with tempfile.NamedTemporaryFile(dir=spool, suffix=".ids", delete=False) as ids:
        found.ids.tofile(ids)
    return (
        "".join(new),
        lengths,
        ids.name,
        len(found.ids),
        found.starts,
        found.first,
        found.named_texts,
        found.named_ids,
    )


def _features(
    model: SentimentModel,
    texts: Sequence[str],
    monitored: MonitoredNames,
    processes: int = 1,
) -> tuple[str, array[int], array[int], array[int], array[int], dict[int, set[int]]]:
    """Every feature of ``texts``, each unit's as ids, where each unit starts, each text's first
    unit, and the ids only a text's mentions of a ``monitored`` name give
    (``adaptation_counts.Corpus``). The model's features are ids ``0:len(model.weights)``, in
    its order; the others', numbered as met, are returned joined into one string, with each
    one's length.

    With ``processes`` > 1 (and ``PARALLEL_MIN_TEXTS`` texts or more) the texts are cut into
    that many stretches: this process reads the first while forked ones read the others
    (``forking.forked_calls``), and their ids are then numbered as one pass would have
    numbered them, so the corpus is the same, id for id, and so is everything adapting
    computes from it. The forked ones send back only ids and their new features joined."""
    from koubei.forking import forked_calls
    from koubei.owned_folders import owned_temporary_directory, remove_orphaned
    from koubei.pipeline.sentiment.parallel import stretches_for
    from koubei.stopping import sigterm_unwinds

    stretches = stretches_for(texts, processes)
    # (the forked processes' ids go through files of a folder of their own, removed at the end,
    # also on an error, Ctrl-C or SIGTERM; none is made for one process. A SIGKILL leaves it:
    # the folders of passes whose process has ended are removed first, by any pass.)
    remove_orphaned(SPOOL_PREFIX)
    _heap_for_the_pass()
    found = _Pass(model)
    forking = bool(stretches[1:])
    with (
        sigterm_unwinds() if forking else contextlib.nullcontext(),
        owned_temporary_directory(SPOOL_PREFIX) if forking else contextlib.nullcontext("") as spool,
    ):
        with forked_calls(_stretch_ids, stretches[1:], model, monitored, spool) as others:
            found.read(monitored, stretches[0])
            appended = [found.append(stretch) for stretch in others()]
        new = found.new_features()
        # Past this point ids are all that is read, and the look-up table is freed: its table,
        # its ints and the names of the features it met (7,800 reviews of at least 60
        # characters: 162,184 not in the model, 13 MB as strings, less than 1 MB joined). numpy
        # is imported after this (``adaptation_counts``, and ``_renumbered_ids``), into the
        # memory they leave.
        del found.vocabulary, found.later
        lengths = array("i", map(len, new))
        joined = "".join(new)
        del new
        for ids_file, count, renumber in appended:
            _renumbered_ids(found.ids, ids_file, count, found.weighed, renumber)
    mention_only: dict[int, set[int]] = {}
    for t, i in zip(found.named_texts, found.named_ids, strict=True):
        mention_only.setdefault(t, set()).add(i)
    return joined, lengths, found.ids, found.starts, found.first, mention_only


#: glibc's ``mallopt`` parameter for the size from which a block is mapped on its own.
_M_MMAP_THRESHOLD = -3


def _heap_for_the_pass() -> None:
    """Hand the C heap's free pages back, and keep big blocks out of it, before the pass (and
    the forks, which inherit this) on glibc; elsewhere nothing. Reading a big file leaves
    holes in the heap where its lines were, which the pass's small objects (Python's own
    pools) never reuse, and freeing the file's bytes raised glibc's threshold for mapping a
    block on its own to their size, so the pass's ids, grown by ``realloc``, were copied
    about the heap instead of remapped: with 1.2 million characters of 12,000 texts of 490
    adapted on, one process peaked at 126 MB with neither, 120 MB with the trim alone, 109 MB
    with the threshold alone and 102 MB with both (BENCHMARKS.md)."""
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        trim, mallopt = libc.malloc_trim, libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return
    mallopt(_M_MMAP_THRESHOLD, 128 * 1024)  # glibc's default, no longer raised by a free
    trim(0)


def _renumbered_ids(
    ids: array[int], ids_file: str, count: int, weighed: int, renumber: array[int]
) -> None:
    """Append a forked pass's ``count`` ids from ``ids_file`` to ``ids``, its own numbers of
    the features the model has no weight for (``weighed`` and on) replaced by ``renumber``'s."""
    start = len(ids)
    with open(ids_file, "rb") as stored:
        ids.fromfile(stored, count)
    os.unlink(ids_file)
    if not renumber or not count:
        return
    import numpy as np

    view = np.frombuffer(ids, dtype=np.intc)[start:]  # the array's memory, written through
    new = view >= weighed
    view[new] = np.frombuffer(renumber, dtype=np.intc)[view[new] - weighed]


def _sample(texts: Sequence[str]) -> list[int]:
    """The positions of the texts adapted on: all of them when there are at most ``MAX_TEXTS``
    and they hold few enough characters (``MAX_CHARACTERS``), else as many evenly spaced as
    both caps allow (``MIN_TEXTS`` at the least; texts of half ``MAX_CHARACTERS`` at the least,
    however big the corpus)."""
    count = len(texts)
    # (half the budget at the least: a corpus of 20 million characters left room for no more
    # than MIN_TEXTS texts, yet it alone is over the memory the budget keeps to, sampled or not)
    room = max(MAX_CHARACTERS - sum(map(len, texts)) // _HELD_TEXT_SHARE, MAX_CHARACTERS // 2)
    size = min(count, MAX_TEXTS)
    while True:
        if size == count:
            positions = list(range(count))
        else:
            step = count / size
            positions = [int(i * step) for i in range(size)]
        held = sum(len(texts[i]) for i in positions)
        if held <= room or size <= MIN_TEXTS:
            return positions
        # an even sample's mean length is about the corpus': one or two shrinks fit it
        size = max(MIN_TEXTS, min(size - 1, size * max(room, 0) // held))


#: What an adapted model's version holds after the version of the model it was adapted from:
#: ``<version>+adapted-<hash>``, as ``_adapted`` writes it.
ADAPTED_MARK = "+adapted-"


def _adapted(
    model: SentimentModel, usable: list[str], monitored: Sequence[str], processes: int = 1
) -> tuple[SentimentModel, list[float] | None]:
    """The adapted model and its ``probability_aggregated`` of every usable text; ``model`` and
    None when too few texts carry an opinion. Features of the ``monitored`` names keep their
    weights; the texts are read in ``processes`` processes (:func:`_features`)."""
    if len(usable) < MIN_TEXTS:
        return model, None
    positions = _sample(usable)
    sample = [usable[i] for i in positions]
    names = MonitoredNames(monitored)
    found = _features(model, sample, names, processes)
    # numpy only now, into the memory the vocabulary's look-up table freed (adaptation_counts)
    import numpy as np

    from koubei.pipeline.sentiment.adaptation_counts import Corpus, shift_and_saturation, shifted

    corpus = Corpus.of(model, *found)
    del found
    get = model.weights.get
    base = [get(f, 0.0) for f in corpus.names]
    frozen = np.zeros(len(corpus.names), dtype=np.bool_)
    frozen[[i for i, f in enumerate(corpus.names) if names.is_name_feature(f)]] = True
    base_by_id = np.array(base)
    held: set[int] = set()
    # ``model``'s own calls; it is never an adapted one (``adapt_and_score`` refuses it), so
    # no unit holds an adapted feature of it and no call carries a correction
    no_adapted = [0] * (len(corpus.starts) - 1)
    calls = corpus.probabilities(model, corpus.logits(base, model.bias), no_adapted)
    del no_adapted
    positive_share = sum(p >= 0.5 for p in calls) / len(sample)
    for _round in range(ROUNDS):
        by_id, changed, pseudo = shifted(corpus, base_by_id, calls, frozen, held)
        # The round's weights as a list for ``logits``: the unadapted ones, the changed replaced
        # (new floats for the changed only; all 190,000 anew each round grew the memory by 6 MB)
        round_weights = list(base)
        for i, weight in zip(changed.tolist(), by_id[changed].tolist(), strict=True):
            round_weights[i] = weight
        logits = corpus.logits(round_weights, model.bias)
        del round_weights
        counts = corpus.counts(changed)
        shift, saturation = shift_and_saturation(model, corpus, logits, counts, positive_share)
        # a round's model differs from ``model`` by its correction alone until the last round:
        # only its calls are needed (the weights are ``by_id``, by feature id)
        step = replace(model, adapted_shift=shift, adapted_saturation=saturation)
        calls = corpus.probabilities(step, logits, counts)
    learnt = [corpus.names[i] for i in changed.tolist()]
    learnt_weights = by_id[changed].tolist()
    held_features = sorted(corpus.names[i] for i in held)
    mentioned = bool(corpus.mention_only)
    # The corpus is read no more (its ids were 10 MB of 7,800 long reviews): freed before the
    # adapted weights and the version's hash are built, which would otherwise add to its peak.
    del corpus, logits, by_id, changed, counts, base, base_by_id, frozen
    weights = dict(model.weights)
    weights.update(zip(learnt, learnt_weights, strict=True))
    adapted_features = frozenset(learnt)
    del learnt, learnt_weights
    # The version names what the weights came from: the texts and, when the monitored names
    # changed what they teach (a text mentions one, or a feature of one was held), the names:
    # the same texts adapted with and without them are two models. Names the texts never
    # touch change nothing, nor the version (the shipped brands on a file that names none).
    touched = names.names if held or mentioned else []
    # (hashed a block of texts at a time: the texts joined and encoded at once were three
    # copies of them, 7 MB of peak for 7,800 long reviews; the same bytes, the same digest)
    digest = hashlib.sha1()
    for low in range(0, len(usable), _HASH_BLOCK):
        block = "\n".join(usable[low : low + _HASH_BLOCK])
        digest.update((f"\n{block}" if low else block).encode("utf-8"))
    digest.update("".join(f"\n\x00monitored {n}" for n in touched).encode("utf-8"))
    # And the correction (a model adapted by the constant correction this replaced, on the same
    # texts, scored differently under the same version otherwise). The shift to 9 significant
    # digits: its last ones follow the order a set of features is summed in, which the string
    # hash seed sets, and one file must give one version in every process (score and adapt).
    correction = f"\n\x00saturating {SATURATION_QUANTILE} {shift:.9g} {saturation!r}\n"
    digest.update((correction + "\n".join(sorted(adapted_features))).encode("utf-8"))
    adapted = replace(
        model,
        weights=weights,
        adapted=adapted_features,
        adapted_shift=shift,
        adapted_saturation=saturation,
        version=f"{model.version}{ADAPTED_MARK}{digest.hexdigest()[:8]}",
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
    # afresh by the adapted model (as ``score`` would score them), in ``processes`` processes
    # as the pass read the sample (most of the corpus, in one process before: BENCHMARKS.md).
    probabilities = [0.0] * len(usable)
    for position, p in zip(positions, kept, strict=True):
        probabilities[position] = p
    sampled = set(positions)
    rest = [i for i in range(len(usable)) if i not in sampled]
    scored = _scored_rest(adapted, [usable[i] for i in rest], processes)
    for position, p in zip(rest, scored, strict=True):
        probabilities[position] = p
    return adapted, probabilities


def _scored_rest(model: SentimentModel, texts: list[str], processes: int) -> array[float]:
    """``model.probability_aggregated`` of every text, in order, in ``processes`` processes
    (``forking.forked_calls``, as the pass reads; the same floats in any case)."""
    from koubei.forking import forked_calls
    from koubei.pipeline.sentiment.parallel import stretches_for

    stretches = stretches_for(texts, processes)
    with forked_calls(_probabilities, stretches[1:], model) as others:
        scored = _probabilities(model, stretches[0])
        for part in others():
            scored.extend(part)
    return scored


def _probabilities(model: SentimentModel, texts: Sequence[str]) -> array[float]:
    """``model.probability_aggregated`` of each text, as an array: sent back from a forked
    process as one block of bytes, the floats exact."""
    return array("d", map(model.probability_aggregated, texts))


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
    model: SentimentModel,
    texts: Sequence[str],
    monitored: Iterable[str] = (),
    processes: int = 1,
) -> tuple[SentimentModel, list[tuple[float, str]]]:
    """``adapt(model, texts, monitored)`` and that model's ``score`` of every text, in order.

    Each text's features are extracted once (in a corpus of more than ``MAX_TEXTS`` texts or
    ``MAX_CHARACTERS`` characters, the texts left out of the sample are scored afresh by the
    adapted model), in ``processes`` forked processes for ``PARALLEL_MIN_TEXTS`` texts or more
    (those adapted on, and those left out) when this process runs no other thread; the result
    is the same in any case. An adapted ``model`` is refused (:class:`AlreadyAdaptedError`),
    whatever the texts."""
    base = adapted_from(model)
    if base is not None:
        raise AlreadyAdaptedError(model, base)
    own = [opinion.own_text(t) if isinstance(t, str) else "" for t in texts]
    opinionated = [i for i, t in enumerate(own) if not opinion.is_no_opinion(t)]
    usable = [own[i] for i in opinionated]
    adapted, probabilities = _adapted(model, usable, list(monitored), processes)
    if probabilities is None:
        probabilities = [adapted.probability_aggregated(text) for text in usable]
    out: list[tuple[float, str]] = [(0.5, opinion.NO_OPINION)] * len(own)
    for i, p in zip(opinionated, probabilities, strict=True):
        out[i] = adapted.labelled(own[i], p)
    return adapted, out
