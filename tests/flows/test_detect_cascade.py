"""Which cascades count as negative: posts without an opinion take no side."""

from __future__ import annotations

from datetime import datetime

import networkx as nx

from koubei.flows.detect import _negative_cascade, records_since


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


def test_incident_window_compares_instants_not_strings() -> None:
    # --as-of in UTC, posts stored with the +08:00 their source gave (and one with Z): as ISO
    # strings, 08:30+08:00 (00:30 UTC, before the window) sorted after 01:00+00:00.
    start = datetime.fromisoformat("2026-11-25T01:00:00+00:00")
    records = [
        {"id": "before", "created_at": "2026-11-25T08:30:00+08:00"},
        {"id": "inside", "created_at": "2026-11-25T09:30:00+08:00"},
        {"id": "utc", "created_at": "2026-11-25T01:00:00Z"},
        {"id": "naive-shanghai", "created_at": "2026-11-25T08:59:59"},
        {"id": "no-time"},
    ]
    assert [r["id"] for r in records_since(records, start)] == ["inside", "utc"]
