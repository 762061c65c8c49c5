"""Key accounts: interaction graph, roles and scores on hand-built cascades."""

from __future__ import annotations

import math
import random
from typing import Any

import networkx as nx
import pytest

from koubei.analysis.spread.accounts import (
    account_documents,
    accounts_for_period,
    interaction_graph,
    key_accounts,
    rank_accounts,
)
from koubei.analysis.spread.cascade import build_cascades
from koubei.analysis.spread.evidence import cascade_documents
from tests.analysis.spread.incident import incident


def test_interaction_graph_of_the_incident() -> None:
    A = interaction_graph(build_cascades(incident()))
    assert A["u-网友C"]["u-网友A"]["relations"] == {"repost": 1}
    assert A["u-网友E"]["u-消费者小李"]["relations"] == {"reply": 1}
    # 老王's self-repost is not an interaction.
    assert not A.has_edge("u-大V老王", "u-大V老王")
    assert A["u-大V老王"]["u-消费者小李"]["weight"] == 1


def test_roles_in_the_incident() -> None:
    rows = {row["name"]: row for row in key_accounts(build_cascades(incident()), top=30)}
    assert "originator" in rows["消费者小李"]["roles"]
    assert rows["消费者小李"]["reach"] == 9
    assert "amplifier" in rows["大V老王"]["roles"]
    assert rows["大V老王"]["reach"] == 4  # 网友A, 网友C, 网友B and his own second repost
    assert "early_mover" in rows["大V老王"]["roles"]
    assert rows["网友B"]["roles"] == [] and rows["网友B"]["reach"] == 0
    ranked = list(rows)
    assert ranked[:2] == ["消费者小李", "大V老王"]
    assert rows["消费者小李"]["cascades"] == ["weibo:1"]


def test_bridge_between_two_communities() -> None:
    # Two dense groups of reposters joined only through "桥".
    G = nx.DiGraph()
    for group in ("a", "b"):
        for i in range(1, 6):
            for j in range(i):
                G.add_edge(f"{group}{j}", f"{group}{i}", relation="repost")
        G.add_node(f"{group}0")
    G.add_edge("a0", "bridge", relation="repost")
    G.add_edge("bridge", "b0", relation="repost")
    # One post per account here, so each post node is authored by the account of its name.
    nx.set_node_attributes(G, {n: n for n in G}, "author")
    A = interaction_graph(G)
    ranks = rank_accounts(A, seed=1)
    best = max(ranks, key=lambda n: ranks[n]["betweenness"])
    assert best == "name:bridge"
    assert ranks["name:bridge"]["communities_touched"] >= 2


def test_sampled_betweenness_on_a_bigger_graph_is_bounded_and_ranks_hubs() -> None:
    G = nx.barabasi_albert_graph(400, 2, seed=3)
    A = nx.DiGraph()
    # Newer accounts pass on older ones' posts: credit flows to the old hubs.
    A.add_edges_from(((max(u, v), min(u, v)) for u, v in G.edges()), weight=1)
    ranks = rank_accounts(A, k=16, seed=0)
    assert len(ranks) == 400
    top = sorted(ranks, key=lambda n: -ranks[n]["pagerank"])[:10]
    degree = dict(G.degree())
    assert sum(degree[n] for n in top) / 10 > 2 * (sum(degree.values()) / 400)


def test_account_documents_match_the_accounts_index() -> None:
    rows = key_accounts(build_cascades(incident()), top=3)
    docs = account_documents(rows, brand="鲜牧", day="2026-11-25", platform="weibo")
    assert [d["rank"] for d in docs] == [1, 2, 3]
    first = docs[0]
    assert first["id"] == "2026-11-25:鲜牧:weibo:u-消费者小李"
    assert first["account_id"] == "u-消费者小李" and first["day"] == "2026-11-25"
    assert first["brand"] == "鲜牧" and first["reach"] == 9
    assert first["evidence"]["cascades"] == ["weibo:1"]


def test_accounts_for_period_keeps_only_the_brand() -> None:
    other = {
        "id": "weibo:x1",
        "brands": ["北岭"],
        "author": {"id": "u-x", "name": "X"},
        "created_at": "2026-11-25T09:30:00+08:00",
        "text_raw": "北岭也一样",
    }
    docs = accounts_for_period([*incident(), other], brand="鲜牧", day="2026-11-25", top=100)
    ids = {d["account_id"] for d in docs}
    assert "u-X" not in ids and "u-消费者小李" in ids
    assert docs[0]["rank"] == 1 and docs[0]["brand"] == "鲜牧"


