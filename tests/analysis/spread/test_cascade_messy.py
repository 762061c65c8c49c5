"""Cascades as real crawls deliver them: clocks that disagree with the ``//@`` chain.

Mobile Weibo pages give relative times (``刚刚``, ``5分钟前``, ``1小时前``, ``昨天 10:00``) and
bare dates (``11-20``) that crawlers turn into instants against their own clock at crawl time,
at minute or day precision (public crawler code doing exactly this: ``standardize_date`` in
dataabc/weibo-search, ``weibo/utils/util.py``). A repost crawled an hour later, or seen only as
``11-20``, can carry a time before the post its chain names.
"""

from __future__ import annotations

import random
from typing import Any

from koubei.analysis.spread.cascade import build_cascades, hop_placeholder_id
from koubei.analysis.spread.evidence import incident_evidence, source_of
from koubei.analysis.spread.measures import cascade_summary


def post(node: str, name: str, when: str, text: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": node,
        "platform": "weibo",
        "author": {"id": f"u-{name}", "name": name},
        "created_at": when,
        "text_raw": text,
        **fields,
    }


def repost(node: str, name: str, when: str, text: str) -> dict[str, Any]:
    return post(
        node, name, when, text, kind="repost", relation="repost", parent_id="r", root_id="r"
    )


