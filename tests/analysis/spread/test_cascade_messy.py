"""Cascades as real crawls deliver them: clocks that disagree with the ``//@`` chain.

Mobile Weibo pages give relative times (``刚刚``, ``5分钟前``, ``1小时前``, ``昨天 10:00``) and
bare dates (``11-20``) that crawlers turn into instants against their own clock at crawl time,
at minute or day precision (public crawler code doing exactly this: ``standardize_date`` in
dataabc/weibo-search, ``weibo/utils/util.py``). A repost crawled an hour later, or seen only as
``11-20``, can carry a time before the post its chain names.
"""

from __future__ import annotations

from typing import Any

from koubei.analysis.spread.cascade import build_cascades, hop_placeholder_id


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
        # C's repost of B's, seen days later as ``11-20``: day precision, midnight.
        {
            **repost("c", "老李", "2026-11-20T00:00:00+08:00", "天哪//@小王:喝出异物了"),
            "time_precision": "day",
        },
    ]
    G = build_cascades(records)
    assert sorted(G.edges()) == [("b", "c"), ("r", "b")]
    assert hop_placeholder_id("r", "小王") not in G
    assert G.edges["b", "c"]["inferred"] is True


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
