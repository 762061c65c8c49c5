"""Building cascade forests: chain rebuilding, placeholders, bad data."""

from __future__ import annotations

from typing import Any

import networkx as nx

from koubei.analysis.spread.cascade import build_cascades, hop_placeholder_id
from tests.analysis.spread.incident import incident


def rec(node: str, name: str, minute: int, text: str = "x", **fields: Any) -> dict[str, Any]:
    return {
        "id": node,
        "author": {"id": f"u-{name}", "name": name, "followers": 10},
        "created_at": f"2026-11-25T10:{minute:02d}:00+08:00",
        "text_raw": text,
        "platform": "weibo",
        **fields,
    }


def repost(node: str, name: str, minute: int, text: str, root: str = "r") -> dict[str, Any]:
    return rec(node, name, minute, text, parent_id=root, root_id=root, relation="repost")


def test_weibo_incident_rebuilds_intermediate_hops() -> None:
    G = build_cascades(incident())
    assert sorted(G.edges()) == sorted(
        [
            ("weibo:1", "weibo:2"),
            ("weibo:2", "weibo:3"),
            ("weibo:2", "weibo:4"),
            ("weibo:3", "weibo:5"),
            ("weibo:1", "weibo:6"),
            ("weibo:1", "weibo:7"),
            ("weibo:2", "weibo:8"),
            ("weibo:1", hop_placeholder_id("weibo:1", "未抓取的G")),
            (hop_placeholder_id("weibo:1", "未抓取的G"), "weibo:9"),
        ]
    )
    assert G.edges["weibo:3", "weibo:5"]["inferred"] is True
    assert G.edges["weibo:1", "weibo:6"]["inferred"] is False
    assert G.edges["weibo:1", "weibo:7"]["relation"] == "reply"
    hop = G.nodes[hop_placeholder_id("weibo:1", "未抓取的G")]
    assert hop["placeholder"] is True and hop["author"] == "未抓取的G"
    node = G.nodes["weibo:2"]
    assert (node["author"], node["followers"], node["sentiment"]) == (
        "大V老王",
        2_000_000,
        "negative",
    )
    assert node["created_at"].isoformat() == "2026-11-25T09:10:00+08:00"
    assert all(d <= 1 for _n, d in G.in_degree())


def test_hop_resolves_to_latest_earlier_post_of_that_author() -> None:
    records = [
        rec("r", "A", 0),
        repost("b1", "B", 1, "一"),
        repost("b2", "B", 5, "二"),
        repost("c", "C", 3, "嗯//@B: 一"),  # B's only post before minute 3 is b1
        repost("d", "D", 9, "嗯//@B: 二"),  # latest B post before minute 9 is b2
    ]
    G = build_cascades(records)
    assert G.has_edge("b1", "c") and G.has_edge("b2", "d")


