"""Small parsers for platform text: ``12.3万`` counts, HTML to text, ``//@`` chains, mentions.

:func:`html_to_text` is the crawlers' one way from markup to text (Weibo's post HTML, a feed
entry's ``description``); trafilatura reads whole article pages.

This is the one home of the ``//@name:`` repost-chain rule: the spiders use it for
``extra.repost_chain`` and :mod:`koubei.analysis.spread.chains` builds its hops from it, so the
chain kept in the index and the edges of the cascade graph read the same names (which post a
name means is decided only by the cascade build).
"""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote

# A tag ends at its ``>`` and holds no ``<``: ``<[^>]+>`` scanned to the end of the text from
# every ``<`` that had no ``>`` after it (100,000 of them: 12 s).
_TAG = re.compile(r"<[^<>]+>")
# An emoticon drawn as a picture carries its name in ``alt`` (Weibo's and Bilibili's ``[怒]``,
# ``[doge]``); any other picture's alt is a caption or a stand-in (phpBB's posted images say
# ``alt="Image"``), not the author's words.
_IMG_ALT = re.compile(r"<img[^<>]*\balt=['\"]?(\[[^\]'\"<>\s]{1,12}\])['\"]?[^<>]*>")

_BREAK = re.compile(r"<br\s*/?>", re.I)
#: HTML's block-level elements (those that start a new line when rendered), as a regex
#: alternation: the one list of tags that break a line, here and in the cleaning stage's
#: :func:`koubei.pipeline.clean.html.strip_html` (each had its own, and the cleaning stage's
#: missed ``</blockquote>``, ``</table>``, ``</section>``: a quote glued to the reply after it).
BLOCK_TAGS = (
    "p|div|li|ul|ol|dl|dt|dd|h[1-6]|table|thead|tbody|tfoot|caption|tr|blockquote|pre"
    "|section|article|header|footer|aside|nav|figure|figcaption|hr|address|main"
)
#: A table's cells, likewise: each is set apart by a tab (``<td>价格</td><td>99元</td>`` reads
#: ``价格\t99元``, was ``价格99元``, and English cells one glued word).
CELL_TAGS = "td|th"
# Those, opening or closing: a run of them and the white space after each is one break (the
# white space before it stays, as the cleaning stage strips every line's ends: matching it too
# would take time quadratic in a long run of spaces).
_BLOCK_TAGS = re.compile(rf"(?:</?(?:{BLOCK_TAGS})\b[^<>]*>\s*)+", re.I)
# A run of cells' tags is one tab; the row's ``<tr>`` around them is a line break.
_CELL_TAGS = re.compile(rf"(?:</?(?:{CELL_TAGS})\b[^<>]*>\s*)+", re.I)
# A Weibo screen name: 1-30 letters/digits/CJK/underscore/hyphen/middle dot (``\w`` is Unicode),
# then a half- or full-width colon; a ``//@`` without both is text, not a hop.
REPOST_HOP = re.compile(r"//\s*@([\w\-·・]{1,30})\s*[:：]")
# Weibo marks a mention up as a link to the account: ``<a href='/n/NAME'>@NAME</a>``.
_MENTION_LINK = re.compile(r"""<a\b[^>]*\bhref=['"]?[^'" >]*/n/([^'" >/?#]+)[^>]*>\s*@""", re.I)
# A comment answering a person opens with ``回复@NAME:``, the name linked in Weibo's HTML:
# ``回复<a href='https://m.weibo.cn/n/NAME'>@NAME</a>:``.
_REPLY_OPENING = re.compile(r"^\s*回复\s*(?:<a\b[^>]*>\s*)?@([\w\-·・]{1,30})\s*(?:</a>\s*)?[:：]")
_TOPIC = re.compile(r"#([^#\s][^#]{0,40})#")
_UNITS = {"万": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000, "k": 1_000, "K": 1_000}