def test_forest_betweenness_is_exact() -> None:
    from koubei.analysis.spread.accounts import forest_betweenness

    F = nx.disjoint_union(nx.random_labeled_tree(200, seed=4), nx.path_graph(6))
    expected = nx.betweenness_centrality(F, normalized=True)
    got = forest_betweenness(F)
    assert max(abs(expected[n] - got[n]) for n in F) < 1e-12


def test_an_accounts_negative_share_leaves_out_its_bare_reposts() -> None:
    # 大V老王 complains once and reposts three times without a word (``转发微博``, labelled
    # no_opinion): his share of negative posts is 1 of 1, not 1 of 4.
    G = nx.DiGraph([(0, 1), (1, 2), (1, 3), (1, 4), (0, 5)])
    authors = {0: "A", 1: "老王", 2: "老王", 3: "老王", 4: "老王", 5: "B"}
    nx.set_node_attributes(G, authors, "author")
    labels = {0: "negative", 1: "negative", 2: "no_opinion", 3: "no_opinion", 4: "no_opinion"}
    nx.set_node_attributes(G, {**labels, 5: "positive"}, "sentiment")
    rows = {row["name"]: row for row in key_accounts(G, top=5)}
    assert rows["老王"]["posts"] == 4
    assert rows["老王"]["negative_share"] == 1.0
    assert rows["A"]["negative_share"] == 1.0 and rows["B"]["negative_share"] == 0.0


def _three_cascades() -> nx.DiGraph:
    # Three cascades of 40 reposts by 12 accounts each, chains as Weibo writes them.
    rng = random.Random(5)
    records = []
    for c in range(3):
        parent = [0] + [rng.randrange(i) for i in range(1, 40)]
        for i in range(40):
            hops, p = [], parent[i]
            while i and p:
                hops.append(f"//@u{p % 12}x{c}: 转发")
                p = parent[p]
            records.append(
                {
                    "id": f"w:{c}-{i}",
                    "author": {"name": f"u{i % 12}x{c}", "followers": i},
                    "kind": "repost" if i else "post",
                    "relation": "repost" if i else None,
                    "root_id": f"w:{c}-0" if i else None,
                    "parent_id": f"w:{c}-0" if i else None,
                    "text_raw": "转发微博" + "".join(hops),
                    "created_at": f"2026-11-25T10:00:{i:02d}+08:00",
                }
            )
    return build_cascades(records)


def test_key_accounts_do_not_depend_on_the_order_of_the_graphs_nodes() -> None:
    # cascade_documents ranks each cascade on a subgraph view of the forest; a view of a small
    # part lists its nodes in hash order, so communities, bridges and ties between scores
    # changed from one run (PYTHONHASHSEED) to the next. Any node order must rank alike.
    G = _three_cascades()
    expected = key_accounts(G, top=40)
    for seed in range(4):
        nodes, edges = list(G.nodes(data=True)), list(G.edges(data=True))
        random.Random(seed).shuffle(nodes)
        random.Random(seed).shuffle(edges)
        H = nx.DiGraph()
        H.add_nodes_from(nodes)
        H.add_edges_from(edges)
        assert key_accounts(H, top=40) == expected
    documents = cascade_documents(G, top_accounts=5)
    for document in documents:
        root = document["root_id"]
        tree = nx.DiGraph()  # a real graph of one cascade, nodes in another order
        part = [n for n in G if n.startswith(root.split("-")[0] + "-")]
        tree.add_nodes_from((n, G.nodes[n]) for n in sorted(part, reverse=True))
        tree.add_edges_from((u, v, d) for u, v, d in G.edges(data=True) if u in tree)
        assert [r["account"] for r in key_accounts(tree, top=5)] == document["top_accounts"]


def test_an_accounts_followers_are_its_largest_count_whatever_post_comes_first() -> None:
    G = _three_cascades()
    rows = {row["name"]: row for row in key_accounts(G, top=40)}
    assert rows["u1x0"]["followers"] == 37  # posts 1, 13, 25 and 37 of cascade 0


def _weibo(node: str, name: str, minute: int, text: str, **fields: object) -> dict[str, object]:
    return {
        "id": node,
        "platform": "weibo",
        "author": {"id": f"u-{name}", "name": name},
        "created_at": f"2026-11-25T10:{minute:02d}:00+08:00",
        "text_raw": text,
        **fields,
    }