def test_uncrawled_root_and_parent_become_placeholders() -> None:
    records = [
        rec("c1", "X", 2, "回复", parent_id="p-missing", root_id="root-missing", relation="reply"),
        rec("c2", "Y", 3, "同意", parent_id="c1", root_id="root-missing", relation="reply"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("c1", "c2"), ("p-missing", "c1"), ("root-missing", "p-missing")]
    assert G.nodes["root-missing"]["placeholder"] and G.nodes["p-missing"]["placeholder"]
    assert G.nodes["root-missing"]["ts"] is None


def test_an_uncrawled_reply_hangs_from_the_top_comment_of_its_thread() -> None:
    """A reply answering an uncrawled reply: that reply is a placeholder in the thread the reply
    names (``extra.thread_root``), not a second comment on the post (before: root -> p-missing);
    when the top comment was not crawled either, it is a placeholder under the root."""
    thread = {"thread_root": "top"}
    records = [
        rec("r", "A", 0),
        rec("top", "B", 1, parent_id="r", root_id="r", relation="reply"),
        rec("c1", "X", 2, parent_id="p-missing", root_id="r", relation="reply", extra=thread),
        rec(
            "c2",
            "Y",
            3,
            parent_id="q-missing",
            root_id="r",
            relation="reply",
            extra={"thread_root": "top-missing"},
        ),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [
        ("p-missing", "c1"),
        ("q-missing", "c2"),
        ("r", "top"),
        ("r", "top-missing"),
        ("top", "p-missing"),
        ("top-missing", "q-missing"),
    ]
    assert G.nodes["top-missing"]["placeholder"] and not G.nodes["top"]["placeholder"]
    assert G.graph["dropped"]["second_parent"] == 0


def test_child_before_parent_in_input_and_late_parent_fills_placeholder() -> None:
    records = [rec("c", "B", 5, parent_id="p", root_id="p", relation="reply"), rec("p", "A", 1)]
    G = build_cascades(records)
    assert list(G.edges()) == [("p", "c")]
    assert G.nodes["p"]["placeholder"] is False and G.nodes["p"]["author"] == "A"


def test_parent_cycle_in_bad_data_is_broken_into_a_forest() -> None:
    # a says its parent is b and b says its parent is a. Times decide: the loop is cut above
    # the earliest post, so a (minute 1) stays the root and is marked, and b (minute 2) is its
    # child (it used to be the other way round: a post under one written a minute after it).
    records = [
        rec("a", "A", 1, parent_id="b", relation="reply"),
        rec("b", "B", 2, parent_id="a", relation="reply"),
        rec("c", "C", 3, parent_id="c", relation="reply"),  # self-parent
    ]
    G = build_cascades(records)
    assert nx.is_directed_acyclic_graph(G)
    assert list(G.edges()) == [("a", "b")]
    assert G.nodes["a"].get("cycle_broken") is True
    assert G.in_degree("c") == 0 and not G.has_edge("c", "c")


def test_longer_cycle_through_chain_names() -> None:
    # Chains that name each other in a loop (A says via B, B says via A) must not loop.
    records = [
        rec("r", "R", 0),
        repost("a", "A", 1, "x//@B: y"),
        repost("b", "B", 2, "y//@A: x"),
    ]
    G = build_cascades(records)
    assert nx.is_directed_acyclic_graph(G)
    assert all(d <= 1 for _n, d in G.in_degree())
    assert set(G) >= {"r", "a", "b"}


def test_self_repost_chain_does_not_invent_a_hop() -> None:
    records = [rec("r", "A", 0, "原"), repost("r2", "A", 1, "顶//@A: 原")]
    G = build_cascades(records)
    assert list(G.edges()) == [("r", "r2")]
    assert len(G) == 2


def test_duplicates_missing_times_and_missing_fields() -> None:
    records = [
        rec("r", "A", 0),
        rec("r", "Z", 9),  # duplicate id: the earlier-timed copy kept, in any order
        {"id": "bare", "text_raw": "无作者无时间", "parent_id": "r", "relation": "reply"},
        {"text_raw": "no id"},
    ]
    G = build_cascades(records)
    assert G.nodes["r"]["author"] == "A"
    assert G.has_edge("r", "bare")
    assert G.nodes["bare"]["ts"] is None and G.nodes["bare"]["author"] is None
    assert len(G) == 2


def test_chain_through_uncrawled_hops_makes_a_placeholder_chain() -> None:
    records = [rec("r", "A", 0), repost("d", "D", 9, "嗯//@C: 哦//@B: 啊")]
    G = build_cascades(records)
    b, c = hop_placeholder_id("r", "B"), hop_placeholder_id("r", "C")
    assert sorted(G.edges()) == sorted([("r", b), (b, c), (c, "d")])
    # A later repost through B reuses the same placeholder.
    G2 = build_cascades([*records, repost("e", "E", 12, "是//@B: 啊")])
    assert G2.has_edge(b, "e") and G2.number_of_nodes() == 5


def test_html_text_and_spider_chain_both_rebuild_hops() -> None:
    html_chain = "避雷//<a href='/n/B'>@B</a>:太吓人了"
    records = [
        rec("r", "A", 0),
        repost("b", "B", 1, "扩散"),
        repost("c", "C", 2, html_chain),
        repost("d", "D", 3, "x") | {"extra": {"repost_chain": ["C", "B"]}},
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("b", "c"), ("c", "d"), ("r", "b")]
    assert G.nodes["c"]["text"] == "避雷//@B:太吓人了"


def test_records_without_an_id_are_counted_not_lost() -> None:
    records = [
        rec("r", "A", 0),
        {"text_raw": "no id", "root_id": "r", "parent_id": "r"},
        rec("", "B", 1, parent_id="r", root_id="r"),  # an empty id names no post either
        rec(None, "C", 2),  # type: ignore[arg-type]
    ]
    G = build_cascades(records)
    assert list(G) == ["r"]
    assert G.graph["dropped"]["no_id"] == 3
    assert G.graph["dropped_by_root"]["r"]["no_id"] == 2


def _comb(teeth: int) -> list[dict[str, Any]]:
    """A reply thread ``teeth`` deep, each post with a reply that has a reply of its own.

    Everything shares one second and the ids sort so that each reply's own reply is linked
    before it, while the thread above it is already linked.
    """
    at = {"created_at": "2026-11-25T10:00:00+08:00", "relation": "reply", "root_id": "a0"}
    records: list[dict[str, Any]] = [{"id": "a0", "created_at": at["created_at"]}]
    for i in range(1, teeth):
        records.append({"id": f"a{i}", "parent_id": f"a{i - 1}", **at})
    for i in range(teeth):
        records.append({"id": f"c{i}", "parent_id": f"a{i}", **at})
        records.append({"id": f"b{i}", "parent_id": f"c{i}", **at})
    return records


def _lines_run(function: Any, *args: Any) -> int:
    """How many lines of the build (cascade.py and its forest.py) run in ``function(*args)``: a
    work count, not a timing."""
    import sys

    from koubei.analysis.spread import cascade, forest

    sources = {cascade.__file__, forest.__file__}
    count = 0

    def trace(frame: Any, event: str, _arg: Any) -> Any:
        nonlocal count
        if frame.f_code.co_filename not in sources:
            return None
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        function(*args)
    finally:
        sys.settrace(None)
    return count


def test_cycle_checks_stay_linear_on_a_deep_thread() -> None:
    # Walking up the parents to refuse cycles made this shape quadratic (8,000 teeth: 3.5 s).
    small, large = _comb(100), _comb(800)
    G = build_cascades(large)
    assert G.number_of_edges() == len(large) - 1
    assert nx.is_arborescence(G)
    ratio = _lines_run(build_cascades, large) / _lines_run(build_cascades, small)
    assert ratio < 8 * 1.5, ratio  # 8 times the posts; quadratic work gave about 40 times


def test_an_account_posting_twice_in_one_second_keeps_the_branch_together() -> None:
    # B reposts the root, C reposts B, B reposts C, all in minute 1. C's hop "B" must be B's
    # first post (whose own chain is the rest of C's), not B's later one: that is C's child,
    # and the loop cut C and B's second post off the cascade.
    records = [
        rec("r", "A", 0),
        repost("w:b1", "B", 1, "转"),
        repost("w:c", "C", 1, "真的//@B: 转"),
        repost("w:b2", "B", 1, "再转//@C: 真的//@B: 转"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("r", "w:b1"), ("w:b1", "w:c"), ("w:c", "w:b2")]
    assert G.graph["dropped"]["cycle"] == 0


def test_a_self_repost_is_still_found_through_the_folded_chain() -> None:
    # B reposted their own repost; chains fold "//@B: ..//@B:" into one hop, so D's hop "B"
    # may be either of B's posts: the later one, with B's first post in its chain, is it.
    records = [
        rec("r", "A", 0),
        repost("b1", "B", 1, "一"),
        repost("b2", "B", 2, "二//@B: 一"),
        repost("d", "D", 3, "嗯//@B: 二//@B: 一"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("b1", "b2"), ("b2", "d"), ("r", "b1")]


def test_the_newest_crawl_wins_by_instant_not_by_how_its_offset_sorts() -> None:
    """03:00Z is 11:00 in China, after 10:30+08:00, though the string sorts before it."""
    china = {**rec("r", "old-copy", 0), "crawled_at": "2026-11-25T10:30:00+08:00"}
    utc = {**rec("r", "new-copy", 0), "crawled_at": "2026-11-25T03:00:00Z"}
    for records in ([china, utc], [utc, china]):
        assert build_cascades(records).nodes["r"]["author"] == "new-copy"
    # Same crawl: the earliest created_at wins, also as instants (09:59Z is 17:59 in China).
    early = {**rec("r", "early", 0), "created_at": "2026-11-25T10:00:00+08:00"}
    late = {**rec("r", "late", 0), "created_at": "2026-11-25T09:59:00Z"}
    for records in ([early, late], [late, early]):
        assert build_cascades(records).nodes["r"]["author"] == "early"


def test_follower_counts_as_the_page_writes_them_are_numbers() -> None:
    # m.weibo.cn writes followers_count as "1.2万" above ten thousand; a --file of landing
    # records or an older spider keeps it so. max_followers compared "1.2万" with 0 (TypeError
    # out of incident_evidence) and the cascade detector's int() of it raised ValueError.
    from koubei.analysis.spread.evidence import incident_evidence
    from koubei.analysis.spread.measures import cascade_events

    records = [rec("r", "源头", 0, "鲜牧牛奶变质了")]
    counts = ["1.2万", "10万+", None, 0, "很多", -5, 3.0, "856"]
    for i, count in enumerate(counts):
        record = repost(f"p{i}", f"网友{i}", i + 1, "转发微博")
        record["author"]["followers"] = count
        records.append(record)
    G = build_cascades(records)
    assert [G.nodes[f"p{i}"]["followers"] for i in range(len(counts))] == [
        12_000,
        100_000,
        0,
        0,
        0,
        0,
        3,
        856,
    ]
    assert [e["followers"] for e in cascade_events(G)] == [12_000, 100_000, 0, 0, 0, 0, 3, 856]
    evidence = incident_evidence(records)
    assert evidence["summary"]["max_followers"] == 100_000
    assert {a["followers"] for a in evidence["key_accounts"]} <= {10, 12_000, 100_000, 0, 3, 856}


def test_a_hop_whose_post_has_no_time_is_that_post_not_an_uncrawled_one() -> None:
    # 网友A's repost came without a time (a relative time the spider could not read); 网友B's
    # timed repost through //@网友A: was hung under an invented uncrawled hop of 网友A, and
    # 网友A's real post sat apart as a leaf of the root.
    untimed = repost("a", "网友A", 0, "扩散")
    del untimed["created_at"]
    records = [
        rec("r", "源头", 0, "鲜牧牛奶变质"),
        untimed,
        repost("b", "网友B", 5, "同感//@网友A:扩散"),
        repost("c", "网友C", 6, "+1//@网友B:同感//@网友A:扩散"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("a", "b"), ("b", "c"), ("r", "a")]
    assert not any(G.nodes[n]["placeholder"] for n in G)


def test_two_posts_naming_each_other_as_root_keep_the_later_ones_edge() -> None:
    # A reposts B and B reposts A (an edited or deleted-and-reposted post): each record's
    # retweeted_status names the other. Both edges used to be refused as "into_root", splitting
    # one two-post cascade into two singletons; the earlier post is the root.
    records = [
        rec("a", "A", 1, "原", parent_id="b", root_id="b", relation="repost", kind="repost"),
        rec("b", "B", 2, "转发微博", parent_id="a", root_id="a", relation="repost", kind="repost"),
    ]
    for order in (records, records[::-1]):
        G = build_cascades(order)
        assert list(G.edges()) == [("a", "b")]
        assert G.nodes["a"].get("cycle_broken") is True
        assert G.graph["dropped"]["into_root"] == 1


def test_parent_id_cycle_is_cut_above_its_earliest_post() -> None:
    # a (minute 1) -> parent c, b (minute 2) -> parent a, c (minute 3) -> parent b. The loop
    # used to be cut above c, the latest post, which then became the root of a and b.
    records = [
        rec("a", "A", 1, parent_id="c", relation="reply"),
        rec("b", "B", 2, parent_id="a", relation="reply"),
        rec("c", "C", 3, parent_id="b", relation="reply"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("a", "b"), ("b", "c")]
    assert G.nodes["a"].get("cycle_broken") is True
    assert G.graph["dropped"]["cycle"] == 1


def test_chain_quote_picks_which_of_two_same_named_posts_was_reposted() -> None:
    # Two accounts called 小王 (display names are not unique over time) both repost the root;
    # C's chain quotes the first one's words. C was put under the latest 小王 post.
    records = [
        rec("r", "鲜牧官方", 0, "关于网传产品问题的说明"),
        repost("b1", "小王", 1, "我家的也有黑色异物"),
        repost("b2", "小王", 2, "官方回应了就好"),
        repost("c", "C", 3, "天哪//@小王: 我家的也有黑色异物"),
        repost("d", "D", 4, "嗯//@小王:官方回应了就好"),
    ]
    records[2]["author"] = {"id": "u-小王-2", "name": "小王"}
    for order in (records, records[::-1]):
        G = build_cascades(order)
        assert G.has_edge("b1", "c") and G.has_edge("b2", "d")


def test_a_parent_guessed_from_the_chain_at_landing_is_rechecked_a_platform_one_kept() -> None:
    # Landing files and indexed documents written before the cascade build became the one place
    # a chain is resolved carry landing's guess as parent_id: the latest 小王 post (b2) for C,
    # though C quotes b1's words. The platform named no parent (parent_from_platform: false),
    # so the chain decides. A parent the platform named (its pid) is evidence and is kept.
    records = [
        rec("r", "鲜牧官方", 0, "关于网传产品问题的说明"),
        repost("b1", "小王", 1, "我家的也有黑色异物"),
        repost("b2", "小王", 2, "官方回应了就好"),
        {**repost("c", "C", 3, "天哪//@小王: 我家的也有黑色异物"), "parent_id": "b2"},
        {**repost("d", "D", 4, "嗯//@小王:我家的也有黑色异物"), "parent_id": "b2"},
    ]
    records[3]["extra"] = {"repost_chain": ["小王"], "parent_from_platform": False}
    records[4]["extra"] = {"repost_chain": ["小王"], "parent_from_platform": True}
    for order in (records, records[::-1]):
        G = build_cascades(order)
        assert list(G.predecessors("c")) == ["b1"] and G.edges["b1", "c"]["inferred"]
        assert list(G.predecessors("d")) == ["b2"] and not G.edges["b2", "d"]["inferred"]
