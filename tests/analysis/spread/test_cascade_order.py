"""The cascade forest does not depend on the order its records arrive in.

Built the way Weibo data arrives: reposts name only the root (``retweeted_status``) and carry
the ``//@name:`` chain; many parent/child pairs share a second; some hops were never crawled;
re-crawls give duplicate copies; a few records are bad (self-parent, a root naming its own
descendant as parent).
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from koubei.analysis.spread.cascade import DROP_REASONS, build_cascades
from koubei.analysis.spread.evidence import incident_evidence
from koubei.analysis.spread.measures import cascade_roots, cascade_summary

T0 = datetime.fromisoformat("2026-11-25T09:00:00+08:00")


def tree_records(cascade: int, size: int, rng: random.Random) -> list[dict[str, Any]]:
    root = f"weibo:{cascade}-0"
    parent = [0] * size
    for i in range(1, size):
        parent[i] = rng.randrange(i)
    # Children often share their parent's second: whole seconds, small steps.
    seconds = [0] * size
    for i in range(1, size):
        seconds[i] = seconds[parent[i]] + rng.choice((0, 0, 1, 2, 5))
    records = []
    for i in range(size):
        hops, node = [], parent[i]
        while i and node:
            hops.append(f"//@用户{cascade}-{node}: 转发")
            node = parent[node]
        records.append(
            {
                "id": f"weibo:{cascade}-{i}",
                "platform": "weibo",
                "kind": "repost" if i else "post",
                "relation": "repost" if i else None,
                "parent_id": root if i else None,
                "root_id": root if i else None,
                "author": {"id": f"u{cascade}-{i}", "name": f"用户{cascade}-{i}"},
                "text_raw": f"说{i}" + "".join(hops),
                "created_at": (T0 + timedelta(seconds=seconds[i])).isoformat(),
                "crawled_at": "2026-11-25T12:00:00+08:00",
            }
        )
    return records


def corpus() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Parent-first records and the extra duplicate/bad records, deterministic."""
    rng = random.Random(7)
    records: list[dict[str, Any]] = []
    for cascade in range(12):
        records += tree_records(cascade, rng.randrange(20, 60), rng)
    # Never crawled: the middle of a chain (hops to it become placeholders).
    records = [r for r in records if r["id"] not in {"weibo:3-2", "weibo:5-1"}]
    newer = [
        {**r, "crawled_at": "2026-11-26T12:00:00+08:00", "text_raw": r["text_raw"] + " "}
        for r in records[::9]
    ]
    bad = [
        {**records[4], "id": "weibo:self", "parent_id": "weibo:self", "root_id": "weibo:0-0"},
        # A root claiming to reply to one of its own descendants.
        {**records[0], "parent_id": "weibo:0-3", "crawled_at": "2026-11-27T00:00:00+08:00"},
    ]
    return records, newer + bad


def measures(records: list[dict[str, Any]]) -> tuple[Any, ...]:
    G = build_cascades(records)
    summaries = []
    for root in cascade_roots(G):
        s = cascade_summary(G, root)
        summaries.append(
            (
                root,
                s["size"],
                s["depth"],
                tuple(s["breadth_by_depth"]),
                round(s["structural_virality"], 9),
                tuple(sorted(s["dropped"].items())),
            )
        )
    return tuple(sorted(G.edges())), tuple(summaries), tuple(G.graph["dropped"].items())


def test_same_forest_in_every_order() -> None:
    records, extra = corpus()
    parent_first = records + extra
    time_sorted = sorted(parent_first, key=lambda r: (r["created_at"], r["id"]))
    shuffled = parent_first[:]
    random.Random(3).shuffle(shuffled)
    newest_first = sorted(parent_first, key=lambda r: (r["id"], r["crawled_at"]), reverse=True)
    expected = measures(parent_first)
    for order in (time_sorted, shuffled, newest_first):
        assert measures(order) == expected

    edges, _summaries, dropped = expected
    counts = dict(dropped)
    assert set(counts) == set(DROP_REASONS)
    assert counts["duplicate"] == len(extra) - 1  # every newer copy; the self-loop is new
    assert counts["self_loop"] == 1 and counts["into_root"] == 1
    # Every crawled repost is in a tree whose shape matches its chain: depth = hops + 1.
    G = build_cascades(time_sorted)
    assert G.has_edge("weibo:0-3", "weibo:0-0") is False  # the root kept its place
    assert G.nodes["weibo:0-0"]["cycle_broken"] is True
    for record in records:
        node = record["id"]
        hops = record["text_raw"].count("//@")
        if record["kind"] == "repost" and "3-" not in node and "5-" not in node:
            depth = nx.shortest_path_length(G, record["root_id"], node)
            assert depth == hops + 1, node
    assert len(edges) == G.number_of_edges()


