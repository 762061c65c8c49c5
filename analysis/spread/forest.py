"""The state of one cascade build: parent proposals, the hop lookups, cycle-free linking.

:func:`koubei.analysis.spread.cascade.build_cascades` fills a :class:`Forest` and reads the
finished graph out of it. What it keeps:

* the nodes' attributes, with placeholders for posts that were referenced but never crawled;
* every post indexed by (cascade, author name) and by (cascade, author name, its own ``//@``
  chain), sorted by (time, id): the lookups that resolve a chain hop to the post it names
  (:meth:`Forest.latest_by`, :meth:`Forest.said`, :meth:`Forest.untimed_by`);
* one proposed parent per child (the first wins; another is counted ``second_parent``), then
  :meth:`Forest.link_all`, which draws them with a union-find so a cycle is refused in
  near-constant time per edge;
* the drop counts per cascade and reason.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable
from typing import Any

from koubei.analysis.spread.chains import parse_chain

__all__ = ["UNTIMED", "Forest"]

_SAID_SCAN = 8  # candidates of one name read for the hop's quoted words
_LAST = "\U0010ffff"  # sorts after every id: (ts, _LAST) bounds all posts at time ts
UNTIMED = float("inf")  # the sort time of a post without one: after every timed post


def _placeholder_attrs(author: str | None = None) -> dict[str, Any]:
    """The attributes of a node referenced but never crawled (those of a crawled post are
    ``_node_attrs`` in :mod:`koubei.analysis.spread.cascade`; both have the same keys)."""
    return {
        "placeholder": True,
        "deleted": False,
        "author": author,
        "author_id": None,
        "followers": 0,
        "verified": False,
        "created_at": None,
        "ts": None,
        "sentiment": None,
        "text": "",
        "platform": None,
        "kind": None,
        "url": None,
        "dup_cluster": None,
        "mentions": [],
    }


class Forest:
    """Parent pointers, the per-author post index for chain hops, and the drop counts.

    Examples
    --------
    B posted twice in cascade ``r`` (at 60 s and 120 s, neither with a chain); a repost at 90 s
    naming ``//@B:`` came from the first, one at 120 s from the second:

    >>> forest = Forest()
    >>> forest.index_post("r", "b1", "B", 60.0, [])
    >>> forest.index_post("r", "b2", "B", 120.0, [])
    >>> forest.latest_by("r", "B", (90.0, "c1"), "c1")
    'b1'
    >>> forest.latest_by("r", "B", (120.0, "c2"), "c2")
    'b2'
    """

    def __init__(self) -> None:
        self.attrs: dict[str, dict[str, Any]] = {}
        self.parent: dict[str, str] = {}
        self.edge: dict[str, dict[str, Any]] = {}
        # (cascade root, author name) -> that author's posts in the cascade as sorted (ts, id).
        self.by_author: dict[tuple[str, str], list[tuple[float, str]]] = {}
        # The same, split by the post's own chain: (root, name, chain id) -> sorted (ts, id).
        self.by_chain: dict[tuple[str, str, int], list[tuple[float, str]]] = {}
        # Chains as numbers, so a chain's tail is named in O(1): (first name, id of the rest).
        self.chain_ids: dict[tuple[str, int], int] = {}
        # child -> (parent, relation, inferred, created_at, cascade); first proposal wins.
        self.proposed: dict[str, tuple[str, str, bool, Any, str]] = {}
        self.roots: set[str] = set()  # ids some record names as its root_id
        self.root_of: dict[str, str] = {}  # crawled id -> the root_id its record names
        self.dropped: dict[str, Counter[str]] = {}
        # Union-find over the trees linked so far (absent: the node is its set's own
        # representative), so refusing a cycle costs near-constant time per edge; walking up
        # the parents instead was quadratic when children were linked before deep parents.
        self.tree_of: dict[str, str] = {}
        self.tree_size: dict[str, int] = {}
        self.hops: dict[str, tuple[str, str]] = {}  # hop placeholder -> (cascade root, name)
        self.own_words: dict[str, str] = {}  # post -> its own words, read when first needed

    def drop(self, cascade: str, reason: str) -> None:
        self.dropped.setdefault(cascade, Counter())[reason] += 1

    def ensure_placeholder(self, node: str, author: str | None = None) -> None:
        if node not in self.attrs:
            self.attrs[node] = _placeholder_attrs(author)

    def propose(
        self, parent: str, child: str, relation: str, inferred: bool, at: Any, cascade: str
    ) -> None:
        if parent == child:
            return
        known = self.proposed.get(child)
        if known is None:
            self.proposed[child] = (parent, relation, inferred, at, cascade)
        elif known[0] != parent:
            self.drop(cascade, "second_parent")

    def chain_id(self, name: str, tail: int) -> int:
        """The number of the chain ``[name, *tail]`` (0 is the empty chain)."""
        return self.chain_ids.setdefault((name, tail), len(self.chain_ids) + 1)

    def chain_tails(self, hops: list[str]) -> list[int]:
        """``tails[i]``: the id of the chain after hop ``i - 1`` (``tails[0]`` is the whole).

        Worked out again where needed rather than kept per post: at a million posts the kept
        lists (and the hops they came from) were a third of the build's peak memory.
        """
        tails = [0] * (len(hops) + 1)
        for i in range(len(hops) - 1, -1, -1):
            tails[i] = self.chain_id(hops[i], tails[i + 1])
        return tails

    def index_post(
        self, cascade: str, node: str, author: str | None, ts: float, hops: list[str]
    ) -> None:
        """Make ``node`` findable as a hop: by author, and by author and its own chain."""
        tails = self.chain_tails(hops)
        if author:
            # Records come in (ts, id) order, so every list is sorted as it grows.
            self.by_author.setdefault((cascade, author), []).append((ts, node))
            self.by_chain.setdefault((cascade, author, tails[0]), []).append((ts, node))

    def latest_by(
        self,
        root: str,
        name: str,
        key: tuple[float, str],
        node: str,
        tail: int | None = None,
        words: Callable[[], str] | None = None,
    ) -> str | None:
        """The latest post by ``name`` in cascade ``root`` at or before ``key``, not ``node``.

        With ``tail`` (the id of the rest of the reposter's chain) the post must have that
        chain, or that chain after a self-repost of ``name`` (chains fold repeated names); of
        those, one whose own words are ``words()`` (the chain's quote of that hop) comes first.
        """
        if tail is None:
            return _latest(self.by_author.get((root, name)), key, node)
        best: tuple[float, str | None] = (0.0, None)
        said: tuple[float, str | None] = (0.0, None)
        for chain in (tail, self.chain_ids.get((name, tail))):
            if chain is None:
                continue
            posts = self.by_chain.get((root, name, chain))
            row = _latest_row(posts, key, node)
            if row[1] is not None and (best[1] is None or row > best):
                best = row
            if words is not None and row[1] is not None:
                found = self.said(posts, key, node, words)
                if found[1] is not None and (said[1] is None or found > said):
                    said = found
        return said[1] if said[1] is not None else best[1]

    def said(
        self,
        posts: list[tuple[float, str]] | None,
        key: tuple[float, str],
        node: str,
        words: Callable[[], str],
    ) -> tuple[float, str | None]:
        """The latest of the last few candidate ``posts`` whose own words are ``words()``.

        The chain quotes each hop's words (``//@小王:我家的也有``); of two posts of one name
        (two accounts of one display name, or one account posting twice) the one that said
        them is the hop, not merely the latest. Only ``_SAID_SCAN`` candidates are read, so a
        prolific name cannot make building quadratic. ``words`` is called only when there are
        two candidates or more: parsing every repost's chain a second time for its quotes made
        building a third slower.
        """
        if not posts:
            return (0.0, None)
        index = bisect.bisect_right(posts, (key[0], _LAST)) - 1
        if index < 1 or (index == 1 and node in (posts[0][1], posts[1][1])):
            return (0.0, None)  # one candidate: the latest it is
        wanted = words()
        if not wanted:
            return (0.0, None)
        stop = max(index - _SAID_SCAN, -1)
        while index > stop:
            row = posts[index]
            if row[1] != node:
                own = self.own_words.get(row[1])
                if own is None:
                    own = self.own_words[row[1]] = _words(self.attrs[row[1]]["text"])
                if own == wanted:
                    return row
            index -= 1
        return (0.0, None)

    def untimed_by(self, root: str, name: str, node: str, tail: int) -> str | None:
        """A post by ``name`` in cascade ``root`` without a time whose chain is ``tail`` (or
        that chain after a self-repost), not ``node``; the one with the greatest id."""
        best: str | None = None
        for chain in (tail, self.chain_ids.get((name, tail))):
            posts = self.by_chain.get((root, name, chain)) if chain is not None else None
            for ts, post in reversed(posts or ()):
                if ts != UNTIMED:
                    break
                if post != node:
                    best = post if best is None else max(best, post)
                    break
        return best

    def later_by(
        self,
        root: str,
        name: str,
        key: tuple[float, str],
        node: str,
        tail: int,
        words: Callable[[], str],
    ) -> str | None:
        """The earliest post by ``name`` in cascade ``root`` timed after ``key`` whose chain is
        ``tail`` (or that chain after a self-repost) and whose own words are ``words()``.

        The last resort before an uncrawled hop: relative and date-only times (``1小时前``,
        ``11-20``) put a repost before the post it reposted. Chain and quoted words both
        matching say it is that post; only ``_SAID_SCAN`` candidates per chain are read.
        """
        best: tuple[float, str] | None = None
        for chain in (tail, self.chain_ids.get((name, tail))):
            posts = self.by_chain.get((root, name, chain)) if chain is not None else None
            if not posts:
                continue
            start = bisect.bisect_right(posts, (key[0], _LAST))
            for ts, post in posts[start : start + _SAID_SCAN]:
                if ts == UNTIMED or (best is not None and (ts, post) >= best):
                    break
                if post == node:
                    continue
                own = self.own_words.get(post)
                if own is None:
                    own = self.own_words[post] = _words(self.attrs[post]["text"])
                if own == words():
                    best = (ts, post)
                    break
        return best[1] if best is not None else None

    def name_hop_accounts(self) -> None:
        """Give each uncrawled hop the author id of its name's crawled posts in the cascade.

        The chain names only the account; when that account's other posts in the cascade all
        carry one id, the hop is that account's. Left without, the account was two in the key
        accounts (``name:B`` with the reach of the uncrawled hop, ``uB`` with its own posts).
        Two accounts of one display name leave the hop unassigned.
        """
        for hop, (root, name) in self.hops.items():
            ids = {
                str(found)
                for _ts, post in self.by_author.get((root, name), ())
                if (found := self.attrs[post].get("author_id")) not in (None, "")
            }
            if len(ids) == 1:
                self.attrs[hop]["author_id"] = ids.pop()

    def _tree(self, node: str) -> str:
        """The representative of the tree ``node`` is in (path splitting keeps lookups short)."""
        tree_of = self.tree_of
        while node in tree_of:
            up = tree_of[node]
            if up in tree_of:
                tree_of[node] = tree_of[up]
            node = up
        return node

    def link_all(self) -> None:
        """Draw the proposed edges, latest child first, refusing cycles.

        Every child is still the root of its tree when its edge comes (one proposal per
        child), so the edge closes a cycle exactly when the parent is already in that tree.
        Children were proposed in (time, id) order; linking them in reverse makes the edge
        refused in a cycle the one into its earliest post, so that post becomes the root
        (linked forward, a cycle ``a -> b -> c -> a`` by parent ids was cut above the latest
        post ``c``, which became the root of the earlier ``a`` and ``b``). The post whose edge
        is refused goes under its cascade's root instead (an ``inferred`` edge) when that root
        is not in its tree.
        """
        size = self.tree_size
        for child in reversed(self.proposed):
            parent, relation, inferred, at, cascade = self.proposed[child]
            below, above = self._tree(child), self._tree(parent)
            if below == above:
                self.attrs[child]["cycle_broken"] = True
                self.drop(cascade, "into_root" if child in self.roots else "cycle")
                # A post inside a cascade whose parent edge closed a loop stays in the cascade,
                # under its root: left a root itself, it split the incident in two.
                if child == cascade or cascade not in self.attrs:
                    continue
                parent, inferred, above = cascade, True, self._tree(cascade)
                if above == below:
                    continue
            small, big = below, above
            if size.get(small, 1) > size.get(big, 1):
                small, big = big, small
            self.tree_of[small] = big
            size[big] = size.get(big, 1) + size.get(small, 1)
            self.parent[child] = parent
            self.edge[child] = {"relation": relation, "inferred": inferred, "created_at": at}


def _latest_row(
    posts: list[tuple[float, str]] | None, key: tuple[float, str], node: str
) -> tuple[float, str | None]:
    """The last ``(ts, id)`` of sorted ``posts`` at or before ``key[0]`` other than ``node``."""
    if not posts:
        return (0.0, None)
    index = bisect.bisect_right(posts, (key[0], _LAST)) - 1
    while index >= 0 and posts[index][1] == node:
        index -= 1
    return posts[index] if index >= 0 else (0.0, None)


def _words(text: str | None) -> str:
    """A post's own words (before its ``//@`` chain), without spaces, for matching quotes."""
    return "".join(parse_chain(text).text.split())


def _latest(posts: list[tuple[float, str]] | None, key: tuple[float, str], node: str) -> str | None:
    return _latest_row(posts, key, node)[1]
