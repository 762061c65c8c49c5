"""Building cascade graphs (who reposted, replied to or quoted whom) from document records.

The graph is a forest: nodes are posts (document ids), an edge ``parent -> child`` says the child
reposted, replied to or quoted the parent. Every node has at most one parent, so each weakly
connected component is a tree rooted at the node without a parent; the measures rely on that.

Where the platform gives only the root (Weibo's ``retweeted_status``), the intermediate hops
are rebuilt from the ``//@name:`` chain: a hop resolves to the latest earlier post by an author
of that name in the same cascade, or to a placeholder hop node if that repost was never crawled.
A parent that was never crawled becomes a placeholder node, so nothing is dropped. Bad data
(self-parents, parent cycles) is repaired by detaching the offending edge; the node then roots
its own tree and is marked ``cycle_broken``.

Mentions are account-level interactions, not post hops; they are in the interaction graph of
:mod:`koubei.analysis.spread.accounts` and kept here only as the node attribute ``mentions``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import networkx as nx

from koubei.analysis.spread.chains import record_chain, record_text
from koubei.crawlers.timeparse import TimeParseError, parse_iso

__all__ = ["build_cascades", "hop_placeholder_id", "parse_time"]


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from a record's ``created_at`` (ISO string or datetime), else None.

    Reads with the project's one time parser (:func:`koubei.crawlers.timeparse.parse_iso`); a
    value it cannot read counts as unknown rather than stopping the analysis.

    Examples
    --------
    >>> parse_time("2026-11-25T10:00:00+08:00").hour
    10
    >>> parse_time(None) is None
    True
    """
    if value is None or value == "":
        return None
    try:
        return parse_iso(value)
    except TimeParseError:
        return None


def hop_placeholder_id(root: str, name: str) -> str:
    """Id of the placeholder for an uncrawled repost by ``name`` in the cascade of ``root``."""
    return f"~hop:{root}:{name}"


def _node_attrs(record: dict[str, Any], created: datetime | None, ts: float) -> dict[str, Any]:
    author = record.get("author") or {}
    sentiment = record.get("sentiment") or {}
    return {
        "placeholder": False,
        "author": author.get("name"),
        "author_id": author.get("id"),
        "followers": author.get("followers") or 0,
        "verified": bool(author.get("verified")),
        "created_at": created,
        "ts": ts if created else None,
        "sentiment": sentiment.get("label"),
        "text": record_text(record),
        "platform": record.get("platform"),
        "kind": record.get("kind"),
        "url": record.get("url"),
        "dup_cluster": record.get("dup_cluster"),
        "mentions": record.get("mentions") or [],
    }


