"""The names a product monitors (brands), as the sentiment features see them.

Adapting to a corpus (``adaptation.py``) must leave a name's own features alone: a corpus' mood
about a brand is what monitoring measures, not a meaning of its name. Kept apart from
``features.py``, which extracts features and does not need to know about brands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from koubei.pipeline.clean.normalise import to_halfwidth
from koubei.pipeline.sentiment.features import clauses, prepare

# Marks that prefix n-grams of a clause's own characters: contrast bigrams (›), the negated (¬)
# and the strengthened (+) word.
_TEXT_MARKS = "›¬+"
_LATIN = re.compile(r"[0-9a-z]")


class MonitoredNames:
    """The features that come from names the product monitors (brands), for adaptation
    (``adaptation.py``) to leave them alone: a corpus' mood about a brand is what monitoring
    measures, not a meaning of its name.

    Names are taken as the features see text: half-width and lower case (XianMu, ｘｉａｎｍｕ and
    xianmu are one name), split where a clause would split. A name of one character names
    nothing: every n-gram holding that character would count."""

    def __init__(self, names: Iterable[str]) -> None:
        pieces = {p for name in names for p in clauses(to_halfwidth(name).lower()) if len(p) >= 2}
        self.names = sorted(pieces)
        self._parts = {part for piece in pieces for part in _name_parts(piece)}
        # Longest first, so that 鲜牧乳业 is found whole rather than as 鲜牧.
        # A Latin name is a whole word: lg is not a mention inside "algorithm".
        ordered = sorted(pieces, key=len, reverse=True)
        self._whole = re.compile("|".join(map(_mention, ordered))) if ordered else None

    def __bool__(self) -> bool:
        return self._whole is not None

    def is_name_feature(self, feature: str) -> bool:
        """Whether ``feature``'s characters, after a contrast, negation or degree mark, are two
        or more characters of a name (:func:`_name_parts` says why not one) or contain a whole
        name (蒙牛 in ›蒙牛 or, with trigrams, in 蒙牛奶)."""
        if self._whole is None:
            return False
        text = feature.lstrip(_TEXT_MARKS)
        return text in self._parts or self._whole.search(text) is not None

    def mention_only(self, text: str) -> set[str]:
        """The characters of ``text``'s mentions of a name that it has nowhere else, bare and as
        the negated or strengthened word (蒙 of 蒙牛, ¬蒙, +蒙): a corpus' mood about the brand is
        no evidence for them. 蒙 in 内蒙古 or 牛 in 牛奶 of the same text is still evidence: they
        keep learning from the ordinary words they are in. The name's own n-grams are held by
        :meth:`is_name_feature`; a bigram of one of its characters and a neighbour (牛差 of
        蒙牛差) is left to learn, as it carries the neighbour's meaning (measured, dairy, where
        every review names 蒙牛: leaving those bigrams out too cost 0.44 points of accuracy,
        leaving the characters out nothing; BENCHMARKS.md)."""
        if self._whole is None:
            return set()
        prepared = prepare(text)
        spans = [m.span() for m in self._whole.finditer(prepared)]
        if not spans:
            return set()
        elsewhere = self._whole.sub("\x00", prepared)  # the text without its mentions
        found = {c for start, end in spans for c in prepared[start:end] if c not in elsewhere}
        return found.union(mark + c for c in found for mark in "¬+")


def _mention(name: str) -> str:
    """The pattern of a mention of ``name``: its text, not continuing a Latin word at a Latin
    end."""
    before = "(?<![0-9a-z])" if _LATIN.match(name[0]) else ""
    after = "(?![0-9a-z])" if _LATIN.match(name[-1]) else ""
    return before + re.escape(name) + after


def _name_parts(name: str) -> set[str]:
    """The pieces of ``name`` whose n-grams are the name's own: every substring of two or more
    characters that does not cut a Latin word.

    Why two or more: a single character of a name is shared with ordinary words (牛 of 蒙牛 is in
    牛奶 and 很牛, 光 of 光明 in 光线), so freezing it would stop the corpus teaching those words;
    a Chinese bigram of a name (鲜牧, and 牧乳 of 鲜牧乳业) is nearly all the name. Why not a cut
    Latin word: the letter pairs of xianmu (xi, an, mu) are what a single Chinese character is,
    fragments of every Latin word; a Latin name is frozen whole (lg), or inside a longer n-gram.
    A generic word inside a compound name (乳业 of 鲜牧乳业) is frozen too: in a corpus that
    monitors the brand it mostly comes with the name."""
    n = len(name)
    cuts = [
        0 < i < n and bool(_LATIN.match(name[i - 1]) and _LATIN.match(name[i]))
        for i in range(n + 1)
    ]
    return {name[i:j] for i in range(n) for j in range(i + 2, n + 1) if not cuts[i] and not cuts[j]}
