"""links.py is the rule build_cascades links posts by, so the replay that reads it cannot drift.

``koubei spikes backtest --brand`` replays ``cascade_growth`` building only the posts
:func:`cascade_members` keeps (flows/commands/_spikes_cascade.py). For every record set below
(the cascade tests' incidents, the real Weibo spider's landing file, hostile generated records):
every post the build gives a parent passes :func:`can_join`, a platform edge's parent is among
the ids the child names, every crawled post on an edge is a member, and building the members
alone gives the same edges, the same nodes on them and the same negative-cascade series. A link
field the build reads and links.py does not (or the other way) breaks one of these.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from koubei import jsonl
from koubei.analysis.spread.cascade import build_cascades, canonical_records
from koubei.analysis.spread.links import can_join, cascade_members, named_ids
from koubei.config import BrandsConfig, Source
from koubei.crawlers.runner import crawl_sources
from koubei.flows.detect import negative_cascades
from tests.analysis.spread.incident import incident
from tests.analysis.spread.test_cascade import rec
from tests.analysis.spread.test_cascade_messy import _messy_incident
from tests.analysis.spread.test_cascade_order import _IDS, _NAMES, _record, corpus
from tests.crawlers.conftest import FAST, brands, fixture_site  # noqa: F401  (fixtures)
from tests.crawlers.spiders.test_weibo import routes


def _shape(G: Any) -> tuple[Any, ...]:
    """The edges and the nodes on them, with every attribute: what the cascade measures read."""
    edges = sorted((u, v, repr(sorted(d.items()))) for u, v, d in G.edges(data=True))
    nodes = sorted((n, repr(sorted(a.items()))) for n, a in G.nodes(data=True) if G.degree(n))
    return edges, nodes


def check(records: list[dict[str, Any]]) -> None:
    G = build_cascades(records)
    kept = {str(r["id"]): r for r in canonical_records(records)}
    members = cascade_members(records)
    for parent, child, data in G.edges(data=True):
        if not G.nodes[parent]["placeholder"]:
            assert parent in members, (parent, child)
        if G.nodes[child]["placeholder"]:
            continue  # an uncrawled parent or hop, placed under a post some record names
        assert child in members and can_join(kept[child]), child
        if not data["inferred"]:  # the platform's parent, the root, or a thread's top comment
            assert parent in named_ids(kept[child]), (parent, child)
        else:  # a //@ hop: a post of the cascade (it can join it) or an uncrawled one
            assert (
                G.nodes[parent]["placeholder"]
                or can_join(kept[parent])
                or (parent in named_ids(kept[child]))
            ), (parent, child)
    only = [r for r in records if str(r.get("id")) in members]
    assert _shape(build_cascades(only)) == _shape(G)


def _series(records: list[dict[str, Any]], at: str) -> Any:
    series = negative_cascades(records, "鲜牧", datetime.fromisoformat(at), 300)
    return series.reposts, series.depth, series.breadth, series.max_followers, series.verified


def test_the_cascade_tests_incidents() -> None:
    trees = [  # test_cascade_order's forest, a third of its posts neutral
        {**r, "sentiment": {"label": "neutral" if i % 3 == 0 else "negative"}}
        for i, r in enumerate(corpus()[0] + corpus()[1])
    ]
    for records, at in (
        (incident(), "2026-11-25T11:00:00+08:00"),
        (_messy_incident(), "2026-11-20T12:00:00+08:00"),
        (trees, "2026-11-25T10:00:00+08:00"),
    ):
        check(records)
        members = cascade_members(records)
        only = [r for r in records if str(r.get("id")) in members]
        assert sum(_series(records, at)[0]) > 0
        assert _series(only, at) == _series(records, at)


def test_threads_chains_and_guessed_parents() -> None:
    """The fields beyond parent_id/root_id: a crawled top comment named only by
    ``extra.thread_root``, a spider's ``extra.repost_chain``, a parent guessed at landing
    (``extra.parent_from_platform: false``), a self-parent, a reply naming nothing."""
    reposts = {"kind": "repost", "relation": "repost", "root_id": "r"}
    records = [
        rec("r", "A", 0),
        rec("top", "B", 1, relation="reply"),  # its own record names no parent
        rec("c1", "X", 2, parent_id="gone", root_id="r", extra={"thread_root": "top"}),
        rec("b", "B", 3, parent_id="r", **reposts),
        rec("c", "C", 4, parent_id="r", extra={"repost_chain": ["B"]}, **reposts),
        rec(
            "d",
            "D",
            5,
            "嗯//@C: x//@B: y",
            parent_id="b",
            extra={"parent_from_platform": False},
            **reposts,
        ),
        rec("e", "E", 6, parent_id="e"),
        rec("f", "F", 7, "转//@A: 原", kind="repost"),
        rec("g", "G", 8, relation="reply"),
    ]
    check(records)
    G = build_cascades(records)
    assert G.has_edge("top", "gone") and G.has_edge("c", "d") and G.has_edge("b", "c")
    assert "top" in cascade_members(records) and "g" not in cascade_members(records)


_extra = st.fixed_dictionaries(
    {},
    optional={
        "thread_root": st.sampled_from([*_IDS, "w:gone", ""]),
        "parent_from_platform": st.sampled_from([True, False]),
        "repost_chain": st.lists(st.sampled_from([*_NAMES[:3], "从未发帖"]), max_size=3),
    },
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_record, _extra), max_size=14))
def test_hostile_records(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    check([{**record, "extra": extra} for record, extra in pairs])


def test_the_weibo_spiders_landing_file(
    fixture_site: Any,  # noqa: F811
    brands: BrandsConfig,  # noqa: F811
    koubei_home: str,
) -> None:
    site = fixture_site(routes())
    source = Source(name="wb", platform="weibo", base_url=site.url)
    [report] = crawl_sources([source], brands, run_id="links", settings=FAST)
    assert report.landing_file is not None
    records = list(jsonl.read(Path(report.landing_file)))
    assert any(r.get("root_id") for r in records)
    check(records)
