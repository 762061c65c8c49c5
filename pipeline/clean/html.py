"""HTML debris: tags, comments, script/style blocks and character entities.

Crawled text often arrives half-rendered (``<menu id=...></menu>`` runs, ``&nbsp;``), so this is a
regex pass rather than a parser: it must accept any string, never raise, and run in linear time.
"""

from __future__ import annotations

import html
import re

from koubei.crawlers.textutil import BLOCK_TAGS, CELL_TAGS
from koubei.pipeline.clean.emoticons import EMOJI, EMOTICON

# Blocks whose content is never prose. Crawled text is often cut short (a size limit, a dropped
# connection), so a block or comment left open runs to the end of the text; that also keeps the
# scan linear when a text holds many unclosed ``<script>`` tags.
_BLOCK = re.compile(r"<(script|style|noscript|template)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.I | re.S)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
# Declarations and processing instructions (``<!DOCTYPE html>``, ``<?xml …?>``) go whole; CDATA
# markers go and their text stays (a feed's ``<![CDATA[<p>…</p>]]>`` holds the item's text).
_DECLARATION = re.compile(r"<![A-Za-z][^<>]{0,2000}>|<\?[A-Za-z][^<>]{0,2000}>|<!\[CDATA\[|\]\]>")
# A tag: "<", optional "/", a name, attributes without "<" or ">", ">".
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:-]{0,30}(?:\s[^<>]{0,2000})?/?>")
# A tag cut off at the end of the text: a closing tag, or an opening tag with at least one
# attribute (``<div class="c``), so that a comparison like ``A<B`` at the end is not taken.
_CUT_TAG = re.compile(
    r"(?:</[A-Za-z][A-Za-z0-9:-]{0,30}|<[A-Za-z][A-Za-z0-9:-]{0,30}\s+[A-Za-z_:][\w:.-]{0,30}\s*=)"
    r"[^<>]{0,2000}\Z"
)
# ``<br>``, ``<hr>`` and the block-level tags (the crawlers' one list,
# :data:`koubei.crawlers.textutil.BLOCK_TAGS`) where they close become line breaks, so that
# paragraphs stay paragraphs; a run of closing ones (``</td></tr></tbody></table>``, spaces
# between) is one break, as in the crawlers' text. ``</blockquote>``, ``</table>`` and
# ``</section>`` broke no line before: a forum quote was glued to the reply after it.
_BREAK_TAG = re.compile(r"<[bh]r\b[^<>]{0,200}>", re.I)
_BLOCK_END = re.compile(rf"(?:</(?:{BLOCK_TAGS})\b[^<>]{{0,200}}>[ \t]*)+", re.I)
# A table's cells (opening or closing ``<td>``/``<th>``) become a tab, so ``<td>价格</td><td>99元
# </td>`` is ``价格 99元`` once spaces are squeezed (was ``价格99元``, English cells one word), as
# :func:`koubei.crawlers.textutil.html_to_text` sets them apart.
_CELL_TAG = re.compile(rf"</?(?:{CELL_TAGS})\b[^<>]{{0,200}}>", re.I)
# Variation selector 16, the zero-width joiner and skin tones that belong to an emoji.
_EMOJI_GLUE = frozenset("\ufe0f\u200d\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
_ENTITY_HINT = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,10});?")
# An emoticon drawn as a picture: m.weibo.cn's ``<span class="url-icon"><img alt=[doge] src=...>``
# (the alt quoted or not) carries the emoticon only in its alt. The alt is kept when it is a
# bracket emoticon or emoji (see ``emoticons``); any other alt is a caption or file name.
_IMG_EMOTICON = re.compile(
    r"""<img\b[^<>]{0,500}?\balt\s*=\s*(?:"([^"<>]{1,12})"|'([^'<>]{1,12})'|([^\s"'<>]{1,12}))"""
    r"[^<>]{0,500}>",
    re.I,
)

# m.weibo.cn's link cards (``<a data-url="http://t.cn/..">``, video cards to video.weibo.com)
# are set apart by a space, so a card title (``小王的微博视频``) is not glued to the author's
# words before it (see ``sentiment.opinion``).
_LINK_CARD = re.compile(
    r"""<a\b(?=[^<>]{0,2000}?\b(?:data-url\s*=|href\s*=\s*["']?https?://video\.weibo\.com/))""",
    re.I,
)


def strip_html(text: str) -> str:
    """Remove tags, comments, script/style blocks and decode entities.

    Parameters
    ----------
    text : str
        Any string; text without ``<`` or ``&`` is returned unchanged.

    Returns
    -------
    str
        The visible text with block-level tags turned into newlines, table cells set apart
        by tabs and emoticon pictures turned into their ``alt`` (``[doge]``, ``😡``).
    """
    if "<" in text:
        text = _BLOCK.sub(" ", text)
        text = _DECLARATION.sub(" ", _COMMENT.sub(" ", text))
        text = _IMG_EMOTICON.sub(_emoticon_alt, text)
        text = _LINK_CARD.sub(" <a", text)
        text = _BREAK_TAG.sub("\n", _BLOCK_END.sub("\n", text))
        text = _CELL_TAG.sub("\t", text)
        text = _CUT_TAG.sub("", _TAG.sub("", text))
    if "&" in text and _ENTITY_HINT.search(text):
        # Twice: crawled pages often double-escape ("&amp;nbsp;").
        text = html.unescape(html.unescape(text))
        if "<" in text:
            # Escaped markup ("&lt;script&gt;") decodes to markup: strip that too, so cleaned
            # text never carries a tag, whoever renders it.
            text = _DECLARATION.sub(" ", _COMMENT.sub(" ", _BLOCK.sub(" ", text)))
            text = _TAG.sub("", text)
            text = _CUT_TAG.sub("", text)
    return text


def _emoticon_alt(match: re.Match[str]) -> str:
    alt = html.unescape(match.group(1) or match.group(2) or match.group(3) or "").strip()
    if EMOTICON.fullmatch(alt) or (alt and all(EMOJI.match(c) or c in _EMOJI_GLUE for c in alt)):
        return alt
    return ""