def _placeholder_attrs(author: str | None = None) -> dict[str, Any]:
    return {
        "placeholder": True,
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


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Building makes millions of small acyclic containers while the records are alive; the
    # cyclic collector would re-scan that growing heap over and over (it nearly doubled build
    # time at 500k posts). Reference counting still frees everything.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Forest:
    """Parent pointers plus the bookkeeping needed to resolve chain hops and refuse cycles."""

    def __init__(self) -> None:
        self.attrs: dict[str, dict[str, Any]] = {}
        self.parent: dict[str, str] = {}
        self.edge: dict[str, dict[str, Any]] = {}
        self.has_children: set[str] = set()
        # (cascade root, author name) -> latest post by that author seen so far (time order).
        self.by_author: dict[tuple[str, str], str] = {}

    def ensure_placeholder(self, node: str, author: str | None = None) -> None:
        if node not in self.attrs:
            self.attrs[node] = _placeholder_attrs(author)

    def _is_ancestor(self, candidate: str, node: str) -> bool:
        # Walk up from ``node``; only called when the child already has children, i.e. when a
        # placeholder is being filled in, so the walk is rare.
        seen = 0
        while node in self.parent:
            node = self.parent[node]
            if node == candidate:
                return True
            seen += 1
            if seen > len(self.parent):
                return True
        return False

    def link(self, parent: str, child: str, relation: str, inferred: bool, at: Any) -> bool:
        """Attach ``child`` under ``parent`` unless it already has a parent or it makes a cycle."""
        if parent == child or child in self.parent:
            return False
        if child in self.has_children and self._is_ancestor(child, parent):
            self.attrs[child]["cycle_broken"] = True
            return False
        self.parent[child] = parent
        self.has_children.add(parent)
        self.edge[child] = {"relation": relation, "inferred": inferred, "created_at": at}
        return True


def build_cascades(records: Iterable[dict[str, Any]]) -> nx.DiGraph:
    """Build the cascade forest of ``records`` (Document JSON dicts).

    Parameters
    ----------
    records : iterable of dict
        ``koubei.model.Document`` records; only ``id`` is required. Duplicates (same ``id``)
        keep the first copy.

    Returns
    -------
    networkx.DiGraph
        Edges ``parent -> child`` with attributes ``relation`` (repost/reply/quote),
        ``inferred`` (True when rebuilt from a ``//@`` chain) and ``created_at`` (the child's
        time). Nodes carry ``author``, ``author_id``, ``followers``, ``verified``,
        ``created_at`` (aware datetime or None), ``ts`` (epoch seconds or None), ``sentiment``
        (label or None), ``text``, ``platform``, ``kind``, ``url``, ``dup_cluster``,
        ``mentions`` and ``placeholder`` (True for posts that were referenced but not crawled).

    Examples
    --------
    >>> recs = [
    ...     {"id": "w:1", "author": {"name": "A"}, "created_at": "2026-01-01T10:00:00+08:00",
    ...      "text_raw": "鲜牧的奶变质了"},
    ...     {"id": "w:2", "author": {"name": "B"}, "parent_id": "w:1", "root_id": "w:1",
    ...      "relation": "repost", "created_at": "2026-01-01T10:05:00+08:00",
    ...      "text_raw": "转发//@A: 鲜牧的奶变质了"},
    ...     {"id": "w:3", "author": {"name": "C"}, "parent_id": "w:1", "root_id": "w:1",
    ...      "relation": "repost", "created_at": "2026-01-01T10:09:00+08:00",
    ...      "text_raw": "天哪//@B: 转发//@A: 鲜牧的奶变质了"},
    ... ]
    >>> G = build_cascades(recs)
    >>> sorted(G.edges())
    [('w:1', 'w:2'), ('w:2', 'w:3')]
    >>> G.edges["w:2", "w:3"]["inferred"]
    True
    """
    with _gc_paused():
        return _build(records)


def _build(records: Iterable[dict[str, Any]]) -> nx.DiGraph:
    unique: dict[str, dict[str, Any]] = {}
    for record in records:
        node = record.get("id")
        if node is not None and str(node) not in unique:
            unique[str(node)] = record
    timed: list[tuple[float, int, str, datetime | None]] = []
    for order, (node, record) in enumerate(unique.items()):
        created = parse_time(record.get("created_at"))
        key = created.timestamp() if created else float("inf")
        timed.append((key, order, node, created))
    timed.sort()

    forest = _Forest()
    for key, _order, node, created in timed:
        record = unique[node]
        was_placeholder = node in forest.attrs
        forest.attrs[node] = _node_attrs(record, created, key)
        if was_placeholder:
            forest.attrs[node]["was_placeholder"] = True
        _attach(forest, node, record, created)
        author = forest.attrs[node]["author"]
        root = _cascade_key(record, node)
        if author:
            forest.by_author[(root, author)] = node

    G = nx.DiGraph()
    G.add_nodes_from(forest.attrs.items())
    G.add_edges_from((parent, child, forest.edge[child]) for child, parent in forest.parent.items())
    return G


def _cascade_key(record: dict[str, Any], node: str) -> str:
    root = record.get("root_id") or record.get("parent_id") or node
    return str(root)


def _declared_parent(record: dict[str, Any], node: str) -> str | None:
    for key in ("parent_id", "root_id"):
        value = record.get(key)
        if value and str(value) != node:
            return str(value)
    return None


def _attach(forest: _Forest, node: str, record: dict[str, Any], created: datetime | None) -> None:
    parent = _declared_parent(record, node)
    relation = record.get("relation") or ("repost" if record.get("kind") == "repost" else "reply")
    at = created.isoformat() if created else None
    root = str(record.get("root_id") or parent or node)
    is_repost = relation == "repost" or record.get("kind") == "repost"
    parent_is_root = parent is None or parent == root
    if is_repost and parent_is_root:
        hops = record_chain(record)
        if hops:
            _attach_chain(forest, node, root, hops, relation, at)
            return
    if parent is None:
        return
    if parent not in forest.attrs:
        forest.ensure_placeholder(parent)
        if root != parent:
            forest.ensure_placeholder(root)
            forest.link(root, parent, "reply", False, None)
    forest.link(parent, node, relation, False, at)


def _attach_chain(
    forest: _Forest, node: str, root: str, hops: list[str], relation: str, at: str | None
) -> None:
    """Attach ``node`` through its chain hops (nearest first), resolving or inventing each hop.

    Hops are resolved nearest first and the walk stops at the first hop already anchored in the
    forest (a crawled post has its parent already), so a typical repost costs one lookup; only
    runs of never-crawled hops are linked up one by one toward the root.
    """
    forest.ensure_placeholder(root)
    own_author = forest.attrs[node]["author"]
    chain: list[str] = []
    for name in hops:
        hop = forest.by_author.get((root, name))
        if hop is None:
            if name == own_author:
                continue  # "//@me:" with no earlier post of mine: a self-repost, not a hop
            if forest.attrs[root].get("author") == name:
                hop = root
            else:
                hop = hop_placeholder_id(root, name)
                forest.ensure_placeholder(hop, author=name)
        chain.append(hop)
        if hop == root or hop in forest.parent:
            break
    upstream = root
    for hop in reversed(chain):
        if hop != upstream:
            forest.link(upstream, hop, relation, True, None)
            upstream = hop
    forest.link(upstream, node, relation, upstream != root, at)
