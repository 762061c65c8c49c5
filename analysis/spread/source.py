"""Source finding: which post started it, when the true root is unknown or several roots merge.

Three estimators over a set of observed posts connected as a tree (direction ignored):

* ``earliest`` — the post with the earliest timestamp (posts without one rank last);
* ``rumor`` — rumor centrality (Shah & Zaman 2011): the node from which the observed tree is
  most likely to have spread, ``R(v) = n! / prod_u T_u^v``, computed for all nodes in O(n) by
  passing ``R(child) = R(parent) * T_child / (n - T_child)`` down from one root;
* ``jordan`` — the Jordan center (smallest eccentricity), from the two ends of a diameter.

:func:`evaluate_sources` measures top-1 / top-5 accuracy on synthetic SI cascades with a known
source, noisy timestamps and missing posts (``python -m bench spread`` prints the table). On
those, earliest-post wins by a wide margin whenever timestamps are present, so
:func:`find_source` uses it and falls back to rumor centrality only when no post has a time.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Hashable, Iterable
from typing import Any, Literal, overload

import networkx as nx

__all__ = [
    "METHODS",
    "evaluate_sources",
    "find_source",
    "rank_earliest",
    "rank_jordan",
    "rank_rumor",
    "rumor_centrality",
    "synthetic_cascade",
]


def _spanning_tree(
    G: nx.Graph, nodes: Iterable[Hashable] | None
) -> tuple[list[Hashable], dict[Hashable, Hashable]]:
    """BFS order and parent map of a spanning tree of the largest component, direction ignored.

    Of several largest components, the one holding the least node id as text.

    On a tree this is the tree itself. Works on the adjacency dicts directly (no graph views),
    so it stays linear and cheap on million-node cascades.
    """
    pool = set(nodes) if nodes is not None else None
    if G.is_directed():
        succ, pred = G._succ, G._pred

        def neighbours(n: Hashable) -> Iterable[Hashable]:
            return itertools.chain(succ[n], pred[n])
    else:
        adj = G._adj

        def neighbours(n: Hashable) -> Iterable[Hashable]:
            return adj[n]

    best_order: list[Hashable] = []
    best_parent: dict[Hashable, Hashable] = {}
    best_first = ""  # the least id as text of the kept component: ties go to the least
    seen: set[Hashable] = set()
    for start in pool if pool is not None else G:
        if start in seen:
            continue
        order, parent = [start], {}
        seen.add(start)
        index = 0
        while index < len(order):
            node = order[index]
            for other in neighbours(node):
                if other not in seen and (pool is None or other in pool):
                    seen.add(other)
                    parent[other] = node
                    order.append(other)
            index += 1
        # Of components of one size, the one holding the least id (as text) is kept: the pool
        # is a set, so the first one met changed with the hash seed from run to run.
        if len(order) > len(best_order):
            best_order, best_parent, best_first = order, parent, min(map(str, order))
        elif len(order) == len(best_order) and (first := min(map(str, order))) < best_first:
            best_order, best_parent, best_first = order, parent, first
    return best_order, best_parent


def _distances(
    order: list[Hashable], parent: dict[Hashable, Hashable], start: Hashable
) -> dict[Hashable, int]:
    children: dict[Hashable, list[Hashable]] = {n: [] for n in order}
    for child, par in parent.items():
        children[par].append(child)
    dist = {start: 0}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for other in (*children[node], *((parent[node],) if node in parent else ())):
                if other not in dist:
                    dist[other] = dist[node] + 1
                    nxt.append(other)
        frontier = nxt
    return dist


def rank_earliest(G: nx.Graph, nodes: Iterable[Hashable] | None = None) -> list[Hashable]:
    """Nodes by ``ts`` attribute, earliest first; nodes without a time come last.

    Nodes of one time are ordered by their id as text, so a tie always breaks the same way.

    Examples
    --------
    >>> G = nx.Graph([(1, 2), (2, 3)])
    >>> nx.set_node_attributes(G, {1: 50.0, 2: 10.0}, "ts")
    >>> rank_earliest(G)
    [2, 1, 3]
    """
    pool = list(nodes) if nodes is not None else list(G)
    ts = G.nodes
    return sorted(
        pool,
        key=lambda n: (ts[n].get("ts") is None, ts[n].get("ts") or 0.0, str(n)),
    )


def rumor_centrality(G: nx.Graph, nodes: Iterable[Hashable] | None = None) -> dict[Hashable, float]:
    """Log rumor centrality of every node of the (undirected) tree spanned by ``nodes``.

    Examples
    --------
    >>> path = nx.path_graph(5)
    >>> r = rumor_centrality(path)
    >>> max(r, key=r.get)  # the middle of a path
    2
    >>> round(math.exp(r[0]))  # only one order spreads a path from its end
    1
    """
    bfs, parent = _spanning_tree(G, nodes)
    size = dict.fromkeys(bfs, 1)
    for node in reversed(bfs[1:]):
        size[parent[node]] += size[node]
    n = len(bfs)
    log_r = {bfs[0]: math.lgamma(n + 1) - sum(math.log(size[v]) for v in bfs)}
    for node in bfs[1:]:
        s = size[node]
        log_r[node] = log_r[parent[node]] + math.log(s) - math.log(n - s)
    return log_r


def rank_rumor(G: nx.Graph, nodes: Iterable[Hashable] | None = None) -> list[Hashable]:
    """Nodes by rumor centrality, highest first."""
    r = rumor_centrality(G, nodes)
    # Rounded: equal scores summed along paths from another start differ in the last bits,
    # and the tie must still break by id.
    return sorted(r, key=lambda n: (-round(r[n], 9), str(n)))


def rank_jordan(G: nx.Graph, nodes: Iterable[Hashable] | None = None) -> list[Hashable]:
    """Nodes by eccentricity on the tree, smallest first (the Jordan center leads).

    Examples
    --------
    >>> rank_jordan(nx.path_graph(5))[:3]
    [2, 1, 3]
    """
    order, parent = _spanning_tree(G, nodes)
    d0 = _distances(order, parent, order[0])
    a = max(d0, key=lambda n: d0[n])
    da = _distances(order, parent, a)
    b = max(da, key=lambda n: da[n])
    db = _distances(order, parent, b)
    # On a tree every node's farthest node is an end of a diameter.
    ecc = {n: max(da[n], db[n]) for n in order}
    return sorted(ecc, key=lambda n: (ecc[n], str(n)))


METHODS = {"earliest": rank_earliest, "rumor": rank_rumor, "jordan": rank_jordan}


@overload
def find_source(
    G: nx.Graph, nodes: Iterable[Hashable] | None = ..., *, with_method: Literal[False] = ...
) -> Hashable: ...


@overload
def find_source(
    G: nx.Graph, nodes: Iterable[Hashable] | None = ..., *, with_method: Literal[True]
) -> tuple[Hashable, str]: ...


def find_source(
    G: nx.Graph, nodes: Iterable[Hashable] | None = None, *, with_method: bool = False
) -> Hashable | tuple[Hashable, str]:
    """The most likely source among ``nodes``: earliest post, rumor centrality if none is timed.

    Placeholder nodes (never crawled) are candidates only for rumor centrality. With
    ``with_method`` the answer is ``(node, method)``, method ``"earliest"`` or ``"rumor"``.

    Examples
    --------
    >>> G = nx.path_graph(3)
    >>> find_source(G, with_method=True)
    (1, 'rumor')
    """
    pool = list(nodes) if nodes is not None else list(G)
    method = "earliest" if any(G.nodes[n].get("ts") is not None for n in pool) else "rumor"
    node = METHODS[method](G, pool)[0]
    return (node, method) if with_method else node


def synthetic_cascade(
    size: int,
    rng: random.Random,
    *,
    network_nodes: int = 3000,
    delay: float = 1.0,
    missing: float = 0.3,
) -> tuple[nx.Graph, Hashable]:
    """An SI cascade on a scale-free network with a known source; returns (tree, source).

    Each infected node's observed ``ts`` is its infection time plus a log-normal posting delay
    (median ``delay`` times the mean gap between infections), and is missing (deleted or
    uncrawled post) with probability ``missing`` — the source included.
    """
    net = nx.barabasi_albert_graph(network_nodes, 2, seed=rng.randrange(2**31))
    source = rng.randrange(network_nodes)
    infected = {source: 0.0}
    tree = nx.Graph()
    tree.add_node(source)
    frontier = [(source, v) for v in net[source]]
    clock = 0.0
    while len(infected) < size and frontier:
        clock += rng.expovariate(len(frontier))
        u, v = frontier.pop(rng.randrange(len(frontier)))
        if v in infected:
            continue
        infected[v] = clock
        tree.add_edge(u, v)
        frontier.extend((v, w) for w in net[v] if w not in infected)
    gap = clock / max(len(infected) - 1, 1)
    for node, t in infected.items():
        observed = None if rng.random() < missing else t + gap * delay * rng.lognormvariate(0, 1)
        tree.nodes[node]["ts"] = observed
    return tree, source


def evaluate_sources(
    trials: int = 50, size: int = 200, *, seed: int = 7, **options: Any
) -> dict[str, dict[str, float]]:
    """Top-1 and top-5 accuracy of every method on ``trials`` synthetic cascades.

    Examples
    --------
    >>> scores = evaluate_sources(trials=4, size=40, seed=1)
    >>> sorted(scores), sorted(scores["rumor"])
    (['earliest', 'jordan', 'rumor'], ['top1', 'top5'])
    """
    rng = random.Random(seed)
    hits = {name: [0, 0] for name in METHODS}
    for _ in range(trials):
        tree, source = synthetic_cascade(size, rng, **options)
        for name, rank in METHODS.items():
            ranked = rank(tree)
            hits[name][0] += ranked[0] == source
            hits[name][1] += source in ranked[:5]
    return {
        name: {"top1": round(h1 / trials, 3), "top5": round(h5 / trials, 3)}
        for name, (h1, h5) in hits.items()
    }
