"""Aspect sentiment for reviews: which aspects a text talks about, and how it feels about each.

The lexicon lives in ``config/aspects.yaml`` (aspect name → keywords). Each clause that mentions
an aspect keyword is scored by the sentiment model on its own; an aspect mentioned in several
clauses gets the mean score and its most extreme clause as ``sentence``. One entry per aspect per
record, so "delivery: 62 % negative" is a count of records.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from koubei.config import ConfigError
from koubei.paths import CONFIG_DIR
from koubei.pipeline.clean import analysed_text
from koubei.pipeline.sentiment.model import SentimentModel

__all__ = ["AspectLexicon", "find_aspects", "load_aspects", "tag_aspects"]

ASPECTS_FILE = "aspects.yaml"
# Clauses: aspects are local, so split on commas as well as sentence ends.
_CLAUSE = re.compile(r"[，,。！？!?；;\n]+")
MAX_CLAUSES = 400  # long articles: the first clauses are enough and bound the work


class Aspect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = ""
    keywords: list[str] = Field(min_length=1)


class AspectLexicon(BaseModel):
    """The validated ``aspects.yaml``."""

    model_config = ConfigDict(extra="forbid")
    aspects: dict[str, Aspect] = Field(min_length=1)


def load_aspects(path: Path | None = None) -> AspectLexicon:
    """Read and validate the aspect lexicon; errors name the file and field."""
    path = Path(path) if path is not None else CONFIG_DIR / ASPECTS_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from exc
    try:
        return AspectLexicon.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


@lru_cache(maxsize=4)
def _default_matcher(path: str) -> tuple[dict[str, str], re.Pattern[str]]:
    return _matcher(load_aspects(Path(path)))


def _matcher(lexicon: AspectLexicon) -> tuple[dict[str, str], re.Pattern[str]]:
    owner: dict[str, str] = {}
    for name, aspect in lexicon.aspects.items():
        for keyword in aspect.keywords:
            owner.setdefault(keyword, name)
    # Longest keywords first so 外包装 is found before 包装.
    pattern = re.compile("|".join(re.escape(k) for k in sorted(owner, key=len, reverse=True)))
    return owner, pattern


def find_aspects(text: str, lexicon: AspectLexicon | None = None) -> dict[str, list[str]]:
    """Aspect name → the clauses of ``text`` that mention it, in order."""
    if lexicon is None:
        owner, pattern = _default_matcher(str(CONFIG_DIR / ASPECTS_FILE))
    else:
        owner, pattern = _matcher(lexicon)
    found: dict[str, list[str]] = {}
    for clause in _CLAUSE.split(text)[:MAX_CLAUSES]:
        clause = clause.strip()
        if not clause:
            continue
        for name in dict.fromkeys(owner[m.group(0)] for m in pattern.finditer(clause)):
            found.setdefault(name, []).append(clause)
    return found


def tag_aspects(
    record: dict[str, Any], model: SentimentModel, lexicon: AspectLexicon | None = None
) -> dict[str, Any]:
    """Set ``record["aspects"]`` to one ``{"aspect", "score", "label", "sentence"}`` per aspect.

    Parameters
    ----------
    record : dict
        A document record; ``text_clean`` is used, falling back to ``text_raw``.
    model : SentimentModel
        Scores each clause.
    lexicon : AspectLexicon, optional
        Defaults to ``config/aspects.yaml``.

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
    return record
