"""The settings of adaptation (``adaptation.py``) that its numpy half
(``adaptation_counts.py``) reads too: a module of their own, importing nothing, so that the
imports run one way: ``adaptation`` imports them (and re-exports those of its ``__all__``), and
imports ``adaptation_counts`` only once the corpus pass is over, for the memory (see there);
``adaptation_counts`` imports them, never ``adaptation``."""

from __future__ import annotations

#: Probability (or 1 - it) at which the model's call is taken as a pseudo-label.
CONFIDENT = 0.8
#: Texts a feature must appear in (among the pseudo-labelled) to be adapted.
MIN_DOCS = 3
#: How much of a feature's corpus log ratio is added (1.0: on the Bayes table's footing).
STRENGTH = 1.0
#: The correction of step 3 is full for a unit with at least this quantile (over the corpus'
#: texts) of adapted features, proportionally less below it. Picked from six values (0.05 to
#: 0.5) on the nine leave-one-category-out folds (``adaptation``'s docstring, step 3).
SATURATION_QUANTILE = 0.1
#: The share-holding shift is taken within ±SHIFT_BOUND (``adaptation_counts.holding_shift``).
SHIFT_BOUND = 50.0
