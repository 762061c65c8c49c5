"""Feed XML as sites write it, made into XML the parser reads whole, and read.

Feeds are written by templates, and many put text in unescaped: a bare ``&`` in a link
(``…?t=x&s=19``) or a title (``D&D``), and HTML's named entities (``&nbsp;``, ``&ensp;``,
``&middot;``), which XML does not know unless a DTD declares them. lxml in recover mode drops
what it cannot read, silently: the link loses ``&s`` (``?t=x=19``, another URL and another id)
and a text node ends at the first HTML entity (``鲜牧&nbsp;牛奶`` → ``鲜牧``). feedparser reads
them as a browser would (its ``tests/entities``: ``&nbsp;`` is U+00A0, an unknown
``&doesnotexist;`` stays as written), and so does :func:`repair` here, before parsing.

Control characters XML forbids (U+0000-U+001F but tab and line ends) come with pasted post
text (hexo-generator-feed#41: Chinese blogs' feeds failing at ``0x08``/``0x10`` before a
character). Outside CDATA lxml drops the character alone; inside a CDATA section it drops the
text before it and keeps the section's closing ``]]>`` as text. They are removed first.

The readers of a parsed feed's parts live here too: an element's first text that is not blank
(:func:`first_text`), a link resolved against ``xml:base`` (:func:`absolute`), a feed's entries
(:func:`feed_entries`), a text sitemap's URLs (:func:`text_sitemap`) and an entry's own words
without a forum's quotes (:func:`own_words`). The spider
(:mod:`koubei.crawlers.spiders.articles`) decides what to fetch and land.

The leading ``_`` keeps this module out of the platforms (:mod:`koubei.crawlers.spiders`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html.entities import html5
from typing import Any
from urllib.parse import urljoin

import lxml.html
from scrapy.selector import Selector

from koubei.crawlers.textutil import html_to_text

__all__ = [
    "absolute",
    "closed",
    "feed_entries",
    "first_text",
    "own_words",
    "repair",
    "text_sitemap",
]

# Text XML keeps as it is: CDATA sections, comments, processing instructions and the DOCTYPE
# (whose internal subset may declare entities of its own, which are then left alone).
_VERBATIM = re.compile(
    r"<!\[CDATA\[.*?(?:\]\]>|\Z)|<!--.*?(?:-->|\Z)|<\?.*?(?:\?>|\Z)"
    r"|<!DOCTYPE(?:[^\[>]|\[.*?\])*>",
    re.S | re.I,
)
# ``&`` and what follows it, when that makes a reference: numeric, or a name and ``;``.
_AMPERSAND = re.compile(r"&(?:(#[0-9]+|#[xX][0-9a-fA-F]+)|([A-Za-z][A-Za-z0-9]*));|&")
_XML_NAMES = frozenset({"amp", "lt", "gt", "quot", "apos"})
_DECLARED = re.compile(r"<!ENTITY\s+([^\s%]+)")
# Characters XML 1.0 does not allow anywhere, not even as references (its ``Char`` production).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def repair(text: str) -> tuple[str, int]:
    r"""``text`` without the control characters XML forbids and with each bare ``&`` and HTML
    entity XML does not know made into what a browser reads, and how many were.

    Examples
    --------
    >>> repair("<title>鲜牧&nbsp;牛奶 D&D &amp; &#21050;</title>")
    ('<title>鲜牧&#160;牛奶 D&amp;D &amp; &#21050;</title>', 2)
    >>> repair('<link href="/a?x=1&y=2"/><![CDATA[a & b]]>&doesnotexist;')
    ('<link href="/a?x=1&amp;y=2"/><![CDATA[a & b]]>&amp;doesnotexist;', 2)
    >>> repair("<d><![CDATA[鲜牧\x08奶粉\x10，]]></d>")
    ('<d><![CDATA[鲜牧奶粉，]]></d>', 2)
    """
    text, repaired = _FORBIDDEN.subn("", text)
    if "&" not in text:
        return text, repaired
    declared = frozenset(_DECLARED.findall(text))

    def reference(match: re.Match[str]) -> str:
        nonlocal repaired
        number, name = match.groups()
        if number or (name and (name in _XML_NAMES or name in declared)):
            return match.group(0)
        repaired += 1
        character = html5.get(f"{name};") if name else None
        if character is None:  # a bare ``&``, or a name HTML does not know either: as written
            return "&amp;" + match.group(0)[1:]
        return "".join(f"&#{ord(c)};" for c in character)

    parts, at = [], 0
    for verbatim in _VERBATIM.finditer(text):
        parts.append(_AMPERSAND.sub(reference, text[at : verbatim.start()]))
        parts.append(verbatim.group(0))
        at = verbatim.end()
    parts.append(_AMPERSAND.sub(reference, text[at:]))
    return "".join(parts), repaired


def closed(text: str, tag: str) -> bool:
    """Whether a feed's XML ``text`` ends by closing its root element ``tag`` (namespaced or
    not), but for comments after it (WordPress's cache plugins add ``<!-- generated in … -->``):
    lxml reads a feed cut short without a word, to where it was cut.

    Examples
    --------
    >>> closed("<rdf:RDF><item/></rdf:RDF> ", "RDF"), closed("<rss><channel><item>", "rss")
    (True, False)
    >>> closed("<rss></rss> <!-- Dynamic page generated in 0.120 seconds. --> ", "rss")
    True
    """
    end = rf"</(?:[\w.-]+:)?{re.escape(tag)}\s*>(?:\s|<!--.*?-->|<\?.*?\?>)*\Z"
    return re.search(end, text, re.S) is not None


def first_text(node: Selector, *paths: str) -> str | None:
    """The first text of ``paths`` (tried in order) that is not blank, stripped.

    A blank element is no value: feed templates print ``<pubDate> </pubDate>`` for an item
    without a date, which is no bad date, and a blank ``pubDate`` before a ``dc:date`` leaves
    the ``dc:date``.

    Examples
    --------
    >>> item = Selector(text="<i><pubDate> </pubDate><date> 2026-11-24 </date></i>", type="xml")
    >>> first_text(item, "//pubDate/text()", "//date/text()"), first_text(item, "//pubDate/text()")
    ('2026-11-24', None)
    """
    for path in paths:
        for value in node.xpath(path).getall():
            if value.strip():
                return value.strip()
    return None


_URL_LINE = re.compile(r"https?://\S+", re.I)


def text_sitemap(text: str) -> list[str] | None:
    r"""The URLs of a text sitemap, or None when ``text`` is not one.

    sitemaps.org's text format, which Baidu's and 360's webmaster platforms take too (百度
    Sitemap "txt文本格式": one full URL per line, nothing else, UTF-8 or GBK, up to 50,000):
    it has no dates, so its links are judged as a ``urlset``'s without ``lastmod``.

    Examples
    --------
    >>> text_sitemap("https://x.cn/a/1.html\r\n\n http://x.cn/a/2.html \n")
    ['https://x.cn/a/1.html', 'http://x.cn/a/2.html']
    >>> text_sitemap("<?xml version='1.0'?><urlset/>"), text_sitemap("首页 https://x.cn/")
    (None, None)
    """
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not all(_URL_LINE.fullmatch(line) for line in lines):
        return None
    return list(dict.fromkeys(lines))


def absolute(node: Selector, link: str, feed_url: str) -> str:
    """``link`` resolved against the ``xml:base`` values in scope at ``node``, then the feed URL.

    Examples
    --------
    >>> feed = Selector(text='<feed xml:base="/blog/"><entry xml:base="n/"><a/></entry></feed>',
    ...                 type="xml")
    >>> absolute(feed.xpath("//a")[0], " 1.html ", "https://x.cn/atom.xml")
    'https://x.cn/blog/n/1.html'
    """
    base = feed_url
    for value in node.xpath("ancestor-or-self::*/@*[local-name()='base']").getall():
        base = urljoin(base, value.strip())
    return urljoin(base, link.strip())


def own_words(markup: str) -> str:
    r"""The text of a feed entry's HTML that its author wrote, without what a forum adds.

    A forum post's feed entry quotes the post it answers in a ``<blockquote>`` (phpBB's feed
    renders ``[quote]`` so): those are another post's words, an entry of their own, and would
    be scored and brand-matched as this one's. phpBB also closes every entry with
    ``<p>Statistics: Posted by … » date</p><hr />`` (``feed.xml.twig``, ``post_base.php``).

    Examples
    --------
    >>> own_words('<blockquote><div>原帖</div></blockquote>回复&amp;<p>统计：由 甲</p><hr />')
    '回复&'
    >>> own_words("<p>第一段</p><p>第二段</p>"), own_words("")
    ('第一段\n第二段', '')
    >>> own_words("<p>Fresh milk, bad batch.</p><p>XianMu said sorry<br>today.</p>")
    'Fresh milk, bad batch.\nXianMu said sorry\ntoday.'

    Its text is :func:`~koubei.crawlers.textutil.html_to_text`'s: paragraphs and ``<br>`` are
    line breaks (``text_content()`` glued them: ``bad batch.XianMu``).
    """
    if not markup.strip():
        return ""
    root = lxml.html.fragment_fromstring(markup, create_parent="div")
    for quote in root.xpath(".//blockquote"):
        quote.drop_tree()
    last = root[-2:] if len(root) >= 2 else []
    if last and last[1].tag == "hr" and last[0].tag == "p" and not (last[1].tail or "").strip():
        last[0].drop_tree()
        last[1].drop_tree()
    return html_to_text(lxml.html.tostring(root, encoding="unicode"))


def feed_entries(
    sel: Selector, tag: str | None, feed_url: str, no_link: Callable[[str | None], None]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each entry's absolute link and what the feed says of it; ``no_link`` is told the title
    of an RSS item with neither a link nor a permalink ``guid``.

    Links may be relative: to the ``xml:base`` of the entry and its ancestors, else to the
    feed's own URL (feedparser's rule, "Relative Link Resolution"). An Atom entry's time is
    its ``published``; ``updated`` (WordPress writes it first) only when there is none.

    Examples
    --------
    >>> rss = Selector(text="<rss><item><link>/a/1</link><pubDate>今天</pubDate></item>"
    ...                "<item><title>无链接</title></item></rss>", type="xml")
    >>> [(link, hint["date"]) for link, hint in feed_entries(rss, "rss", "https://x.cn/", print)]
    无链接
    [('https://x.cn/a/1', '今天')]
    """
    if tag == "urlset":
        for url in sel.xpath("//url"):
            loc = first_text(url, "loc/text()")
            if loc:
                # A Google News sitemap dates and titles its articles in ``news:news``
                # (``publication_date``, often with no ``lastmod``); the publication wins
                # over the last edit, as an Atom entry's ``published`` does.
                hint = {
                    "date": first_text(url, "news/publication_date/text()", "lastmod/text()"),
                    "title": first_text(url, "news/title/text()"),
                    "modified": first_text(url, "lastmod/text()"),
                }
                yield absolute(url, loc, feed_url), hint
    elif tag == "feed":
        for entry in sel.xpath("//entry"):
            link = first_text(entry, "link[@rel='alternate']/@href | link[not(@rel)]/@href")
            if link:
                yield (
                    absolute(entry, link, feed_url),
                    {
                        "date": first_text(entry, "published/text()", "updated/text()"),
                        "modified": first_text(entry, "updated/text()"),
                        "title": first_text(entry, "title/text()"),
                        "author": first_text(entry, "author/name/text()"),
                        # The full ``content`` over the ``summary``, which feeds that write
                        # both make an excerpt (Tiny Tiny RSS's Atom template); an ``xhtml``
                        # content is its markup (RFC 4287 4.1.3).
                        "description": first_text(entry, "content/text()")
                        or "".join(entry.xpath("content[@type='xhtml']/*").getall())
                        or first_text(entry, "summary/text()"),
                    },
                )
    else:
        for item in sel.xpath("//item"):
            # A guid is a link unless it says isPermaLink="false" (RSS 2.0).
            link = first_text(item, "link/text()", "guid[not(@isPermaLink='false')]/text()")
            if link:
                yield (
                    absolute(item, link, feed_url),
                    {
                        "date": first_text(item, "pubDate/text()", "date/text()"),
                        "title": first_text(item, "title/text()"),
                        "author": first_text(item, "author/text()", "creator/text()"),
                        # ``content:encoded`` is the full text where a feed has it;
                        # ``description`` is then often a teaser.
                        "description": first_text(item, "encoded/text()", "description/text()"),
                    },
                )
            else:
                no_link(first_text(item, "title/text()"))