def test_a_hop_whose_clock_runs_late_is_still_that_post_not_an_uncrawled_one() -> None:
    records = [
        post("r", "鲜牧乳业", "2026-11-20T08:00:00+08:00", "新品上市", kind="post"),
        # B's repost seen as ``昨天 10:12``, precise to the minute.
        repost("b", "小王", "2026-11-20T10:12:00+08:00", "喝出异物了"),
        # C's repost of B's, seen as ``5小时前`` by a crawl at 15:20 that read hours only.
        repost("c", "老李", "2026-11-20T10:00:00+08:00", "天哪//@小王:喝出异物了"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("b", "c"), ("r", "b")]
    assert hop_placeholder_id("r", "小王") not in G
    assert G.edges["b", "c"]["inferred"] is True


def test_a_date_only_time_is_no_time_of_day_for_the_source_or_the_timing() -> None:
    # The root was never crawled. 小王's repost is the first post with a time of day; 老李's
    # repost came from an uncrawled hop and shows only ``11-20`` (``time_precision: "day"``,
    # midnight). Midnight was taken as its time: it became the estimated source and the
    # cascade's first post, ten hours before anyone posted.
    records = [
        repost("b", "小王", "2026-11-20T10:12:00+08:00", "喝出异物了"),
        repost("b2", "小张", "2026-11-20T10:20:00+08:00", "真的//@小王:喝出异物了"),
        {
            **repost("c", "老李", "2026-11-20T00:00:00+08:00", "天哪//@没抓到:好可怕"),
            "time_precision": "day",
        },
    ]
    G = build_cascades(records)
    assert source_of(G, "r")["id"] == "b"
    summary = cascade_summary(G, "r")
    assert summary["first_post"] == "2026-11-20T10:12:00+08:00"
    assert summary["posts_before_root"] == 0
    assert G.nodes["c"]["ts"] is None
    assert G.nodes["c"]["created_at"].isoformat() == "2026-11-20T00:00:00+08:00"


def test_a_time_that_is_no_date_in_shanghai_is_unknown_not_a_traceback() -> None:
    # A sentinel time (``9999-12-31T23:00:00Z``, year 10000 in Asia/Shanghai) in a landing
    # file: the summary's first and last post raised OverflowError out of koubei spread.
    records = [
        post("r", "鲜牧乳业", "9999-12-31T23:00:00Z", "新品上市", kind="post"),
        repost("a", "小王", "2026-11-20T10:12:00+08:00", "喝出异物了"),
        repost("b", "小张", "0001-01-01T00:00:00+14:00", "真的//@小王:喝出异物了"),
    ]
    evidence = incident_evidence(records)
    assert evidence["summary"]["first_post"] == "2026-11-20T10:12:00+08:00"
    assert evidence["summary"]["last_post"] == "2026-11-20T10:12:00+08:00"
    G = build_cascades(records)
    assert G.nodes["r"]["created_at"] is None and G.nodes["b"]["ts"] is None
    assert ("a", "b") in G.edges


def test_a_later_post_of_the_hop_name_that_said_other_words_is_not_taken() -> None:
    records = [
        post("r", "鲜牧乳业", "2026-11-20T08:00:00+08:00", "新品上市", kind="post"),
        repost("b", "小王", "2026-11-20T10:12:00+08:00", "好喝"),
        repost("c", "老李", "2026-11-20T09:00:00+08:00", "天哪//@小王:喝出异物了"),
    ]
    G = build_cascades(records)
    hop = hop_placeholder_id("r", "小王")
    assert sorted(G.edges()) == [("r", "b"), ("r", hop), (hop, "c")]


def test_a_cycle_cut_inside_a_cascade_stays_in_that_cascade() -> None:
    # Two comments under the post ``r`` each name the other as the comment they answer (a
    # re-crawl after an edit, or ids the platform reused). The loop is cut above the earlier,
    # which used to become the root of a second cascade: the incident split in two, ``r``
    # alone in one, its discussion in the other.
    records = [
        post("r", "鲜牧乳业", "2026-11-20T08:00:00+08:00", "新品上市", kind="post"),
        post("a", "甲", "2026-11-20T08:01:00+08:00", "回复@乙:不对", parent_id="b", root_id="r"),
        post("b", "乙", "2026-11-20T08:02:00+08:00", "回复@甲:就是", parent_id="a", root_id="r"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("a", "b"), ("r", "a")]
    assert G.nodes["a"]["cycle_broken"] is True
    assert G.graph["dropped"]["cycle"] == 1


def test_two_reposts_in_one_second_naming_each_other_stay_under_their_root() -> None:
    records = [
        post("r", "鲜牧乳业", "2026-11-20T08:00:00+08:00", "新品上市", kind="post"),
        repost("a", "甲", "2026-11-20T08:05:00+08:00", "扩散//@乙:真的"),
        repost("b", "乙", "2026-11-20T08:05:00+08:00", "真的//@甲:扩散"),
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("a", "b"), ("r", "a")]


def _messy_incident() -> list[dict[str, Any]]:
    """An incident with everything above at once, plus re-crawled copies with new counts."""
    neg = {"label": "negative", "score": 0.1}
    records = [
        post("r", "鲜牧乳业", "2026-11-20T08:00:00+08:00", "新品上市", kind="post"),
        repost("b", "小王", "2026-11-20T10:12:00+08:00", "喝出异物了，别买"),
        {
            **repost("c", "老李", "2026-11-20T00:00:00+08:00", "天哪//@小王:喝出异物了，别买"),
            "time_precision": "day",
        },
        repost(
            "d", "路人", "2026-11-20T10:30:00+08:00", "转发微博//@老李:天哪//@小王:喝出异物了，别买"
        ),
        post(
            "e", "甲", "2026-11-20T10:31:00+08:00", "回复@乙:客服不理人", parent_id="f", root_id="r"
        ),
        post(
            "f",
            "乙",
            "2026-11-20T10:32:00+08:00",
            "回复@甲:退款拖了一周",
            parent_id="e",
            root_id="r",
        ),
        repost("g", "水军1号", "2026-11-20T10:40:00+08:00", "顶"),
        repost("h", "水军1号", "2026-11-20T10:41:00+08:00", "顶//@水军1号:顶"),
        repost("i", "粉丝", "2026-11-20T10:42:00+08:00", "真的假的//@水军1号:顶//@水军1号:顶"),
        repost(
            "j", "消费者_A-1", "2026-11-20T02:43:00Z", "退款拖了一周，客服不理人//@不在数据里:听说"
        ),
        repost("k", "消费者_A-1", "2026-11-20T10:44:00", ""),  # naive: Shanghai time
    ]
    for record in records:
        record["sentiment"] = neg
        record["engagement"] = {"likes": 1, "reposts": 0, "comments": 0}
        record["crawled_at"] = "2026-11-21T00:00:00+08:00"
    recrawled = [
        {
            **record,
            "engagement": {"likes": 50, "reposts": 9, "comments": 3},
            "author": {**record["author"], "followers": 1234},
            "crawled_at": "2026-11-22T00:00:00+08:00",
        }
        for record in records[1::2]
    ]
    return records + recrawled


def _answer(records: list[dict[str, Any]]) -> tuple[Any, ...]:
    G = build_cascades(records)
    evidence = incident_evidence(records, top=5)
    return (
        sorted(G.edges()),
        G.graph["dropped"],
        evidence["source"],
        [(a["account"], a["reach"], a["roles"]) for a in evidence["key_accounts"]],
        [(t["name"], t["posts"], t["representative"]["id"]) for t in evidence["themes"]],
        evidence["summary"],
    )


def test_the_messy_incident_gives_one_answer_in_any_order() -> None:
    records = _messy_incident()
    expected = _answer(records)
    edges = expected[0]
    assert ("b", "c") in edges and ("c", "d") in edges  # the late-clocked hop is b
    assert ("r", "e") in edges and ("e", "f") in edges  # the loop stays in the cascade
    assert ("g", "h") in edges and ("h", "i") in edges
    assert not any(node.startswith("~hop:r:小王") for edge in edges for node in edge)
    orders = [records[::-1], sorted(records, key=lambda r: r["id"], reverse=True)]
    for seed in range(4):
        shuffled = records[:]
        random.Random(seed).shuffle(shuffled)
        orders.append(shuffled)
    for order in orders:
        assert _answer(order) == expected
