"""Per-cascade measures: size, depth, breadth, timing, growth, paths, sentiment, platforms.

Every function takes the cascade forest from :func:`koubei.analysis.spread.cascade.build_cascades`
and a root, and runs in time linear in the cascade's size (one breadth-first traversal).
Placeholder nodes (referenced but never crawled) count toward shape but have no time, sentiment
or platform, so they are left out of those measures.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Hashable
from datetime import datetime
from typing import Any

import networkx as nx

from koubei.analysis.spread.virality import (
    bfs_order,
    subtree_sizes,
    tree_index,
    virality_from_sizes,
)
from koubei.timeutil import DEFAULT_TZ

__all__ = [
    "cascade_events",
    "cascade_roots",
    "cascade_summary",
    "cascade_tree",
    "depth_profile",
    "growth",
    "main_paths",
    "negative_share",
    "platforms",
    "time_to_fraction",
    "times",
]


def cascade_roots(G: nx.DiGraph) -> list[Hashable]:
    """Roots of the forest's cascades, largest cascade first (ties: earliest id).

    Examples
    --------
    >>> cascade_roots(nx.DiGraph([("a", "b"), ("c", "d"), ("c", "e")]))
    ['c', 'a']
    """
    roots = [node for node, degree in G.in_degree() if degree == 0]
    size = {root: len(bfs_order(G, root)) for root in roots}
    return sorted(roots, key=lambda root: (-size[root], str(root)))


def cascade_tree(G: nx.DiGraph, root: Hashable) -> nx.DiGraph:
    """The cascade below ``root`` as its own subgraph view."""
    return G.subgraph(bfs_order(G, root))


def depth_profile(G: nx.DiGraph, root: Hashable) -> list[int]:
    """Number of nodes at each depth (index 0 is the root); depth = len - 1, max breadth = max.

    Examples
    --------
    >>> depth_profile(nx.DiGraph([(0, 1), (0, 2), (1, 3), (1, 4), (1, 5)]), 0)
    [1, 2, 3]
    """
    return _profile(tree_index(G, root).depth)


def _profile(depth: list[int]) -> list[int]:
    profile = [0] * (max(depth) + 1)
    for d in depth:
        profile[d] += 1
    return profile


def times(G: nx.DiGraph, root: Hashable, order: list[Hashable] | None = None) -> list[float]:
    """Sorted post times (epoch seconds) of the crawled nodes of the cascade."""
    attrs = G._node
    nodes = order if order is not None else bfs_order(G, root)
    return sorted(t for node in nodes if (t := attrs[node].get("ts")) is not None)


def time_to_fraction(
    G: nx.DiGraph, root: Hashable, fraction: float, *, stamps: list[float] | None = None
) -> float | None:
    """Seconds from the first post until ``fraction`` of the cascade's timed posts existed.

    Examples
    --------
    >>> G = nx.DiGraph([(0, 1), (0, 2), (0, 3)])
    >>> nx.set_node_attributes(G, {0: 0.0, 1: 60.0, 2: 120.0, 3: 600.0}, "ts")
    >>> time_to_fraction(G, 0, 0.5), time_to_fraction(G, 0, 0.9)
    (60.0, 600.0)
    """
    stamps = stamps if stamps is not None else times(G, root)
    if not stamps:
        return None
    index = max(0, min(len(stamps) - 1, math.ceil(fraction * len(stamps)) - 1))
    return stamps[index] - stamps[0]


def growth(
    G: nx.DiGraph,
    root: Hashable,
    *,
    now: float | None = None,
    windows: int = 4,
    stamps: list[float] | None = None,
) -> dict[str, Any]:
    """Whether the cascade is still accelerating, from posts in its two latest time windows.

    The span from the first post to ``now`` (default: the last post) is cut into ``windows``
    equal windows; the cascade is accelerating when the latest window holds at least three
    posts and more than 1.25 times the posts of the window before it.

    Returns
    -------
    dict
        ``accelerating``, ``recent`` and ``previous`` counts, ``ratio`` and ``window_seconds``.

    Examples
    --------
    >>> G = nx.DiGraph([(0, i) for i in range(1, 8)])
    >>> nx.set_node_attributes(G, dict(enumerate([0, 10, 20, 30, 31, 32, 33, 34])), "ts")
    >>> growth(G, 0, now=40.0)["accelerating"]
    True
    """
    stamps = stamps if stamps is not None else times(G, root)
    result: dict[str, Any] = {
        "accelerating": False,
        "recent": 0,
        "previous": 0,
        "ratio": None,
        "window_seconds": None,
    }
    if len(stamps) < 2:
        return result
    end = max(now if now is not None else stamps[-1], stamps[-1])
    width = (end - stamps[0]) / windows
    if width <= 0:
        return result
    recent = len(stamps) - bisect.bisect_right(stamps, end - width)
    previous = bisect.bisect_right(stamps, end - width) - bisect.bisect_right(
        stamps, end - 2 * width
    )
    result.update(
        recent=recent,
        previous=previous,
        ratio=round(recent / max(previous, 1), 3),
        window_seconds=width,
        accelerating=recent >= 3 and recent > 1.25 * previous,
    )
    return result


def main_paths(G: nx.DiGraph, root: Hashable, k: int = 3) -> list[list[Hashable]]:
    """The ``k`` branches that reached most people: root -> leaf, following the biggest subtree.

    Each path starts at the root, enters one of its ``k`` largest child subtrees and then
    always steps into the largest child subtree until a leaf.

    Examples
    --------
    >>> G = nx.DiGraph([(0, 1), (1, 2), (1, 3), (3, 4), (0, 5)])
    >>> main_paths(G, 0, k=2)
    [[0, 1, 3, 4], [0, 5]]
    """
    sizes = subtree_sizes(G, root)
    succ = G._succ

    def biggest(node: Hashable) -> list[Hashable]:
        return sorted(succ[node], key=lambda c: (-sizes[c], str(c)))

    paths = []
    for first in biggest(root)[:k]:
        path = [root, first]
        while succ[path[-1]]:
            path.append(biggest(path[-1])[0])
        paths.append(path)
    return paths or [[root]]


def negative_share(
    G: nx.DiGraph, root: Hashable, order: list[Hashable] | None = None
) -> float | None:
    """Share of the cascade's posts with an opinion label that are negative.

    Posts labelled ``no_opinion`` (bare reposts and the like) count on neither side.
    """
    attrs = G._node
    labels = [attrs[n].get("sentiment") for n in (order or bfs_order(G, root))]
    labelled = [label for label in labels if label and label != "no_opinion"]
    if not labelled:
        return None
    return round(sum(label == "negative" for label in labelled) / len(labelled), 4)


def platforms(G: nx.DiGraph, root: Hashable, order: list[Hashable] | None = None) -> list[str]:
    """Platforms the cascade crossed, sorted."""
    attrs = G._node
    return sorted({p for n in (order or bfs_order(G, root)) if (p := attrs[n].get("platform"))})


def _iso(ts: float | None) -> str | None:
    return datetime.fromtimestamp(ts, DEFAULT_TZ).isoformat() if ts is not None else None


def _from_root(stamps: list[float], root_ts: float | None, fraction: float) -> float | None:
    if root_ts is None or not stamps:
        return None
    index = max(0, min(len(stamps) - 1, math.ceil(fraction * len(stamps)) - 1))
    return stamps[index] - root_ts


def cascade_summary(G: nx.DiGraph, root: Hashable, *, now: float | None = None) -> dict[str, Any]:
    """All scalar measures of the cascade rooted at ``root``, JSON-ready.

    Examples
    --------
    >>> G = nx.DiGraph([(0, 1), (0, 2), (1, 3)])
    >>> s = cascade_summary(G, 0)
    >>> s["size"], s["depth"], s["max_breadth"], round(s["structural_virality"], 3)
    (4, 2, 2, 1.667)
    """
    # One traversal feeds every measure: this runs on million-node cascades in the bench.
    index = tree_index(G, root)
    order = index.order
    attrs = G._node
    profile = _profile(index.depth)
    stamps = times(G, root, order)
    rising = growth(G, root, now=now, stamps=stamps)
    crawled = [attrs[n] for n in order if not attrs[n].get("placeholder")]
    root_ts = attrs[root].get("ts")
    before_root = bisect.bisect_left(stamps, root_ts) if root_ts is not None else 0
    dropped = (G.graph.get("dropped_by_root") or {}).get(root)
    return {
        "root": root,
        "size": len(order),
        "placeholders": len(order) - len(crawled),
        "depth": len(profile) - 1,
        "max_breadth": max(profile),
        "breadth_by_depth": profile,
        "structural_virality": virality_from_sizes(index.size),
        "negative_share": negative_share(G, root, order),
        "platforms": platforms(G, root, order),
        "max_followers": max((a.get("followers") or 0 for a in crawled), default=0),
        "verified_involved": any(a.get("verified") for a in crawled),
        "first_post": _iso(stamps[0]) if stamps else None,
        "last_post": _iso(stamps[-1]) if stamps else None,
        # From the first post, which is the root unless the root is uncrawled or untimed or a
        # post predates it (clock skew, a deleted-and-reposted root); then the root-based
        # figures are given too, and may be negative.
        "time_origin": "root" if root_ts is not None and not before_root else "first_post",
        "posts_before_root": before_root,
        "seconds_to_half": time_to_fraction(G, root, 0.5, stamps=stamps),
        "seconds_to_90pct": time_to_fraction(G, root, 0.9, stamps=stamps),
        "seconds_to_half_from_root": _from_root(stamps, root_ts, 0.5),
        "seconds_to_90pct_from_root": _from_root(stamps, root_ts, 0.9),
        "dropped": dict(dropped) if dropped else {},
        "growth": rising,
        "accelerating": rising["accelerating"],
    }


def cascade_events(G: nx.DiGraph, roots: list[Hashable] | None = None) -> list[dict[str, Any]]:
    """One event per timed repost/reply below ``roots`` (default: every cascade), in time order.

    The input of :func:`koubei.analysis.detectors.cascade.cascade_series`: ``time`` (aware
    datetime),
    ``depth`` (root = 0), the author's ``followers`` and ``verified``, and the ``root``.

    Examples
    --------
    >>> G = nx.DiGraph([(0, 1), (1, 2)])
    >>> nx.set_node_attributes(G, {1: 60.0, 2: 120.0}, "ts")
    >>> [(e["depth"], e["time"].minute) for e in cascade_events(G)]
    [(1, 1), (2, 2)]
    """
    events: list[dict[str, Any]] = []
    nodes = G._node
    for root in roots if roots is not None else cascade_roots(G):
        index = tree_index(G, root)
        for position, node in enumerate(index.order):
            ts = nodes[node].get("ts")
            if position == 0 or ts is None:
                continue
            events.append(
                {
                    "time": datetime.fromtimestamp(ts, DEFAULT_TZ),
                    "depth": index.depth[position],
                    "followers": nodes[node].get("followers") or 0,
                    "verified": bool(nodes[node].get("verified")),
                    "root": root,
                }
            )
    events.sort(key=lambda e: e["time"])
    return events
