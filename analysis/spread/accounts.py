"""Key accounts and their roles: originators, amplifiers, bridges, early movers.

The interaction graph is account-level: an edge ``actor -> target`` says the actor reposted,
replied to, quoted or mentioned the target (weight = how often). PageRank on it credits the
accounts whose posts others pass on. Reach comes from the cascade forest: how many posts sit
below an account's posts. Bridges have high betweenness (sampled with ``k`` sources on big
graphs, never all pairs) and neighbours in more than one community (Louvain, or fast label
propagation above ``louvain_max_edges``; a long chain of accounts enters Louvain in blocks).
Early movers posted in the first tenth of a cascade that grew to at least ``early_min_size``
posts.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable
from typing import Any

import networkx as nx

from koubei.analysis.spread.measures import cascade_roots
from koubei.analysis.spread.virality import tree_index

__all__ = [
    "ROLE_NAMES",
    "account_documents",
    "account_key",
    "accounts_for_period",
    "betweenness_samples",
    "forest_betweenness",
    "interaction_graph",
    "key_accounts",
    "rank_accounts",
]

#: What each role is called where people read it (alerts, incident pages).
ROLE_NAMES = {
    "originator": "源头",
    "amplifier": "放大者",
    "bridge": "跨圈传播",
    "early_mover": "早期参与",
}


def account_key(attrs: dict[str, Any]) -> str | None:
    """The account a post node belongs to: its author id, else ``name:<author name>``."""
    if attrs.get("author_id"):
        return str(attrs["author_id"])
    if attrs.get("author"):
        return f"name:{attrs['author']}"
    return None


def interaction_graph(G: nx.DiGraph) -> nx.DiGraph:
    """Account graph of a cascade forest: ``actor -> target`` with ``weight`` and ``relations``.

    Examples
    --------
    >>> G = nx.DiGraph([(1, 2), (1, 3)], relation="repost")
    >>> nx.set_node_attributes(G, {1: "A", 2: "B", 3: "B"}, "author")
    >>> G.nodes[2]["mentions"] = ["C"]
    >>> A = interaction_graph(G)
    >>> A["name:B"]["name:A"]["weight"], sorted(A.edges())
    (2, [('name:B', 'name:A'), ('name:B', 'name:C')])
    """
    A = nx.DiGraph()
    by_name: dict[str, str] = {}
    # Posts by id, not in G's order: PageRank, Louvain and so every score and role follow the
    # order of A, and a subgraph view of part of G lists its nodes in hash order, which
    # changed from one run to the next (the cascades index's top accounts and roles).
    posts = sorted(G.nodes(data=True), key=lambda item: str(item[0]))
    named: dict[str, tuple[float, str]] = {}  # account -> (time, id) of the post its name is from
    for node, attrs in posts:
        key = account_key(attrs)
        if key is None:
            continue
        followers = attrs.get("followers") or 0
        if key not in A:
            A.add_node(
                key,
                name=attrs.get("author"),
                followers=followers,
                verified=bool(attrs.get("verified")),
            )
        else:  # the largest count and any badge among the account's posts
            account = A.nodes[key]
            account["followers"] = max(account["followers"], followers)
            account["verified"] = account["verified"] or bool(attrs.get("verified"))
        # An account renamed between its posts goes by the name of its latest: the name of
        # the post whose id sorted first was shown, its old name as often as not.
        ts = attrs.get("ts")
        when = (float("-inf") if ts is None else float(ts), str(node))
        if attrs.get("author") and (key not in named or when > named[key]):
            named[key] = when
            A.nodes[key]["name"] = attrs["author"]
        if attrs.get("author"):
            by_name.setdefault(attrs["author"], key)

    def add(actor: str, target: str, relation: str) -> None:
        if actor == target:
            return
        if A.has_edge(actor, target):
            data = A[actor][target]
            data["weight"] += 1
            data["relations"][relation] = data["relations"].get(relation, 0) + 1
        else:
            A.add_edge(actor, target, weight=1, relations={relation: 1})

    for parent, child, data in sorted(G.edges(data=True), key=lambda e: (str(e[1]), str(e[0]))):
        actor, target = account_key(G.nodes[child]), account_key(G.nodes[parent])
        if actor and target:
            add(actor, target, data.get("relation") or "repost")
    for _node, attrs in posts:
        actor = account_key(attrs)
        for name in attrs.get("mentions") or []:
            if actor:
                target = by_name.get(name, f"name:{name}")
                if target not in A:
                    A.add_node(target, name=name, followers=0, verified=False)
                add(actor, target, "mention")
    return A


def betweenness_samples(edges: int, k: int = 32, budget: int = 8_000_000) -> int:
    """Betweenness pivots for a graph of ``edges`` undirected edges: ``k`` within the budget.

    Examples
    --------
    >>> betweenness_samples(10_000), betweenness_samples(1_000_000), betweenness_samples(10**8)
    (32, 8, 4)
    """
    return max(4, min(k, budget // max(1, edges)))


def forest_betweenness(U: nx.Graph) -> dict[Hashable, float]:
    """Exact normalised betweenness of an undirected forest in linear time.

    In a tree every pair has one path, so the pairs through ``v`` are the pairs of its
    component minus those inside each piece left when ``v`` is removed. Equal to
    ``nx.betweenness_centrality(U, normalized=True)``, which costs one traversal per node.

    Examples
    --------
    >>> forest_betweenness(nx.path_graph(4))
    {0: 0.0, 1: 0.6666666666666666, 2: 0.6666666666666666, 3: 0.0}
    """
    n = U.number_of_nodes()
    scale = 2.0 / ((n - 1) * (n - 2)) if n > 2 else 0.0
    adj = U._adj
    result: dict[Hashable, float] = dict.fromkeys(U, 0.0)
    seen: set[Hashable] = set()
    for start in U:
        if start in seen:
            continue
        order, parent = [start], {start: None}
        seen.add(start)
        index = 0
        while index < len(order):
            node = order[index]
            for other in adj[node]:
                if other not in seen:
                    seen.add(other)
                    parent[other] = node
                    order.append(other)
            index += 1
        size = dict.fromkeys(order, 1)
        inside: dict[Hashable, int] = dict.fromkeys(order, 0)  # sum of C(child size, 2)
        for node in reversed(order):
            up = parent[node]
            if up is not None:
                size[up] += size[node]
                inside[up] += size[node] * (size[node] - 1) // 2
        m = len(order)
        for node in order:
            rest = m - size[node]
            pairs = (m - 1) * (m - 2) // 2 - inside[node] - rest * (rest - 1) // 2
            result[node] = pairs * scale
    return result


#: Runs of more accounts than this, each linked only to the one before and the one after it
#: (a long ``//@`` chain of uncrawled hops, a deep reply thread), go to Louvain as blocks. The
#: deepest synthetic cascade of ``python -m bench spread`` (1M posts) is 23 hops deep, so no
#: ordinary cascade has one and its communities are Louvain's on the graph as it is.
LONG_RUN = 128


def _communities(U: nx.Graph, seed: int, louvain_max_edges: int) -> list[set[Hashable]]:
    if U.number_of_edges() == 0:
        return [{n} for n in U]
    if U.number_of_edges() <= louvain_max_edges:
        return _louvain(U, seed)
    return list(nx.community.fast_label_propagation_communities(U, seed=seed))


def _louvain(U: nx.Graph, seed: int) -> list[set[Hashable]]:
    """Louvain communities of ``U``, long runs of degree-2 nodes cut into blocks first.

    On a run, Louvain's local moving phase drifts: a node at the border of two neighbouring
    groups gains (by about 1/m², m the total weight) by moving to the smaller one, so every
    pass moves a border by one node, the next pass its neighbour, and a level takes about as
    many passes over all nodes as the run is long (a 10,000-account chain: 106 s). Each
    block (of at most sqrt(m/2) nodes) enters Louvain as one node whose self-loop holds its
    inner edges, which is how Louvain itself hands a found community to its next level. Two
    neighbouring pieces of a run shorter than that are always worth merging (gain
    1/m - 2s²/m² > 0 for pieces of s nodes), so the blocks only fix where along a featureless
    run the cuts fall. A graph without such a run goes to Louvain unchanged.

    Examples
    --------
    >>> path = nx.path_graph(1000)
    >>> parts = _louvain(path, seed=0)
    >>> all(nx.is_connected(path.subgraph(p)) for p in parts), len(parts) > 10
    (True, True)
    """
    m = U.size(weight="weight")
    runs = _long_runs(U, LONG_RUN)
    if not runs:
        return list(nx.community.louvain_communities(U, weight="weight", seed=seed))
    block = max(2, math.isqrt(int(m // 2)))
    head: dict[Hashable, Hashable] = {}
    members: dict[Hashable, list[Hashable]] = {}
    for run in runs:
        for start in range(0, len(run), block):
            piece = run[start : start + block]
            members[piece[0]] = piece
            head.update(dict.fromkeys(piece, piece[0]))
    R = nx.Graph()
    R.add_nodes_from(n for n in U if head.get(n, n) == n)
    for u, v, w in U.edges(data="weight", default=1):
        a, b = head.get(u, u), head.get(v, v)
        if R.has_edge(a, b):
            R[a][b]["weight"] += w
        else:
            R.add_edge(a, b, weight=w)
    return [
        {n for h in part for n in members.get(h, [h])}
        for part in nx.community.louvain_communities(R, weight="weight", seed=seed)
    ]


def _long_runs(U: nx.Graph, longer_than: int) -> list[list[Hashable]]:
    """Maximal runs of degree-2 nodes with more than ``longer_than`` nodes, in path order.

    Examples
    --------
    >>> [len(run) for run in _long_runs(nx.path_graph(10), 5)]
    [8]
    """
    adj = U._adj

    def inner(n: Hashable) -> bool:
        return len(adj[n]) == 2 and n not in adj[n]

    seen: set[Hashable] = set()
    runs = []
    for start in U:
        if start in seen or not inner(start):
            continue
        seen.add(start)
        sides: list[list[Hashable]] = []
        for first in adj[start]:
            side, previous, node = [], start, first
            while node not in seen and inner(node):
                seen.add(node)
                side.append(node)
                previous, node = node, next(n for n in adj[node] if n != previous)
            sides.append(side)
        run = [*reversed(sides[0]), start, *sides[1]]
        if len(run) > longer_than:
            runs.append(run)
    return runs


def rank_accounts(
    A: nx.DiGraph,
    *,
    k: int = 32,
    seed: int = 0,
    louvain_max_edges: int = 50_000,
    betweenness_budget: int = 8_000_000,
) -> dict[Hashable, dict[str, Any]]:
    """PageRank, approximate betweenness and community of every account of ``A``.

    Parameters
    ----------
    A : networkx.DiGraph
        Interaction graph (``actor -> target``, ``weight``).
    louvain_max_edges : int
        Louvain up to this many edges, fast label propagation above: Louvain took 17 of the
        41 CPU seconds of ``incident_evidence`` on a 100k-post cascade.
    k : int
        Betweenness source samples when the graph has more than ``k`` nodes; lowered (to no
        fewer than 4) so that samples x edges stays within ``betweenness_budget``, since each
        sample is one full traversal (about 5 s per million edges on this machine). A forest
        (the usual interaction graph of one cascade) gets exact betweenness in linear time.

    Returns
    -------
    dict
        Per account: ``pagerank``, ``betweenness``, ``community`` (index, largest first) and
        ``communities_touched`` (distinct communities among its neighbours and itself).

    Examples
    --------
    >>> A = nx.DiGraph([("b", "a"), ("c", "a"), ("d", "c")], weight=1)
    >>> r = rank_accounts(A)
    >>> max(r, key=lambda n: r[n]["pagerank"])
    'a'
    """
    if A.number_of_nodes() == 0:
        return {}
    pagerank = nx.pagerank(A, weight="weight")
    # A real undirected copy: traversals over a to_undirected view rebuild neighbour unions on
    # every step and made sampled betweenness several times slower. Only the weight is
    # copied: to_undirected() deep-copies every edge's ``relations`` dict (a sixth of the
    # time of incident_evidence at 100k posts).
    U = nx.Graph()
    U.add_nodes_from(A)
    U.add_edges_from((u, v, {"weight": d.get("weight", 1)}) for u, v, d in A.edges(data=True))
    k = betweenness_samples(U.number_of_edges(), k, betweenness_budget)
    if nx.is_forest(U):
        # The usual case (each account passed the post on once): exact and linear time.
        betweenness = forest_betweenness(U)
    else:
        samples = k if A.number_of_nodes() > k else None
        betweenness = nx.betweenness_centrality(U, k=samples, seed=seed, normalized=True)
    communities = sorted(_communities(U, seed, louvain_max_edges), key=len, reverse=True)
    community = {n: index for index, members in enumerate(communities) for n in members}
    result = {}
    for node in A:
        touched = {community[node]} | {community[m] for m in U[node]}
        result[node] = {
            "pagerank": pagerank[node],
            "betweenness": betweenness[node],
            "community": community[node],
            "communities_touched": len(touched),
        }
    return result


def _reach_and_roles(G: nx.DiGraph, early_min_size: int) -> dict[str, dict[str, Any]]:
    stats: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "reach": 0,
            "posts": 0,
            "originated": 0,
            "early": 0,
            "negative": 0,
            "labelled": 0,
            "cascades": Counter(),
        }
    )
    for root in cascade_roots(G):
        index = tree_index(G, root)
        order, sizes = index.order, index.size
        keys = [account_key(G.nodes[n]) for n in order]
        nested = _below_own_post(index.parent, keys)
        timed = sorted((G.nodes[n]["ts"], n) for n in order if G.nodes[n].get("ts") is not None)
        early = {n for _t, n in timed[1 : max(2, len(timed) // 10 + 1)]}
        for i, node in enumerate(order):
            key = keys[i]
            if key is None:
                continue
            entry = stats[key]
            entry["posts"] += 1
            label = G.nodes[node].get("sentiment")
            # A bare repost (``no_opinion``) is reach, not a voice: out of the negative share.
            entry["labelled"] += label is not None and label != "no_opinion"
            entry["negative"] += label == "negative"
            if not nested[i]:  # a post below the account's own post is in that one's reach
                entry["reach"] += sizes[i] - 1
                entry["cascades"][root] += sizes[i] - 1
            if node == root and sizes[0] > 1:
                entry["originated"] += 1
            if node in early and len(order) >= early_min_size:
                entry["early"] += 1
    return stats


def _below_own_post(parent: list[int], keys: list[str | None]) -> list[bool]:
    """Per node of a tree in breadth-first order (``parent`` indices, root first): whether a
    post of the same account is above it.

    An account bumping its own post (``顶//@me:顶//@me:...``) nests its posts; summing each
    one's subtree counted every post below them once per bump. One depth-first pass with the
    accounts on the current path, so a 10,000-deep thread costs no recursion.

    Examples
    --------
    >>> _below_own_post([-1, 0, 1, 0], ["A", "S", "S", "S"])
    [False, False, True, False]
    """
    children: list[list[int]] = [[] for _ in parent]
    for i in range(1, len(parent)):
        children[parent[i]].append(i)
    nested = [False] * len(parent)
    on_path: Counter[str | None] = Counter()
    stack = [0] if parent else []
    while stack:
        i = stack.pop()
        if i < 0:  # leaving node ~i
            on_path[keys[~i]] -= 1
            continue
        key = keys[i]
        nested[i] = key is not None and on_path[key] > 0
        on_path[key] += 1
        stack.append(~i)
        stack.extend(children[i])
    return nested


def key_accounts(
    G: nx.DiGraph, *, top: int = 10, k: int = 32, seed: int = 0, early_min_size: int = 10
) -> list[dict[str, Any]]:
    """The ``top`` accounts of a cascade forest with roles, scores and evidence.

    ``reach`` is how many posts sit below the account's posts, each counted once (a post below
    two of its posts, as when it bumps its own repost, is not counted twice).
    The score mixes normalised PageRank (0.4), reach (0.4) and betweenness (0.2). Roles:
    ``originator`` (started a cascade of 2+ posts), ``amplifier`` (posts others spread: reach
    among the top or above-median PageRank with reach > 0), ``bridge`` (betweenness > 0 with
    neighbours in 2+ communities) and ``early_mover``.

    Rows come highest score first; equal scores (as rounded, 4 places) by account key, so a
    tie always breaks the same way. ``followers`` is the largest count among the account's
    posts and ``verified`` whether any of them carries the badge. The answer depends on what
    ``G`` holds, not on the order of its nodes and edges (a subgraph view of part of a forest
    lists them in hash order).

    Examples
    --------
    >>> G = nx.DiGraph([(0, 1), (1, 2), (1, 3), (0, 4)])
    >>> nx.set_node_attributes(G, {0: "A", 1: "B", 2: "C", 3: "D", 4: "E"}, "author")
    >>> [(a["name"], a["roles"]) for a in key_accounts(G, top=2)]
    [('A', ['originator', 'bridge']), ('B', ['amplifier', 'bridge'])]
    """
    A = interaction_graph(G)
    ranks = rank_accounts(A, k=k, seed=seed)
    stats = _reach_and_roles(G, early_min_size)
    max_pr = max((r["pagerank"] for r in ranks.values()), default=0.0) or 1.0
    max_bt = max((r["betweenness"] for r in ranks.values()), default=0.0) or 1.0
    max_reach = max((s["reach"] for s in stats.values()), default=0) or 1
    rows = []
    for node in A:
        rank = ranks[node]
        stat = stats.get(node) or {
            "reach": 0,
            "posts": 0,
            "originated": 0,
            "early": 0,
            "negative": 0,
            "labelled": 0,
        }
        roles = []
        if stat["originated"]:
            roles.append("originator")
        if stat["reach"] > 0 and stat["originated"] < stat["posts"]:
            roles.append("amplifier")
        if rank["betweenness"] > 0 and rank["communities_touched"] > 1:
            roles.append("bridge")
        if stat["early"]:
            roles.append("early_mover")
        score = (
            0.4 * rank["pagerank"] / max_pr
            + 0.4 * stat["reach"] / max_reach
            + 0.2 * rank["betweenness"] / max_bt
        )
        cascades = stat.get("cascades") or Counter()
        rows.append(
            {
                "account": node,
                "name": A.nodes[node].get("name"),
                "followers": A.nodes[node].get("followers", 0),
                "verified": A.nodes[node].get("verified", False),
                "roles": roles,
                "score": round(score, 4),
                "pagerank": round(rank["pagerank"], 6),
                "betweenness": round(rank["betweenness"], 6),
                "community": rank["community"],
                "reach": stat["reach"],
                "posts": stat["posts"],
                "negative_share": (
                    round(stat["negative"] / stat["labelled"], 4) if stat["labelled"] else None
                ),
                "cascades": [str(c) for c, _ in cascades.most_common(5)],
            }
        )
    rows.sort(key=lambda row: (-row["score"], str(row["account"])))
    return rows[:top]


def account_documents(
    rows: list[dict[str, Any]], *, brand: str, day: str, platform: str | None = None
) -> list[dict[str, Any]]:
    """Documents for the ``<prefix>-accounts`` index, one per (day, brand, platform, account).

    Fields follow ``config/es/accounts.json``; ``id`` is deterministic so a re-run overwrites.
    ``amplification`` is reach per post; roles and cascades go under ``evidence``.

    Examples
    --------
    >>> docs = account_documents([{"account": "u1", "name": "A", "score": 0.5, "reach": 6,
    ...                            "posts": 2, "roles": ["amplifier"]}],
    ...                          brand="鲜牧", day="2026-11-25")
    >>> docs[0]["id"], docs[0]["rank"], docs[0]["amplification"]
    ('2026-11-25:鲜牧:all:u1', 1, 3.0)
    """
    docs = []
    for rank, row in enumerate(rows, start=1):
        posts = row.get("posts") or 0
        docs.append(
            {
                "id": f"{day}:{brand}:{platform or 'all'}:{row['account']}",
                "@timestamp": day,
                "day": day,
                "brand": brand,
                "platform": platform,
                "account_id": row["account"],
                "name": row.get("name"),
                "followers": row.get("followers") or 0,
                "verified": bool(row.get("verified")),
                "posts": posts,
                "reach": row.get("reach") or 0,
                "pagerank": row.get("pagerank"),
                "betweenness": row.get("betweenness"),
                "amplification": round((row.get("reach") or 0) / posts, 4) if posts else 0.0,
                "negative_share": row.get("negative_share"),
                "score": row.get("score"),
                "rank": rank,
                "evidence": {
                    "roles": row.get("roles") or [],
                    "cascades": row.get("cascades") or [],
                    "community": row.get("community"),
                },
            }
        )
    return docs


def accounts_for_period(
    records: list[dict[str, Any]],
    *,
    brand: str,
    day: str,
    platform: str | None = None,
    top: int = 50,
    k: int = 32,
) -> list[dict[str, Any]]:
    """Key-account documents of one brand for one period, ready for ``<prefix>-accounts``.

    ``records`` are the period's posts (any brands); those not tagged with ``brand`` (or not
    on ``platform`` when given) are left out before the cascades are built.

    Examples
    --------
    >>> recs = [{"id": "1", "brands": ["鲜牧"], "author": {"id": "a", "name": "A"}},
    ...         {"id": "2", "brands": ["鲜牧"], "author": {"id": "b", "name": "B"},
    ...          "parent_id": "1", "relation": "repost"},
    ...         {"id": "3", "brands": ["北岭"], "author": {"id": "c", "name": "C"}}]
    >>> [d["account_id"] for d in accounts_for_period(recs, brand="鲜牧", day="2026-11-25")]
    ['a', 'b']
    """
    from koubei.analysis.spread.cascade import build_cascades

    chosen = [
        r
        for r in records
        if brand in (r.get("brands") or []) and (platform is None or r.get("platform") == platform)
    ]
    rows = key_accounts(build_cascades(chosen), top=top, k=k)
    return account_documents(rows, brand=brand, day=day, platform=platform)
