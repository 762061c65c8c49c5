"""Which cascades count as negative: posts without an opinion take no side."""

from __future__ import annotations

import networkx as nx

from koubei.flows.detect import _negative_cascade


def test_bare_reposts_neither_make_nor_dilute_a_negative_cascade() -> None:
    G = nx.DiGraph([(0, n) for n in range(1, 8)])
    labels = {0: "positive", 1: "negative", 2: "negative", 3: "positive"}
    labels.update(dict.fromkeys(range(4, 8), "no_opinion"))
    nx.set_node_attributes(G, labels, "sentiment")
    # 2 negative of 4 with an opinion: not a majority (before: 2 of 8).
    assert not _negative_cascade(G, 0)
    nx.set_node_attributes(G, {3: "negative"}, "sentiment")
    # 3 of 4 with an opinion are negative; counting the bare reposts would make it 3 of 8.
    assert _negative_cascade(G, 0)
