"""``python -m bench spread [--quick]``: cascades of 10k/100k/1M nodes, key accounts on 1M edges.

``--evidence=N``: ``incident_evidence`` on an N-post cascade. ``--chain=N``: on a post and one
repost through N uncrawled ``//@`` hops (a path of accounts), its communities against
networkx's Louvain on the same graph.

Each cascade size runs in its own subprocess, so its peak RSS is its own. A cascade is a Weibo
root with reposts that all name the root as parent (as the API gives them) and carry a
``//@`` chain of up to eight hops, so building it exercises the chain rebuild. Timed stages:
``build`` (records -> forest), ``measures`` (summary with structural virality, main paths,
rumor centrality of every node) and the two baselines measured in the same process:
networkx's own ``add_edges_from`` of the same edges, and all-pairs Wiener index (what
structural virality costs without the subtree-size identity) at a small size.

Times are CPU seconds of the measuring process (``time.process_time``): the machine is shared,
and wall time would measure the neighbours. The growth exponent is the slope of log(time)
against log(size) over the sizes run. Key accounts run
:func:`koubei.analysis.spread.accounts.rank_accounts` on a scale-free interaction graph of about 1M
edges, against PageRank alone as the baseline. The source-finding table comes from
:func:`koubei.analysis.spread.source.evaluate_sources`.
"""

from __future__ import annotations

import json
import math
import random
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta
from typing import Any

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 8_000, 32_000)
T0 = datetime.fromisoformat("2026-11-25T09:00:00+08:00")


def synthetic_records(n: int, seed: int = 1) -> list[dict[str, Any]]:
    """A Weibo-style cascade of ``n`` posts: preferential attachment, chains in the text."""
    rng = random.Random(seed)
    parent = [0] * n
    targets = [0]
    for i in range(1, n):
        parent[i] = targets[rng.randrange(len(targets))]
        targets.append(i)
        targets.append(parent[i])
    labels = ("negative", "neutral", "positive")
    records = []
    for i in range(n):
        hops: list[str] = []
        node = parent[i]
        # Weibo shows the root separately: the chain lists the intermediate reposts only.
        while i and node and len(hops) < 8:
            hops.append(f"//@用户{node}: 转发")
            node = parent[node]
        records.append(
            {
                "id": f"weibo:{i}",
                "platform": "weibo",
                "kind": "repost" if i else "post",
                "relation": "repost" if i else None,
                "parent_id": "weibo:0" if i else None,
                "root_id": "weibo:0" if i else None,
                "author": {
                    "id": f"u{i}",
                    "name": f"用户{i}",
                    "followers": int(rng.paretovariate(1.2)),
                },
                "text_raw": f"说{i}" + "".join(hops),
                "created_at": (T0 + timedelta(seconds=i * 0.5)).isoformat(),
                "sentiment": {"label": labels[i % 3], "score": 0.5, "model_version": "b"},
            }
        )
    return records


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(n: int) -> dict[str, Any]:
    """Time one cascade size in this process; returns seconds and peak RSS."""
    import networkx as nx

    from koubei.analysis.spread.cascade import build_cascades
    from koubei.analysis.spread.measures import cascade_summary, main_paths
    from koubei.analysis.spread.source import rumor_centrality

    records = synthetic_records(n)
    rss_records = _rss_mb()
    start = time.process_time()
    G = build_cascades(records)
    build = time.process_time() - start
    edges = list(G.edges())
    start = time.process_time()
    H = nx.DiGraph()
    H.add_edges_from(edges)
    baseline = time.process_time() - start
    del H
    start = time.process_time()
    summary = cascade_summary(G, "weibo:0")
    main_paths(G, "weibo:0", k=3)
    rumor_centrality(G)
    measures = time.process_time() - start
    inferred = sum(1 for _u, _v, d in G.edges(data=True) if d["inferred"])
    return {
        "n": n,
        "build_s": round(build, 3),
        "nx_edges_s": round(baseline, 3),
        "measures_s": round(measures, 3),
        "total_s": round(build + measures, 3),
        "rss_records_mb": round(rss_records),
        "peak_rss_mb": round(_rss_mb()),
        "depth": summary["depth"],
        "virality": round(summary["structural_virality"], 3),
        "inferred_share": round(inferred / max(1, G.number_of_edges()), 3),
    }


def wiener_baseline(n: int) -> dict[str, float]:
    """All-pairs Wiener index vs the subtree-size identity on the same n-node cascade."""
    import networkx as nx

    from koubei.analysis.spread.cascade import build_cascades
    from koubei.analysis.spread.virality import wiener_index_tree

    G = build_cascades(synthetic_records(n))
    start = time.process_time()
    fast = wiener_index_tree(G, "weibo:0")
    linear = time.process_time() - start
    start = time.process_time()
    slow = nx.wiener_index(G.to_undirected())
    quadratic = time.process_time() - start
    assert fast == slow
    return {"n": n, "linear_s": linear, "all_pairs_s": quadratic}


