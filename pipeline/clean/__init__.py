"""Cleaning: raw crawled text → ``text_clean`` plus ``topics``, ``mentions`` and ``terms``.

``clean_text`` is a pure function of its input and never raises; ``clean_record`` applies it to a
document record and fills the derived fields. Steps, in order: HTML and entities, invisible
characters (zero-width, bidi controls and isolates), full-width forms, URLs (link shorteners
included), traditional → simplified (OpenCC), boilerplate lines (footers, account bars,
navigation, hotlines, captions) and repeated titles, whitespace. Markup cut off at the end of a
truncated page (an open ``<script>``, ``<div class="``) goes too. Emoticons, emoji (with their
zero-width joiners), ``#topics#`` and ``@mentions`` stay in the text.

``clean_record`` also cleans the short values strangers write (``author.name``, ``url``; see
``values``). Only ``text_raw`` and, when cleaning changed it, ``extra.raw.author_name`` keep what
came: the name is the account's identity on the platform (``//@name:`` repost chains use it).
"""

from __future__ import annotations

import copy
from typing import Any

from koubei.pipeline.clean.boilerplate import drop_boilerplate
from koubei.pipeline.clean.emoticons import find_emoticons
from koubei.pipeline.clean.fields import extract_mentions, extract_topics
from koubei.pipeline.clean.html import strip_html
from koubei.pipeline.clean.normalise import (
    nfc,
    remove_invisible,
    remove_urls,
    squeeze_whitespace,
    to_halfwidth,
    to_simplified,
)
from koubei.pipeline.clean.terms import segment_terms
from koubei.pipeline.clean.values import clean_name, clean_url

__all__ = [
    "MAX_CHARS",
    "analysed_text",
    "clean_name",
    "clean_record",
    "clean_text",
    "clean_url",
    "extract_mentions",
    "extract_topics",
    "find_emoticons",
    "segment_terms",
]

# Longer input is truncated: no post or article worth scoring is this long, and it bounds the
# time any one record can take. The process stage sets a landing record this long aside in
# rejected/ rather than scoring its first part (``koubei.pipeline.process``).
MAX_CHARS = 200_000


def _clean(text: str) -> str:
    text = text[:MAX_CHARS]
    text = remove_invisible(text)
    text = strip_html(text)
    text = remove_invisible(text)  # entities can decode to invisible characters
    text = nfc(text)
    text = to_halfwidth(text)
    text = remove_urls(text)
    text = to_simplified(text)
    text = squeeze_whitespace(text)
    text = drop_boilerplate(text)
    return squeeze_whitespace(text)


def clean_text(text: str) -> str:
    """Clean one text; pure and total.

    Parameters
    ----------
    text : str
        Anything; non-strings are converted with ``str`` (``None`` becomes ``""``).

    Returns
    -------
    str
        Simplified-Chinese text without HTML, URLs, invisible characters or boilerplate lines.
    """
    if text is None:
        return ""
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:
            return ""
    try:
        return _clean(text)
    except Exception:
        # Defensive: every step is written not to raise; if one ever does, fall back to the
        # cheapest safe result rather than losing the record.
        return squeeze_whitespace(remove_invisible(text[:MAX_CHARS]))


# Spiders of these platforms take mentions from the platform's own markup (Weibo's
# ``<a href='/n/NAME'>`` links, Bilibili's ``content.members``); guessing from plain text where
# a name after ``@`` ends invents accounts ("@鲜牧乳业纯牛奶喝出黑色异物"), so theirs are kept.
PLATFORM_MENTIONS = frozenset({"weibo", "video_comments"})


def clean_record(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of a document record with ``text_clean``, ``title``, ``topics``, ``mentions`` and
    ``terms`` filled. Never raises; a record without text gets empty fields.

    Parameters
    ----------
    record : dict
        A ``koubei.model.Document`` JSON dict (``text_raw`` required by the model, but a missing
        one is tolerated here).

    Returns
    -------
    dict
        A new dict; the input is not modified.
    """
    out = copy.deepcopy(record)
    raw = out.get("text_raw")
    text = clean_text(raw if isinstance(raw, str) else ("" if raw is None else str(raw)))
    out["text_clean"] = text
    title = out.get("title")
    if isinstance(title, str):
        out["title"] = clean_text(title).replace("\n", " ") or None
    _clean_values(out)
    try:
        out["topics"] = extract_topics(text)
        if out.get("platform") not in PLATFORM_MENTIONS:
            out["mentions"] = extract_mentions(text)
        out["terms"] = segment_terms(text)
    except Exception:
        out.setdefault("topics", [])
        out.setdefault("mentions", [])
        out["terms"] = []
    return out


def analysed_text(record: dict[str, Any]) -> str:
    """The text the stages after cleaning read (sentiment, aspects, near-duplicates).

    ``text_clean`` once cleaning has run, even when it is empty: nothing was left but markup,
    links, site furniture or spam, and the raw text would be scored as the author's words (a
    ``<script>`` scored negative). ``text_raw`` only for a record that was never cleaned.
    """
    text = record.get("text_clean")
    if text is None:
        text = record.get("text_raw")
    if text is None:
        return ""
    return text if isinstance(text, str) else str(text)


def _clean_values(out: dict[str, Any]) -> None:
    if "url" in out:
        out["url"] = clean_url(out["url"])
    author = out.get("author")
    if isinstance(author, dict) and author.get("name") is not None:
        name = clean_name(author["name"])
        if name != author["name"]:
            extra = out.get("extra")
            extra = out["extra"] = extra if isinstance(extra, dict) else {}
            raw = extra.get("raw")
            extra["raw"] = {**(raw if isinstance(raw, dict) else {}), "author_name": author["name"]}
        author["name"] = name