def test_drops_are_in_the_summary_and_the_log(caplog: Any) -> None:
    records, extra = corpus()
    with caplog.at_level("INFO", logger="koubei.analysis.spread.cascade"):
        G = build_cascades(records + extra)
    summary = cascade_summary(G, "weibo:0-0")
    assert summary["dropped"]["into_root"] == 1 and summary["dropped"]["self_loop"] == 1
    assert "cascade build dropped no_id=0 duplicate=" in caplog.text
    assert "into_root=1" in caplog.text


# Hostile records for the property below: a handful of ids and names so that cycles, self
# parents, second parents, chains through uncrawled or unknown names, shared seconds,
# duplicates with other fields, naive and aware times, missing times and missing ids all occur.
_IDS = [f"w:{i}" for i in range(8)]
_NAMES = ["甲", "乙", "丙", "A_b-c", "丁·戊"]
_TIMES = [
    None,
    "",
    "2026-11-25T10:00:00+08:00",
    "2026-11-25T10:00:00",  # naive: Shanghai time, the same instant as the line above
    "2026-11-25T02:00:01Z",
    "2026-11-25T10:00:02+08:00",
    "not a time",
]
_hop = st.tuples(st.sampled_from([*_NAMES, "从未发帖"]), st.sampled_from([":", "：", ""]))
_record = st.fixed_dictionaries(
    {
        "id": st.sampled_from([*_IDS, None, ""]),
        "author": st.fixed_dictionaries({"name": st.sampled_from(_NAMES)}),
        "created_at": st.sampled_from(_TIMES),
        "crawled_at": st.sampled_from([None, "2026-11-25T12:00:00+08:00"]),
        "parent_id": st.sampled_from([None, *_IDS, "w:gone"]),
        "root_id": st.sampled_from([None, "w:0", "w:1", "w:gone"]),
        "relation": st.sampled_from([None, "repost", "reply"]),
        "kind": st.sampled_from(["post", "repost"]),
        "text_raw": st.lists(_hop, max_size=4).map(
            lambda hops: "说" + "".join(f"//@{name}{colon} 转" for name, colon in hops)
        ),
        "sentiment": st.fixed_dictionaries({"label": st.sampled_from(["negative", "neutral"])}),
    }
)


def _fingerprint(records: list[dict[str, Any]]) -> Any:
    G = build_cascades(records)
    nodes = sorted((str(n), repr(sorted(a.items()))) for n, a in G.nodes(data=True))
    edges = sorted((u, v, repr(sorted(d.items()))) for u, v, d in G.edges(data=True))
    summaries = [cascade_summary(G, root) for root in cascade_roots(G)]
    return nodes, edges, G.graph, summaries


@settings(max_examples=80, deadline=None)
@given(
    st.lists(_record, max_size=14).flatmap(lambda rs: st.tuples(st.just(rs), st.permutations(rs)))
)
def test_any_permutation_gives_the_same_forest_evidence_and_drop_counts(
    pair: tuple[list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    records, permuted = pair
    assert _fingerprint(permuted) == _fingerprint(records)
    dump = partial(json.dumps, sort_keys=True, ensure_ascii=False, default=str)
    assert dump(incident_evidence(permuted)) == dump(incident_evidence(records))
    # Nothing vanishes: every record is a crawled node, a counted duplicate or counted id-less.
    G = build_cascades(records)
    crawled = sum(1 for _n, placeholder in G.nodes(data="placeholder") if not placeholder)
    dropped = G.graph["dropped"]
    assert crawled + dropped["duplicate"] + dropped["no_id"] == len(records)
    assert not G or nx.is_forest(G)
    assert all(d <= 1 for _n, d in G.in_degree())
