"""Per-cascade measures on hand-built cascades with known answers."""

from __future__ import annotations

import networkx as nx
import pytest

from koubei.analysis.spread.cascade import build_cascades
from koubei.analysis.spread.measures import (
    cascade_roots,
    cascade_summary,
    depth_profile,
    growth,
    main_paths,
    negative_share,
    platforms,
    time_to_fraction,
)
from tests.analysis.spread.incident import incident


@pytest.fixture
def tree() -> nx.DiGraph:
    #        0
    #     /  |  \
    #    1   2   3
    #   / \      |
    #  4   5     6
    #  |
    #  7
    G = nx.DiGraph([(0, 1), (0, 2), (0, 3), (1, 4), (1, 5), (3, 6), (4, 7)])
    nx.set_node_attributes(G, {n: float(n * 60) for n in G}, "ts")
    labels: dict[int, str | None] = dict.fromkeys(G, "negative")
    labels.update({2: "positive", 6: None})
    nx.set_node_attributes(G, labels, "sentiment")
    nx.set_node_attributes(G, {n: "weibo" if n < 5 else "douyin" for n in G}, "platform")
    return G


def test_shape(tree: nx.DiGraph) -> None:
    assert depth_profile(tree, 0) == [1, 3, 3, 1]
    summary = cascade_summary(tree, 0)
    assert (summary["size"], summary["depth"], summary["max_breadth"]) == (8, 3, 3)
    # Wiener index by hand: subtree sizes 4,1,2,2,1,1,1 -> sum s(8-s) = 16+7+12+12+7+7+7 = 68.
    assert summary["structural_virality"] == pytest.approx(2 * 68 / (8 * 7))


def test_paths_follow_the_biggest_branches(tree: nx.DiGraph) -> None:
    assert main_paths(tree, 0, k=2) == [[0, 1, 4, 7], [0, 3, 6]]
    assert main_paths(tree, 0, k=5)[-1] == [0, 2]
    assert main_paths(tree, 7) == [[7]]


def test_timing_and_sentiment(tree: nx.DiGraph) -> None:
    assert time_to_fraction(tree, 0, 0.5) == 180.0  # 4th of 8 posts at minute 3
    assert time_to_fraction(tree, 0, 0.9) == 420.0
    assert negative_share(tree, 0) == pytest.approx(6 / 7, abs=1e-4)
    assert platforms(tree, 0) == ["douyin", "weibo"]


def test_growth_accelerating_then_quiet() -> None:
    G = nx.DiGraph([(0, i) for i in range(1, 20)])
    # Steady trickle for an hour, then 10 posts in the last 10 minutes.
    stamps = [i * 400.0 for i in range(10)] + [3600 + i * 60.0 for i in range(10)]
    nx.set_node_attributes(G, dict(enumerate(stamps)), "ts")
    assert growth(G, 0)["accelerating"] is True
    # Judged a day later, nothing new came: not accelerating.
    assert growth(G, 0, now=stamps[-1] + 86400)["accelerating"] is False
    flat = nx.DiGraph([(0, i) for i in range(1, 20)])
    nx.set_node_attributes(flat, {i: i * 300.0 for i in range(20)}, "ts")
    assert growth(flat, 0)["accelerating"] is False


def test_roots_largest_first_and_placeholders_counted() -> None:
    G = build_cascades(incident())
    roots = cascade_roots(G)
    assert roots[0] == "weibo:1"
    summary = cascade_summary(G, "weibo:1")
    assert summary["size"] == 10 and summary["placeholders"] == 1
    assert summary["depth"] == 3 and summary["breadth_by_depth"] == [1, 4, 4, 1]
    assert summary["first_post"] == "2026-11-25T09:00:00+08:00"
    assert summary["seconds_to_90pct"] == 3600.0


def test_events_feed_the_cascade_growth_detector() -> None:
    from datetime import timedelta

    from koubei.analysis.detectors.cascade import cascade_series
    from koubei.analysis.spread.measures import cascade_events

    G = build_cascades(incident())
    events = cascade_events(G, ["weibo:1"])
    assert len(events) == 8  # 10 nodes minus the root and the uncrawled hop
    assert max(e["depth"] for e in events) == 3
    assert events[0]["followers"] == 2_000_000  # 老王 was first to repost
    start = events[0]["time"] - timedelta(minutes=10)
    series = cascade_series(events, start, start + timedelta(hours=2), interval_seconds=600)
    assert sum(series.reposts) == 8 and series.depth[-1] == 3 and series.breadth[-1] == 4
    summary = cascade_summary(G, "weibo:1")
    assert summary["max_followers"] == 2_000_000 and summary["verified_involved"] is False


def test_times_say_their_origin_and_give_both_when_a_post_predates_the_root() -> None:
    import networkx as nx

    from koubei.analysis.spread.measures import cascade_summary

    G = nx.DiGraph([(0, 1), (0, 2), (0, 3)])
    nx.set_node_attributes(G, {0: 100.0, 1: 160.0, 2: 220.0, 3: 700.0}, "ts")
    clean = cascade_summary(G, 0)
    assert clean["time_origin"] == "root" and clean["posts_before_root"] == 0
    assert clean["seconds_to_half"] == clean["seconds_to_half_from_root"] == 60.0
    G.nodes[1]["ts"] = 40.0  # a repost stamped before its root (clock skew)
    skewed = cascade_summary(G, 0)
    assert skewed["time_origin"] == "first_post" and skewed["posts_before_root"] == 1
    assert skewed["seconds_to_half"] == 60.0  # 40 -> 100
    assert skewed["seconds_to_half_from_root"] == 0.0
    assert skewed["seconds_to_90pct"] == 660.0 and skewed["seconds_to_90pct_from_root"] == 600.0


def test_negative_share_leaves_posts_without_opinion_out(tree: nx.DiGraph) -> None:
    # Two bare reposts (no_opinion) count on neither side: 4 negative of 5 with an opinion.
    nx.set_node_attributes(tree, {5: "no_opinion", 7: "no_opinion"}, "sentiment")
    assert negative_share(tree, 0) == pytest.approx(4 / 5, abs=1e-4)