def test_uncrawled_hop_of_a_known_account_is_that_account_not_a_second_one() -> None:
    # B's repost of the root was not crawled (only the //@B: chains of C, D, E show it), but a
    # later repost of B's is: one account B, not "name:B" with the reach and "u-B" without.
    via_b = {"parent_id": "weibo:r", "root_id": "weibo:r", "relation": "repost", "kind": "repost"}
    records = [
        _weibo("weibo:r", "A", 0, "鲜牧的奶喝出异物"),
        _weibo("weibo:c", "C", 5, "吓人//@B:转发微博", **via_b),
        _weibo("weibo:d", "D", 6, "避雷//@B:转发微博", **via_b),
        _weibo("weibo:e", "E", 7, "真的假的//@B:转发微博", **via_b),
        _weibo("weibo:b2", "B", 9, "再转一次", **via_b),
    ]
    G = build_cascades(records)
    assert G.nodes["~hop:weibo:r:B"]["author_id"] == "u-B"
    rows = {row["account"]: row for row in key_accounts(G, top=10)}
    assert "name:B" not in rows
    assert rows["u-B"]["reach"] == 3 and "amplifier" in rows["u-B"]["roles"]


def test_uncrawled_hop_of_a_shared_display_name_stays_by_name() -> None:
    # Two accounts called B (one renamed): the hop cannot be told to be either.
    via_b = {"parent_id": "weibo:r", "root_id": "weibo:r", "relation": "repost", "kind": "repost"}
    other = _weibo("weibo:b3", "B", 9, "我也转", **via_b)
    other["author"] = {"id": "u-B-2", "name": "B"}
    records = [
        _weibo("weibo:r", "A", 0, "原"),
        _weibo("weibo:c", "C", 5, "吓人//@B:转发微博", **via_b),
        _weibo("weibo:b2", "B", 8, "再转一次", **via_b),
        other,
    ]
    G = build_cascades(records)
    assert G.nodes["~hop:weibo:r:B"]["author_id"] is None


@pytest.mark.parametrize(("old_id", "new_id"), [("weibo:9", "weibo:10"), ("weibo:10", "weibo:9")])
def test_a_renamed_account_goes_by_the_name_of_its_latest_post(old_id: str, new_id: str) -> None:
    # One account (u-B) reposted as 旧名, renamed itself 新名 and reposted again: it was shown
    # under the name of whichever post's id sorted first ("weibo:10" before "weibo:9").
    via = {"parent_id": "weibo:r", "root_id": "weibo:r", "relation": "repost", "kind": "repost"}
    old = _weibo(old_id, "旧名", 1, "转发//@A:原", **via)
    new = _weibo(new_id, "新名", 30, "再转//@A:原", **via)
    old["author"], new["author"] = {"id": "u-B", "name": "旧名"}, {"id": "u-B", "name": "新名"}
    fans = [_weibo(f"weibo:f{i}", f"F{i}", 40, "转//@新名:再转//@A:原", **via) for i in range(3)]
    G = build_cascades([_weibo("weibo:r", "A", 0, "原"), old, new, *fans])
    assert interaction_graph(G).nodes["u-B"]["name"] == "新名"
    rows = {row["account"]: row for row in key_accounts(G, top=10)}
    assert rows["u-B"]["name"] == "新名" and rows["u-B"]["reach"] == 3


def test_an_account_reposting_itself_over_and_over_does_not_multiply_its_reach() -> None:
    # 顶 (bumping): S reposts its own repost five times, each ``顶//@S:顶//@S:...``; ten fans
    # repost the last one. Ten fans and five bumps are 15 posts below S's first post, however
    # deep its own bumps nest; summing every one of its posts' subtrees gave 75, ahead of B,
    # whose 12 reposts are all other people's.
    def post(node: str, name: str, minute: int, text: str) -> dict[str, object]:
        return {
            "id": node,
            "author": {"id": f"u-{name}", "name": name},
            "created_at": f"2026-11-25T10:{minute:02d}:00+08:00",
            "text_raw": text,
            **({"parent_id": "r", "root_id": "r", "relation": "repost"} if node != "r" else {}),
        }

    records = [post("r", "R", 0, "鲜牧出事了"), post("s0", "S", 1, "顶")]
    chain = "顶"
    for k in range(1, 6):
        chain = "顶//@S:" + chain
        records.append(post(f"s{k}", "S", 1 + k, chain))
    records += [post(f"f{j}", f"粉丝{j}", 20 + j, "转发//@S:" + chain) for j in range(10)]
    records += [post("b", "B", 40, "真的吗")]
    records += [post(f"x{j}", f"路人{j}", 41 + j, "转发//@B:真的吗") for j in range(12)]
    rows = {row["name"]: row for row in key_accounts(build_cascades(records), top=5)}
    assert rows["S"]["reach"] == 15 and rows["S"]["posts"] == 6
    assert rows["B"]["reach"] == 12
    assert rows["R"]["reach"] == 29


