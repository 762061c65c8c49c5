"""Parsing the ``//@name: text`` repost chain that microblog reposts carry in their text.

A Weibo repost of a repost reads ``my words//@B: B's words//@A: A's words``: the first ``//@``
names the account the reposter saw it from, the last one the account closest to the root. The
platform's ``retweeted_status`` always points at the root, so this chain is the only record of
the intermediate hops.

Malformed chains are common (truncated text, ``//@`` typed by hand, a missing colon, a
full-width colon, stray spaces); a ``//@`` that is not followed by a plausible name and a colon
is kept as text rather than inventing a hop.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

from koubei.crawlers.textutil import REPOST_HOP, own_text, repost_chain

__all__ = [
    "DELETED_NOTICE",
    "Hop",
    "RepostChain",
    "chain_names",
    "is_deleted_notice",
    "own_text",
    "parse_chain",
    "plain",
    "record_chain",
    "record_text",
]

# The one chain rule, shared with the spiders (``extra.repost_chain``); ``own_text`` is theirs
# too (the words before the first hop), re-exported here for the cascade code.
_HOP = REPOST_HOP
_TAG = re.compile(r"<[^>]*>")
#: What a deleted or hidden post shows in its place (and in its reposts' ``retweeted_status``:
#: ``"text": "抱歉，此微博已被作者删除。查看帮助：http://t.cn/zWSudZc", "deleted": "1"``).
DELETED_NOTICE = re.compile(r"此微博已被(?:作者)?删除|该微博因被多人投诉|微博不存在或暂无查看权限")
_DELETED_POST = re.compile(r"\s*(?:抱歉[，,]\s*)?(?:" + DELETED_NOTICE.pattern + ")")


@dataclass(frozen=True)
class Hop:
    """One earlier repost in the chain: who wrote it and what they added."""

    name: str
    text: str


@dataclass(frozen=True)
class RepostChain:
    """A repost's own words and the hops it came through, nearest hop first."""

    text: str
    hops: list[Hop] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """Hop names, nearest first."""
        return [hop.name for hop in self.hops]


def parse_chain(text: str | None) -> RepostChain:
    """Split a repost text into its own words and the ``//@name:`` hops, nearest first.

    Parameters
    ----------
    text : str or None
        The raw text of a repost.

    Returns
    -------
    RepostChain
        ``text`` is what the reposter wrote themselves; ``hops`` lists the earlier reposts,
        the account the reposter saw it from first. Consecutive repeats of one name (a user
        reposting themselves) collapse into one hop.

    Examples
    --------
    >>> chain = parse_chain("太过分了//@小王: 转发//@老李：鲜牧的奶变质了")
    >>> chain.text, chain.names
    ('太过分了', ['小王', '老李'])
    >>> parse_chain("no chain here").hops
    []
    >>> parse_chain("broken //@ chain//@: x").names
    []
    """
    if not text or "@" not in text:
        return RepostChain(text=(text or "").strip())
    matches = list(_HOP.finditer(text))
    if not matches:
        return RepostChain(text=text.strip())
    own = text[: matches[0].start()].strip()
    hops: list[Hop] = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        hop = Hop(name=match.group(1), text=text[match.end() : end].strip())
        if hops and hops[-1].name == hop.name:
            continue
        hops.append(hop)
    return RepostChain(text=own, hops=hops)


def chain_names(text: str | None) -> list[str]:
    """Just the hop names of :func:`parse_chain`, nearest first (the fast path for big cascades).

    Examples
    --------
    >>> chain_names("嗯//@B: 啊//@B: 哦//@A: 原")
    ['B', 'A']
    """
    return repost_chain(text)


def plain(text: str | None) -> str:
    """Text without HTML tags and entities: spiders keep the platform's HTML in ``text_raw``.

    Examples
    --------
    >>> plain("避雷//<a href='/n/路人甲'>@路人甲</a>:太吓人了 &amp; 扩散")
    '避雷//@路人甲:太吓人了 & 扩散'
    """
    if not text:
        return ""
    if "<" in text or "&" in text:
        return html.unescape(_TAG.sub("", text))
    return text


def record_chain(record: dict[str, Any]) -> list[str]:
    """Hop names of a record, nearest first: the spider's ``extra.repost_chain`` if it kept one,
    else parsed from the raw text (names as the platform wrote them, before any conversion).

    Examples
    --------
    >>> record_chain({"extra": {"repost_chain": ["B", "A"]}, "text_raw": "x"})
    ['B', 'A']
    >>> record_chain({"text_raw": "嗯//<a href='/n/B'>@B</a>: 哦"})
    ['B']
    """
    names = (record.get("extra") or {}).get("repost_chain")
    if isinstance(names, list) and names:
        out: list[str] = []
        for name in map(str, names):
            if not out or out[-1] != name:
                out.append(name)
        return out
    return chain_names(plain(record.get("text_raw")) or record.get("text_clean"))


def record_text(record: dict[str, Any]) -> str:
    """The readable text of a record: ``text_clean`` if the pipeline filled it, else plain raw.

    Examples
    --------
    >>> record_text({"text_raw": "<b>差</b>评"})
    '差评'
    """
    return record.get("text_clean") or plain(record.get("text_raw"))


def is_deleted_notice(text: str | None) -> bool:
    """Whether a post's text is the notice a deleted or hidden post leaves in its place.

    Only a text that starts with the notice: a repost quoting it is still a post.

    Examples
    --------
    >>> is_deleted_notice("抱歉，此微博已被作者删除。查看帮助：http://t.cn/zWSudZc")
    True
    >>> is_deleted_notice("原博说此微博已被作者删除，太离谱"), is_deleted_notice(None)
    (False, False)
    """
    return bool(text) and _DELETED_POST.match(text or "") is not None
