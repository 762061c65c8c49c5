"""Adapting the model to unlabelled text of a new domain (self-training, no labels needed).

The shipped weights come from shop reviews; a corpus from elsewhere (dairy, books, hotels, food
delivery) uses words those reviews never taught, or taught with another leaning. Given that
corpus, :func:`adapt` learns its vocabulary from the model's own confident calls:

1. score every text; those at ``CONFIDENT`` or beyond (either side) are pseudo-labelled;
2. for every feature seen in at least ``MIN_DOCS`` of them, the log ratio of its document
   frequency among pseudo-positives and pseudo-negatives (each divided by its side's count, so
   the corpus' balance cancels) is added to its weight, on the weights' scale
   (``training.BAYES_SCALE``, as the Bayes table starts the correction passes);
3. the calibration's intercept is moved so that the share of texts scored positive is the one
   the unadapted model gave. Self-training drifts toward the side that already dominates (books
   went from 58 % to 74 % called positive, true share 55 %, and lost accuracy); holding the
   share means adaptation re-ranks texts but never moves the corpus' negative share by itself.

Measured leave-one-category-out (``python -m bench sentiment --adapt``, BENCHMARKS.md): every
category's accuracy on its own texts rose. Settings were chosen on three of the nine folds
(dairy, books, computers). Nothing here reads a label: the corpus is the user's own text.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from koubei.pipeline.sentiment import features, opinion
from koubei.pipeline.sentiment.model import SentimentModel
from koubei.pipeline.sentiment.training import BAYES_SCALE

__all__ = ["CONFIDENT", "MIN_DOCS", "MIN_TEXTS", "adapt"]

#: Probability (or 1 - it) at which the model's call is taken as a pseudo-label.
CONFIDENT = 0.8
#: Texts a feature must appear in (among the pseudo-labelled) to be adapted.
MIN_DOCS = 3
#: Fewer texts with an opinion than this and the counts are noise: the model is returned as is.
MIN_TEXTS = 200
#: How much of a feature's corpus log ratio is added (1.0: on the Bayes table's footing).
STRENGTH = 1.0


def adapt(model: SentimentModel, texts: Sequence[str]) -> SentimentModel:
    """A copy of ``model`` adapted to ``texts`` (its version says so), or ``model`` itself when
    fewer than ``MIN_TEXTS`` of them carry an opinion (see :mod:`opinion`)."""
    own = [opinion.own_text(t) if isinstance(t, str) else "" for t in texts]
    usable = [t for t in own if not opinion.is_no_opinion(t)]
    if len(usable) < MIN_TEXTS:
        return model
    before = [model.probability_aggregated(t) for t in usable]
    positive_share = sum(p >= 0.5 for p in before) / len(usable)
    on_pos: Counter[str] = Counter()
    on_neg: Counter[str] = Counter()
    n_pos = n_neg = 0
    for text, p in zip(usable, before, strict=True):
        if CONFIDENT > p > 1 - CONFIDENT:
            continue
        found = features.extract(text, model.max_n, model.lexicon, model.social, model.general)
        if p >= CONFIDENT:
            on_pos.update(found)
            n_pos += 1
        else:
            on_neg.update(found)
            n_neg += 1
    weights = dict(model.weights)
    for feature in on_pos.keys() | on_neg.keys():
        dp, dn = on_pos[feature], on_neg[feature]
        if dp + dn < MIN_DOCS:
            continue
        ratio = math.log((dp + 0.5) / (n_pos + 1)) - math.log((dn + 0.5) / (n_neg + 1))
        weights[feature] = weights.get(feature, 0.0) + STRENGTH * BAYES_SCALE * ratio
    digest = hashlib.sha1("\n".join(usable).encode("utf-8")).hexdigest()[:8]
    adapted = replace(
        model,
        weights=weights,
        version=f"{model.version}+adapted-{digest}",
        meta={**model.meta, "adapted_on": len(usable), "pseudo_labelled": n_pos + n_neg},
    )
    a, b = adapted.platt
    calibrated = np.array([a * adapted.logit(t) + b for t in usable])
    shift = float(np.quantile(calibrated, 1 - positive_share)) if 0 < positive_share < 1 else 0.0
    adapted.platt = (a, b - shift)
    return adapted
