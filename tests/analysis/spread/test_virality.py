"""Structural virality in linear time equals the all-pairs mean distance on random trees."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from koubei.analysis.spread.virality import structural_virality, subtree_sizes, wiener_index_tree


def _tree(parents: list[int]) -> nx.DiGraph:
    # parents[i] is the parent of node i + 1, always an earlier node: a random recursive tree.
    G = nx.DiGraph()
    G.add_node(0)
    G.add_edges_from((p % (i + 1), i + 1) for i, p in enumerate(parents))
    return G


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60))
def test_equals_mean_pairwise_distance(parents: list[int]) -> None:
    G = _tree(parents)
    expected = nx.average_shortest_path_length(G.to_undirected())
    assert structural_virality(G, 0) == pytest.approx(expected)
    assert wiener_index_tree(G, 0) == nx.wiener_index(G.to_undirected())


def test_known_shapes() -> None:
    star = nx.DiGraph([(0, i) for i in range(1, 100)])
    chain = nx.DiGraph([(i, i + 1) for i in range(99)])
    assert structural_virality(star) == pytest.approx(2 - 2 / 100)
    assert structural_virality(chain) == pytest.approx(101 / 3)
    single = nx.DiGraph()
    single.add_node("only")
    assert structural_virality(single, "only") == 0.0


def test_shared_child_is_not_a_forest() -> None:
    with pytest.raises(ValueError, match="not a forest"):
        structural_virality(nx.DiGraph([(0, 1), (0, 2), (1, 3), (2, 3)]), 0)


def test_root_required_for_forest() -> None:
    with pytest.raises(ValueError, match="2 nodes without a parent"):
        structural_virality(nx.DiGraph([(0, 1), (2, 3)]))


def test_subtree_sizes_of_one_tree_in_a_forest() -> None:
    G = nx.DiGraph([(0, 1), (1, 2), (5, 6)])
    assert subtree_sizes(G, 0) == {2: 1, 1: 2, 0: 3}
