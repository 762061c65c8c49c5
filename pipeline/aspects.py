"""Aspect sentiment for reviews: which aspects a text talks about, and how it feels about each.

The lexicon (aspect name → keywords) is the ``aspects.yaml`` of the config directory in use
(``--config-dir``, else ``$KOUBEI_CONFIG_DIR``, else the shipped ``config/``); a config
directory without one uses the shipped file, as ``koubei crawl`` does for ``brands.yaml``
(:func:`aspects_file`). Each run loads it once and hands it to every enrichment path, helper
processes and Dask workers included: no stage reads it behind the caller's back, so a user's
own file is the one that tags their posts.

Each clause that mentions an aspect keyword is scored by the sentiment model on its own; an
aspect mentioned in several clauses gets the mean score and its most extreme clause as
``sentence``. One entry per aspect per record, so "delivery: 62 % negative" is a count of
records.

Every tagged record says which lexicon tagged it (``aspect_lexicon_version``, see
:attr:`AspectLexicon.version`) as its ``sentiment.model_version`` says which model scored it,
so ``koubei sentiment rescore`` can tag again the posts an edited lexicon would tag otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from koubei import paths
from koubei.config import Texts, load_file
from koubei.pipeline.clean import analysed_text
from koubei.pipeline.sentiment.model import SentimentModel

__all__ = [
    "SHIPPED_ASPECTS",
    "AspectLexicon",
    "aspects_file",
    "find_aspects",
    "load_aspects",
    "tag_aspects",
]

ASPECTS_FILE = "aspects.yaml"
#: the lexicon the package ships (not $KOUBEI_CONFIG_DIR's): what a config dir without one uses
SHIPPED_ASPECTS = paths.package_dir("conf") / ASPECTS_FILE
# Clauses: aspects are local, so split on commas as well as sentence ends.
_CLAUSE = re.compile(r"[，,。！？!?；;\n]+")
MAX_CLAUSES = 400  # long articles: the first clauses are enough and bound the work


class Aspect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = ""
    keywords: Texts = Field(min_length=1)

    @field_validator("keywords")
    @classmethod
    def _no_blank_keywords(cls, keywords: list[str]) -> list[str]:
        # Keywords are matched as substrings: an empty one matches every clause, so every
        # post would be tagged with the aspect.
        for index, keyword in enumerate(keywords):
            if not keyword.strip():
                raise ValueError(f"entry {index} is empty or blank: it would match every text")
        return [k.strip() for k in keywords]


class AspectLexicon(BaseModel):
    """The validated ``aspects.yaml``. Picklable (helper processes and Dask workers get it by
    value), with its keyword matcher built on first use and kept."""

    model_config = ConfigDict(extra="forbid")
    aspects: dict[str, Aspect] = Field(min_length=1)
    _matcher: tuple[dict[str, str], re.Pattern[str]] | None = PrivateAttr(default=None)
    _version: str | None = PrivateAttr(default=None)

    def matcher(self) -> tuple[dict[str, str], re.Pattern[str]]:
        """Keyword → aspect name, and the pattern finding any keyword (longest first, so
        外包装 is found before 包装)."""
        if self._matcher is None:
            owner: dict[str, str] = {}
            for name, aspect in self.aspects.items():
                for keyword in aspect.keywords:
                    owner.setdefault(keyword, name)
            keywords = sorted(owner, key=len, reverse=True)
            self._matcher = owner, re.compile("|".join(re.escape(k) for k in keywords))
        return self._matcher

    @property
    def version(self) -> str:
        """A short hash of what tagging depends on: which aspect each keyword puts a clause
        under (the matcher's keyword → aspect map, sorted).

        Recorded on every tagged record as ``aspect_lexicon_version``. An edit that tags some
        text otherwise (a keyword added, removed or moved to another aspect, an aspect renamed)
        changes it; one that cannot (a ``label``, the order of keywords or aspects, a keyword
        written twice) does not, so it does not send the history to be tagged again for
        nothing. (The keyword alternation is longest first and a match is leftmost, so the
        order of keywords never decides a match; a keyword under two aspects goes to the first,
        which the map records.)
        """
        if self._version is None:
            owner = sorted(self.matcher()[0].items())
            text = json.dumps(owner, ensure_ascii=False, separators=(",", ":"))
            self._version = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
        return self._version


def aspects_file(config_dir: Path | None = None) -> Path:
    """The lexicon file of ``config_dir`` (default ``$KOUBEI_CONFIG_DIR``, else the shipped
    config): its ``aspects.yaml``, or the shipped one when it has none."""
    own = (config_dir or paths.CONFIG_DIR) / ASPECTS_FILE
    return own if own.exists() or own.is_symlink() else SHIPPED_ASPECTS


def load_aspects(path: Path | None = None) -> AspectLexicon:
    """Read and validate a lexicon file (default: :func:`aspects_file` of the default config
    directory) with the config loader; errors name the file and field."""
    return load_file(Path(path) if path is not None else aspects_file(), AspectLexicon)


def find_aspects(text: str, lexicon: AspectLexicon) -> dict[str, list[str]]:
    """Aspect name → the clauses of ``text`` that mention it, in order."""
    owner, pattern = lexicon.matcher()
    found: dict[str, list[str]] = {}
    for clause in _CLAUSE.split(text)[:MAX_CLAUSES]:
        clause = clause.strip()
        if not clause:
            continue
        for name in dict.fromkeys(owner[m.group(0)] for m in pattern.finditer(clause)):
            found.setdefault(name, []).append(clause)
    return found


def tag_aspects(
    record: dict[str, Any], model: SentimentModel, lexicon: AspectLexicon
) -> dict[str, Any]:
    """Set ``record["aspects"]`` to one ``{"aspect", "score", "label", "sentence"}`` per aspect,
    and ``record["aspect_lexicon_version"]`` to ``lexicon.version``.

    Parameters
    ----------
    record : dict
        A document record; ``text_clean`` is used, falling back to ``text_raw``.
    model : SentimentModel
        Scores each clause.
    lexicon : AspectLexicon
        The run's lexicon (:func:`load_aspects` of :func:`aspects_file`).

    Returns
    -------
    dict
        The same record, modified in place.
    """
    aspects = []
    for name, clauses in find_aspects(analysed_text(record), lexicon).items():
        scores = [model.probability(c) for c in clauses]
        mean = sum(scores) / len(scores)
        extreme = max(range(len(scores)), key=lambda i: abs(scores[i] - 0.5))
        aspects.append(
            {
                "aspect": name,
                "score": round(mean, 6),
                "label": model.label_for(mean),
                "sentence": clauses[extreme][:200],
            }
        )
    record["aspects"] = aspects
    record["aspect_lexicon_version"] = lexicon.version
    return record