def interaction_graph_edges(edges: int, seed: int = 3, groups: int = 200) -> Any:
    """A scale-free account graph (reposter -> original) with at least ``edges`` edges.

    Accounts fall into ``groups`` interest groups; nine reposts in ten stay in the actor's
    group. Within a group, and across groups, targets follow a Zipf law (a few accounts get
    most reposts).
    """
    import networkx as nx
    import numpy as np

    rng = np.random.default_rng(seed)
    accounts = edges // 5
    per_group = accounts // groups
    A = nx.DiGraph()
    while A.number_of_edges() < edges:
        batch = edges - A.number_of_edges() + 1000
        actors = rng.integers(0, accounts, size=batch)
        rank = (rng.zipf(1.8, size=batch) - 1) % per_group
        own_group = rng.random(batch) < 0.9
        group = np.where(own_group, actors // per_group, rng.integers(0, groups, size=batch))
        targets = np.minimum(group * per_group + rank, accounts - 1)
        A.add_edges_from((int(a), int(t)) for a, t in zip(actors, targets, strict=True) if a != t)
    nx.set_edge_attributes(A, 1, "weight")
    return A


def key_accounts_bench(edges: int, k: int) -> dict[str, Any]:
    import networkx as nx

    from koubei.analysis.spread.accounts import betweenness_samples, rank_accounts

    start = time.process_time()
    A = interaction_graph_edges(edges)
    make = time.process_time() - start
    start = time.process_time()
    nx.pagerank(A, weight="weight")
    pagerank = time.process_time() - start
    start = time.process_time()
    ranks = rank_accounts(A, k=k, seed=0)
    used = betweenness_samples(A.to_undirected(as_view=True).number_of_edges(), k)
    ranking = time.process_time() - start
    communities = len({r["community"] for r in ranks.values()})
    return {
        "accounts": A.number_of_nodes(),
        "edges": A.number_of_edges(),
        "build_graph_s": round(make, 2),
        "pagerank_s": round(pagerank, 2),
        "rank_accounts_s": round(ranking, 2),
        "betweenness_samples": used,
        "communities": communities,
        "peak_rss_mb": round(_rss_mb()),
    }


def _child(argv: list[str]) -> int:
    kind, value = argv[0], int(argv[1])
    result = run_one(value) if kind == "cascade" else key_accounts_bench(value, int(argv[2]))
    print(json.dumps(result))
    return 0


def _spawn(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.spread", "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def evidence_run(n: int) -> dict[str, Any]:
    """CPU seconds of ``incident_evidence`` on an ``n``-post cascade and of its big parts."""
    from koubei.analysis.spread.accounts import key_accounts
    from koubei.analysis.spread.cascade import build_cascades
    from koubei.analysis.spread.evidence import incident_evidence
    from koubei.analysis.spread.measures import cascade_summary

    records = synthetic_records(n)
    start = time.process_time()
    incident_evidence(records)
    total = time.process_time() - start
    start = time.process_time()
    G = build_cascades(records)
    build = time.process_time() - start
    start = time.process_time()
    cascade_summary(G, "weibo:0")
    measures = time.process_time() - start
    start = time.process_time()
    key_accounts(G, top=5)
    accounts = time.process_time() - start
    return {
        "n": n,
        "evidence_s": total,
        "build_s": build,
        "measures_s": measures,
        "key_accounts_s": accounts,
    }


def chain_records(hops: int) -> list[dict[str, Any]]:
    """A post and one repost whose ``//@`` chain names ``hops`` accounts never crawled."""
    chain = "".join(f"//@用户{i}: 转" for i in range(hops))
    at = T0.isoformat()
    return [
        {"id": "weibo:0", "platform": "weibo", "author": {"id": "u0", "name": "源头"},
         "created_at": at, "text_raw": "鲜牧出事了"},
        {"id": "weibo:1", "platform": "weibo", "author": {"id": "u1", "name": "末端"},
         "created_at": at, "text_raw": "转" + chain, "parent_id": "weibo:0",
         "root_id": "weibo:0", "relation": "repost"},
    ]  # fmt: skip


def chain_run(hops: int) -> dict[str, Any]:
    """``incident_evidence`` on a ``hops``-long chain, and its communities against networkx's
    Louvain on the same account graph (the baseline: what ``rank_accounts`` ran before)."""
    import networkx as nx

    from koubei.analysis.spread.accounts import _communities, interaction_graph
    from koubei.analysis.spread.cascade import build_cascades
    from koubei.analysis.spread.evidence import incident_evidence

    records = chain_records(hops)
    start = time.process_time()
    incident_evidence(records)
    evidence = time.process_time() - start
    A = interaction_graph(build_cascades(records))
    U = nx.Graph()
    U.add_nodes_from(A)
    U.add_edges_from((u, v, {"weight": w}) for u, v, w in A.edges(data="weight"))
    start = time.process_time()
    ours = _communities(U, 0, 50_000)
    blocks = time.process_time() - start
    start = time.process_time()
    plain = nx.community.louvain_communities(U, weight="weight", seed=0)
    louvain = time.process_time() - start
    return {
        "hops": hops,
        "evidence_s": evidence,
        "blocks_s": blocks,
        "louvain_s": louvain,
        "communities": (len(ours), len(plain)),
        "modularity": (nx.community.modularity(U, ours), nx.community.modularity(U, plain)),
    }


def main(argv: list[str]) -> int:
    if "--help" in argv or "-h" in argv:
        print(__doc__)
        return 0
    hops = [a.split("=", 1)[1] for a in argv if a.startswith("--chain=")]
    if hops:  # python -m bench spread --chain=10000
        c = chain_run(int(hops[0]))
        print(
            f"{c['hops']:,}-hop chain of uncrawled accounts: incident_evidence "
            f"{c['evidence_s']:.2f} CPU s; communities {c['blocks_s']:.2f} s in blocks vs "
            f"{c['louvain_s']:.2f} s networkx Louvain (baseline, same graph): "
            f"{c['blocks_s'] / max(c['louvain_s'], 1e-9):.4f}x; {c['communities'][0]} vs "
            f"{c['communities'][1]} communities, modularity {c['modularity'][0]:.4f} vs "
            f"{c['modularity'][1]:.4f}"
        )
        return 0
    chosen = [a.split("=", 1)[1] for a in argv if a.startswith("--evidence=")]
    if chosen:  # python -m bench spread --evidence=100000
        row = evidence_run(int(chosen[0]))
        print(
            f"incident_evidence on {row['n']:,} posts: {row['evidence_s']:.1f} CPU s "
            f"(build {row['build_s']:.1f}, measures {row['measures_s']:.2f}, "
            f"key accounts {row['key_accounts_s']:.1f}; the rest is coordination and themes)"
        )
        return 0
    quick = "--quick" in argv
    sizes = QUICK_SIZES if quick else SIZES
    print(
        "cascade size | build s | nx add_edges s | measures s | total s | peak RSS MB "
        "(records MB) | depth | virality | chain-rebuilt edges"
    )
    rows = []
    for n in sizes:
        row = _spawn("cascade", str(n))
        rows.append(row)
        print(
            f"{row['n']:>12,} | {row['build_s']:7.2f} | {row['nx_edges_s']:14.2f} | "
            f"{row['measures_s']:10.2f} | {row['total_s']:7.2f} | {row['peak_rss_mb']:>6} "
            f"({row['rss_records_mb']}) | {row['depth']} | {row['virality']} | "
            f"{row['inferred_share']:.0%}",
            flush=True,
        )
    xs = [math.log(r["n"]) for r in rows]
    for key in ("total_s", "build_s", "measures_s"):
        ys = [math.log(max(r[key], 1e-6)) for r in rows]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
            (x - mx) ** 2 for x in xs
        )
        print(f"growth exponent of {key}: {slope:.2f}")
    last = rows[-1]
    print(
        f"build / networkx add_edges_from at {last['n']:,}: "
        f"{last['build_s'] / max(last['nx_edges_s'], 1e-9):.1f}x"
    )
    w = wiener_baseline(1_000 if quick else 3_000)
    print(
        f"structural virality at {w['n']:,} nodes: subtree sizes {w['linear_s'] * 1e3:.1f} ms, "
        f"all-pairs {w['all_pairs_s']:.2f} s ({w['all_pairs_s'] / w['linear_s']:.0f}x)"
    )
    edges, k = (50_000, 32) if quick else (1_000_000, 32)
    ka = _spawn("accounts", str(edges), str(k))
    print(
        f"key accounts on {ka['edges']:,} edges / {ka['accounts']:,} accounts: "
        f"rank_accounts {ka['rank_accounts_s']} s (PageRank alone {ka['pagerank_s']} s, "
        f"{ka['rank_accounts_s'] / max(ka['pagerank_s'], 1e-9):.1f}x; betweenness "
        f"k={ka['betweenness_samples']}, {ka['communities']:,} communities), "
        f"graph build {ka['build_graph_s']} s, peak RSS {ka['peak_rss_mb']} MB"
    )
    from koubei.analysis.spread.source import evaluate_sources

    trials = 10 if quick else 40
    print(f"source finding, {trials} SI cascades of 200 on a 3000-node BA network (top1/top5):")
    for missing in (0.0, 0.3, 1.0):
        scores = evaluate_sources(trials=trials, size=200, seed=11, missing=missing)
        cells = ", ".join(f"{m} {s['top1']:.2f}/{s['top5']:.2f}" for m, s in scores.items())
        print(f"  timestamps missing {missing:.0%}: {cells}")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(_child(sys.argv[2:]))
    sys.exit(main(sys.argv[1:]))
