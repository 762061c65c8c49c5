"""The version of the scoring rules: what, besides the model file, decides how a post scores.

A model file holds weights and a calibration; the features those weights are looked up by, and
the posts that get no score at all, come from rules shipped with koubei: the lexicons
(``lexicon.txt``, ``hownet.txt``), the glosses of emoticons, emoji and Latin-letter words
(``pipeline/clean/emoticons.py``), the word lists and patterns of ``features.py`` (negators,
degree words, contrast, the social signals) and the no-opinion rules of ``opinion.py``
(``BOILERPLATE``, ``STAND_INS``, link cards). An upgrade of koubei that changes them scores
the same text otherwise with the same model, so every scored post records
:func:`rules_version` beside the model's (``sentiment.rules_version``), and ``koubei sentiment
rescore`` scores again a post whose rules version is another (or none: scored before koubei
recorded it).

What the digest covers: the DATA the scorer applies, as loaded: each lexicon's parsed entries
(a word's section, not its comments, blank lines, order or repeats, which decide nothing), the
gloss tables, the word tuples and the regular expressions' pattern strings, and the numbers of
sentence aggregation (``model.LONG_TEXT`` ...). An edit of a comment or of the order of a
lexicon's words leaves it as it is, so it sends no history to be scored again for nothing.

What it does not cover: Python code. A change to how features are extracted or how a post's
own words are found (``features.extract``, ``opinion.own_text``) scores differently too, but
hashing source files would make every comment edit re-score every post. Such a change bumps
:data:`RULES_REVISION` by hand, in the same commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from koubei.pipeline.clean import emoticons
from koubei.pipeline.sentiment import features, opinion

# Bump when a code change (not a table or a lexicon) makes the same model score the same text
# otherwise: feature extraction, clause or sentence splitting, the no-opinion logic, the
# aggregation of sentences. Say why beside the new number. 1: the first recorded rules.
# 2: no ›⊕/›⊖ marks for lexicon hits after a contrast (the split before 但 is _MID_CONTRAST).
# 3: a short question asking others, with no judgement, is labelled neutral
# (opinion.asks_without_judging; its patterns are digested below).
# 4: a comparison with an earlier time counts in a clause's lexicon balance (_THAN_BEFORE).
RULES_REVISION = 4


def _entries(path: Path) -> dict[str, list[str]]:
    """A lexicon file's sections → their words, sorted and once each, as the scorer loads it
    (``features.load_lexicon``: comments and blank lines are skipped)."""
    return {name: sorted(set(words)) for name, words in sorted(features.load_lexicon(path).items())}


def _patterns(module: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """Each named attribute of ``module``: a compiled pattern as its pattern string and flags,
    a table as it is."""
    found: dict[str, Any] = {}
    for name in names:
        value = getattr(module, name)
        found[name] = [value.pattern, value.flags] if isinstance(value, re.Pattern) else value
    return found


def rules_data(
    lexicon: Path = features.LEXICON, general: Path = features.GENERAL
) -> dict[str, Any]:
    """What :func:`rules_digest` hashes (see the module's docstring); ``lexicon`` and
    ``general`` are the files the scorer reads (the shipped ones)."""
    from koubei.pipeline.sentiment import model  # it records the digest: imports this module

    return {
        "revision": RULES_REVISION,
        "lexicon": _entries(lexicon),
        "general": _entries(general),
        "emoticons": _patterns(
            emoticons, ("EMOTICON", "EMOJI", "EMOTICON_GLOSS", "EMOJI_GLOSS", "LATIN_GLOSS")
        ),
        "features": _patterns(
            features,
            (
                "NEGATORS",
                "DEGREE",
                "NOT_NEGATIONS",
                "_SKIP",
                "CONTRAST",
                "NEG_WINDOW",
                "NET_CAP",
                "_CLAUSE_SPLIT",
                "_MID_CONTRAST",
                "_MENTION",
                "_SENTENCE_SPLIT",
                "_SARCASM",
                "_PRAISE",
                "_RHETORICAL",
                "_COMPLAINT",
                "_JUDGING_MARKS",
                "_THAN_BEFORE",
                "_WORSE_THAN_BEFORE",
            ),
        ),
        "opinion": _patterns(
            opinion,
            (
                "BOILERPLATE",
                "STAND_INS",
                "_REPLY_PREFIX",
                "_MENTION",
                "_NOISE",
                "_CARD",
                "_WHOLE_CARD",
                "_ASKING",
                "_SHARED_TROUBLE",
                "_ENDS_ASKING",
                "_OPENS_ASKING",
                "ASKING_MAX_CHARS",
                "ASKING_MAX_CLAUSES",
            ),
        ),
        "aggregation": _patterns(
            model, ("LONG_TEXT", "NEGATIVE_SENTENCE", "NEGATIVE_SENTENCE_WEIGHT")
        ),
    }


def rules_digest(lexicon: Path = features.LEXICON, general: Path = features.GENERAL) -> str:
    """``rules-`` and 10 hex digits of the SHA-256 of :func:`rules_data` (keys sorted)."""
    text = json.dumps(
        rules_data(lexicon, general), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return "rules-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


@cache
def rules_version() -> str:
    """The shipped rules' digest (:func:`rules_digest`), computed once per process: recorded on
    every scored post as ``sentiment.rules_version``."""
    return rules_digest()