def _chain(hops: int) -> list[dict[str, Any]]:
    """A post and one repost whose ``//@`` chain names ``hops`` accounts never crawled."""
    chain = "".join(f"//@U{i}: 转" for i in range(hops))
    base = {"platform": "weibo", "created_at": "2026-11-25T10:00:00+08:00"}
    return [
        {**base, "id": "r", "author": {"id": "u-A", "name": "A"}, "text_raw": "鲜牧出事了"},
        {
            **base,
            "id": "d",
            "author": {"id": "u-D", "name": "D"},
            "text_raw": "嗯" + chain,
            "parent_id": "r",
            "root_id": "r",
            "relation": "repost",
        },
    ]


def _louvain_node_visits(function: Any, *args: Any) -> int:
    """How often Louvain's local moving looks at a node during ``function(*args)`` (networkx
    works out a node's neighbouring communities once per look): a work count, not a timing."""
    import sys

    from networkx.algorithms.community import louvain

    code = louvain._neighbor_weights.__code__
    count = 0

    def profile(frame: Any, event: str, _arg: Any) -> None:
        nonlocal count
        if event == "call" and frame.f_code is code:
            count += 1

    sys.setprofile(profile)
    try:
        function(*args)
    finally:
        sys.setprofile(None)
    return count


def _communities_of(ranks: dict[Any, dict[str, Any]]) -> set[frozenset[Any]]:
    groups: dict[int, set[Any]] = {}
    for node, rank in ranks.items():
        groups.setdefault(rank["community"], set()).add(node)
    return {frozenset(group) for group in groups.values()}


@pytest.mark.parametrize("hops", [1_000, 3_000])
def test_a_long_chain_of_accounts_gets_contiguous_communities_without_louvain_drifting(
    hops: int,
) -> None:
    # A chain of uncrawled accounts is a path in the account graph. Louvain moved the border
    # between two groups one account per pass over all of them (a 10,000-hop chain took 106 s
    # in incident_evidence); in blocks it looks at each account a few times.
    A = interaction_graph(build_cascades(_chain(hops)))
    order = ["u-D", *(f"name:U{i}" for i in range(hops)), "u-A"]
    assert A.number_of_nodes() == len(order)
    visits = _louvain_node_visits(rank_accounts, A)
    # Drifting Louvain looked at each account 190 (1,000 hops) and 407 (3,000) times.
    assert visits < 20 * len(order), visits
    ranks = rank_accounts(A)
    communities = _communities_of(ranks)
    position = {node: i for i, node in enumerate(order)}
    for community in communities:  # each a stretch of the chain
        spots = sorted(position[n] for n in community)
        assert spots == list(range(spots[0], spots[-1] + 1))
    # About sqrt(n) stretches, as modularity wants on a path (Louvain found 34 and 55).
    assert math.sqrt(hops) / 2 <= len(communities) <= 2 * math.sqrt(hops), len(communities)
    assert nx.community.modularity(A.to_undirected(), communities) > 0.93
    # The accounts at the ends of stretches are the bridges, not every account on the chain.
    bridges = [n for n, rank in ranks.items() if rank["communities_touched"] > 1]
    assert len(bridges) == 2 * (len(communities) - 1)


def _broom(handle: int, bristles: int) -> nx.DiGraph:
    """A cascade that reached many reposters through a chain of ``handle`` accounts."""
    G = nx.DiGraph()
    nx.add_path(G, range(handle + 1))
    G.add_edges_from((handle, handle + 1 + i) for i in range(bristles))
    nx.set_node_attributes(G, {n: f"a{n}" for n in G}, "author")
    return G


def _recursive_tree(n: int, seed: int) -> nx.DiGraph:
    rng = random.Random(seed)
    G = nx.DiGraph((rng.randrange(i), i) for i in range(1, n))
    nx.set_node_attributes(G, {i: f"a{i % (n // 3)}" for i in G}, "author")
    return G


def test_ordinary_cascades_keep_louvains_communities() -> None:
    # Blocks only where a chain is longer than LONG_RUN accounts; elsewhere the communities
    # are networkx's Louvain on the account graph as it is.
    from koubei.analysis.spread.accounts import LONG_RUN

    for G in (
        build_cascades(incident()),
        _three_cascades(),
        _recursive_tree(3_000, seed=2),
        _broom(LONG_RUN, 200),
    ):
        A = interaction_graph(G)
        U = nx.Graph()
        U.add_nodes_from(A)
        U.add_edges_from((u, v, {"weight": w}) for u, v, w in A.edges(data="weight"))
        louvain = nx.community.louvain_communities(U, weight="weight", seed=0)
        assert _communities_of(rank_accounts(A, seed=0)) == {frozenset(c) for c in louvain}
    # One account more and the chain is cut into blocks: still stretches of the handle.
    A = interaction_graph(_broom(LONG_RUN + 1, 200))
    communities = _communities_of(rank_accounts(A, seed=0))
    assert all(nx.is_connected(A.to_undirected().subgraph(c)) for c in communities)
