"""Jieba-segmented terms for the Elasticsearch keyword field (stop words and punctuation dropped).

Negators and degree words (不, 很, 非常) are stop words here because ``terms`` feeds counts and
significant-terms aggregations, not sentiment; the sentiment features keep them.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path

MAX_TERMS = 500
_WORDLIKE = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
_EMOTICON_OR_URL_DEBRIS = re.compile(r"^(?:\d+|[A-Za-z])$")


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """The stop-word list shipped beside this module."""
    path = Path(__file__).with_name("stopwords.txt")
    return frozenset(w.strip() for w in path.read_text(encoding="utf-8").splitlines() if w.strip())


def load_tokenizer() -> None:
    """Load jieba's dictionary now (about 1 s) rather than on the first text."""
    _tokenizer()


@lru_cache(maxsize=1)
def _tokenizer() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def segment_terms(text: str) -> list[str]:
    """Distinct words of ``text`` in order, without stop words, punctuation or lone digits.

    Parameters
    ----------
    text : str
        Cleaned text.

    Returns
    -------
    list of str
        At most ``MAX_TERMS`` lower-cased words.
    """
    if not text:
        return []
    if len(text) <= CACHED_LENGTH:
        return list(_segment_cached(text))
    return list(_segment(text))


# Reposts and templated posts repeat short texts verbatim, and jieba is the slowest step of
# cleaning; long texts are not cached so that the cache stays a few megabytes.
CACHED_LENGTH = 500


@lru_cache(maxsize=4096)
def _segment_cached(text: str) -> tuple[str, ...]:
    return _segment(text)


def _segment(text: str) -> tuple[str, ...]:
    stop = stopwords()
    terms: dict[str, None] = {}
    for word in _tokenizer().cut(text):  # type: ignore[attr-defined]
        word = word.strip().lower()
        if (
            not word
            or word in stop
            or not _WORDLIKE.search(word)
            or _EMOTICON_OR_URL_DEBRIS.match(word)
        ):
            continue
        terms[word] = None
        if len(terms) >= MAX_TERMS:
            break
    return tuple(terms)