def parse_count(value: Any) -> int | None:
    """``1234``, ``"1234"``, ``"12.3万"``, ``"1.2亿"``, ``"10万+"`` → int; junk → None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return int(value)
        except (OverflowError, ValueError):  # inf and nan: not a count
            return None
    text = str(value).strip().rstrip("+").replace(",", "")
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([万wW亿kK]?)", text)
    if not match:
        return None
    number = float(match.group(1)) * _UNITS.get(match.group(2), 1)
    return round(number)


def html_to_text(markup: str) -> str:
    r"""Visible text of a post's or a feed entry's HTML, its lines kept apart.

    ``<br>`` is a line break, and so is every run of block-level tags (``<p>``, ``<div>``,
    ``<li>``, headings, ...) with the white space after them: paragraphs written
    ``<p>first.</p><p>Second</p>`` were glued (``first.Second``, words of two lines run
    together as ``endStart``), which Chinese hides. The cleaning stage breaks lines at the
    same tags, so text built here and markup cleaned there read alike. Emoticon pictures
    become their ``alt`` (``[怒]``), other pictures nothing. A table's cells are set apart by
    a tab, its rows by line breaks (the cleaning stage sets cells apart too).

    Examples
    --------
    >>> html_to_text("<p>First paragraph.</p>\n  <p>Second <b>one</b></p><ul><li>end</li></ul>")
    'First paragraph.\nSecond one\nend'
    >>> html_to_text("<div>第一段</div><div>第二段 <br/>第二行</div>好<img alt='[赞]' src=x>")
    '第一段\n第二段\n第二行\n好[赞]'
    >>> html_to_text('Same here <img alt=":(" src=s.gif /><br />Photo: <img alt="Image" src=p>')
    'Same here\nPhoto:'
    >>> html_to_text("<table><tr><th>规格</th><th>价格</th></tr><tr><td>1L</td><td>99元</td></tr>"
    ...              "<tr><td>Fresh</td> <td>milk</td></tr></table>")
    '规格\t价格\n1L\t99元\nFresh\tmilk'
    """
    with_alts = _IMG_ALT.sub(r"\1", markup or "")
    with_cells = _CELL_TAGS.sub("\t", with_alts)
    with_breaks = _BREAK.sub("\n", _BLOCK_TAGS.sub("\n", with_cells))
    text = html.unescape(_TAG.sub("", with_breaks))
    # Lines' trailing spaces (before a tag that became a break) go; by lines, as a regex for
    # spaces before a line end takes time quadratic in a long run of spaces.
    return "\n".join(line.rstrip(" \t") for line in text.split("\n")).strip()


def repost_chain(text: str | None) -> list[str]:
    """Names in a repost's ``//@name:`` chain of plain text, nearest first.

    The first is the parent's author; consecutive repeats (a user reposting themselves)
    collapse into one hop.

    Examples
    --------
    >>> repost_chain("嗯//@B: 啊//@B: 哦//@A: 原")
    ['B', 'A']
    >>> repost_chain("broken //@ chain//@: x")
    []
    """
    if not text or "//" not in text:
        return []
    names: list[str] = []
    for name in REPOST_HOP.findall(text):
        if not names or names[-1] != name:
            names.append(name)
    return names


def own_text(text: str | None) -> str:
    """What the reposter wrote: the plain text before the first ``//@name:`` hop.

    Examples
    --------
    >>> own_text("同感//@A: 很差"), own_text("a//@ b")
    ('同感', 'a//@ b')
    """
    text = text or ""
    match = REPOST_HOP.search(text)
    return (text[: match.start()] if match else text).strip()


def comment_region(source: Any) -> str | None:
    """A Weibo commenter's IP region: a comment's ``source`` reads ``来自 北京`` or ``来自广东``.

    (A post's region is its ``region_name``, ``发布于 北京``; its ``source`` is the client.)
    Anything not led by 来自 is no region.

    Examples
    --------
    >>> comment_region("来自 陕西"), comment_region("来自广东"), comment_region("")
    ('陕西', '广东', None)
    """
    if not isinstance(source, str) or not source.strip().startswith("来自"):
        return None
    return source.strip().removeprefix("来自").strip() or None


def mentions(markup: str | None) -> list[str]:
    """Accounts a post's HTML mentions, from the platform's own ``/n/NAME`` links, in order.

    Plain text is not guessed at: where a name ends after ``@`` is unknowable
    (``@鲜牧乳业纯牛奶喝出黑色异物`` is a name and a complaint run together).

    Examples
    --------
    >>> mentions("回复<a href='/n/网友A'>@网友A</a>:同意 @鲜牧乳业纯牛奶喝出黑色异物")
    ['网友A']
    """
    if not markup or "<a" not in markup:
        return []
    return list(dict.fromkeys(unquote(name) for name in _MENTION_LINK.findall(markup)))


def reply_to(markup: str | None) -> str | None:
    """The name a comment's ``回复@NAME:`` opening answers, in Weibo's HTML or in plain text.

    A name, not a comment: the person may have several comments in the thread.

    Examples
    --------
    >>> reply_to("回复<a href='https://m.weibo.cn/n/网友E'>@网友E</a>:同意")
    '网友E'
    >>> reply_to("回复@路人丙: 不是的"), reply_to("我也想回复@他"), reply_to(None)
    ('路人丙', None, None)
    """
    match = _REPLY_OPENING.match(markup or "")
    return match.group(1) if match else None


def topics(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip() for t in _TOPIC.findall(text)))
