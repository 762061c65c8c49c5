"""HTML debris: tags, comments, script/style blocks and character entities.

Crawled text often arrives half-rendered (``<menu id=...></menu>`` runs, ``&nbsp;``), so this is a
regex pass rather than a parser: it must accept any string, never raise, and run in linear time.
"""

from __future__ import annotations

import html
import re

# Blocks whose content is never prose.
_BLOCK = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
# A tag: "<", optional "/", a name, attributes without "<" or ">", ">".
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]{0,30}(?:\s[^<>]{0,2000})?/?>")
# Block-level tags become line breaks so that paragraphs stay paragraphs.
_BREAK_TAG = re.compile(r"<(?:br|/p|/div|/li|/h[1-6]|/tr|/dd|/dt)\b[^<>]{0,200}>", re.I)
_ENTITY_HINT = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,10});?")


def strip_html(text: str) -> str:
    """Remove tags, comments, script/style blocks and decode entities.

    Parameters
    ----------
    text : str
        Any string; text without ``<`` or ``&`` is returned unchanged.

    Returns
    -------
    str
        The visible text with block-level tags turned into newlines.
    """
    if "<" in text:
        text = _BLOCK.sub(" ", text)
        text = _COMMENT.sub(" ", text)
        text = _BREAK_TAG.sub("\n", text)
        text = _TAG.sub("", text)
    if "&" in text and _ENTITY_HINT.search(text):
        # Twice: crawled pages often double-escape ("&amp;nbsp;").
        text = html.unescape(html.unescape(text))
        if "<" in text:
            # Escaped markup ("&lt;script&gt;") decodes to markup: strip that too, so cleaned
            # text never carries a tag, whoever renders it.
            text = _TAG.sub("", _COMMENT.sub(" ", _BLOCK.sub(" ", text)))
    return text
