"""Feed XML as sites write it, made into XML the parser reads whole.

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

The leading ``_`` keeps this module out of the platforms (:mod:`koubei.crawlers.spiders`).
"""

from __future__ import annotations

import re
from html.entities import html5

__all__ = ["repair"]

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
