"""Structural virality (Goel, Anderson, Hofman & Watts 2016) in linear time on trees.

Structural virality is the mean shortest-path distance over all pairs of nodes of the
(undirected) cascade tree. A broadcast (one hub, everyone else a leaf) scores just under 2; a
long chain of person-to-person reposts scores about n/3. On a tree the sum of all pairwise
distances (the Wiener index) is the sum over edges of ``s * (n - s)``, where ``s`` is the size
of the subtree below the edge: each edge lies on the path of exactly that many pairs. One
traversal gives every subtree size, so the whole computation is O(n) instead of the O(n^2) of
all-pairs shortest paths.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import NamedTuple

import networkx as nx

__all__ = [
    "TreeIndex",
    "bfs_order",
    "structural_virality",
    "subtree_sizes",
    "tree_index",
    "virality_from_sizes",
    "wiener_index_tree",
]


class TreeIndex(NamedTuple):
    """One breadth-first pass over a tree, as parallel lists indexed by BFS position.

    ``order[i]`` is a node, ``parent[i]`` the position of its parent (-1 for the root),
    ``depth[i]`` its depth and ``size[i]`` the size of its subtree (itself included).
    """

    order: list[Hashable]
    parent: list[int]
    depth: list[int]
    size: list[int]


def tree_index(G: nx.DiGraph, root: Hashable) -> TreeIndex:
    """Traverse the tree below ``root`` once: order, parents, depths and subtree sizes.

    ``G`` must be a forest (every node has at most one parent), as
    :func:`koubei.analysis.spread.cascade.build_cascades` makes it. No visited-set is kept (it would
    cost a third of the time); a traversal that outgrows the graph, which is what a cycle does,
    raises ``ValueError``.

    Examples
    --------
    >>> t = tree_index(nx.DiGraph([(0, 1), (0, 2), (1, 3)]), 0)
    >>> t.order, t.parent, t.depth, t.size
    ([0, 1, 2, 3], [-1, 0, 0, 1], [0, 1, 1, 2], [4, 2, 1, 1])
    """
    succ = G._succ
    order = [root]
    parent = [-1]
    depth = [0]
    index = 0
    limit = len(succ)
    while index < len(order):
        level = depth[index] + 1
        for child in succ[order[index]]:
            order.append(child)
            parent.append(index)
            depth.append(level)
        index += 1
        if len(order) > limit:
            raise ValueError(f"not a forest: a node below {root!r} has several parents")
    size = [1] * len(order)
    for i in range(len(order) - 1, 0, -1):
        size[parent[i]] += size[i]
    return TreeIndex(order, parent, depth, size)


def bfs_order(G: nx.DiGraph, root: Hashable) -> list[Hashable]:
    """Nodes of the tree below ``root`` in breadth-first order (root first).

    Examples
    --------
    >>> bfs_order(nx.DiGraph([(0, 1), (0, 2), (1, 3)]), 0)
    [0, 1, 2, 3]
    """
    return tree_index(G, root).order


def subtree_sizes(G: nx.DiGraph, root: Hashable) -> dict[Hashable, int]:
    """Size of the subtree below each node of the tree rooted at ``root`` (node included).

    Examples
    --------
    >>> sorted(subtree_sizes(nx.DiGraph([(0, 1), (0, 2), (1, 3)]), 0).items())
    [(0, 4), (1, 2), (2, 1), (3, 1)]
    """
    index = tree_index(G, root)
    return dict(zip(index.order, index.size, strict=True))


def virality_from_sizes(size: list[int]) -> float:
    """Mean pairwise distance from subtree sizes (root first): ``2 W / (n (n - 1))``."""
    n = len(size)
    if n < 2:
        return 0.0
    wiener = sum(s * (n - s) for s in size[1:])
    return 2.0 * wiener / (n * (n - 1))


def wiener_index_tree(G: nx.DiGraph, root: Hashable) -> int:
    """Sum of distances over all unordered node pairs of the tree rooted at ``root``.

    Examples
    --------
    >>> wiener_index_tree(nx.DiGraph([(0, 1), (1, 2)]), 0)  # 1 + 1 + 2
    4
    """
    size = tree_index(G, root).size
    return sum(s * (size[0] - s) for s in size[1:])


def structural_virality(G: nx.DiGraph, root: Hashable | None = None) -> float:
    """Mean pairwise distance of the cascade tree rooted at ``root``; 0.0 for a single node.

    Parameters
    ----------
    G : networkx.DiGraph
        A forest with edges parent -> child.
    root : node, optional
        The cascade's root; defaults to the only node without a parent (``ValueError`` when
        ``G`` has several).

    Examples
    --------
    >>> star = nx.DiGraph([(0, i) for i in range(1, 11)])
    >>> round(structural_virality(star), 3)  # 2 - 2/n for a star of n nodes
    1.818
    >>> round(structural_virality(nx.DiGraph([(i, i + 1) for i in range(9)])), 3)  # (n+1)/3
    3.667
    """
    if root is None:
        roots = [node for node, degree in G.in_degree() if degree == 0]
        if len(roots) != 1:
            raise ValueError(f"give a root: the graph has {len(roots)} nodes without a parent")
        root = roots[0]
    return virality_from_sizes(tree_index(G, root).size)
