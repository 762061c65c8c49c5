"""The ``//@name:`` chain parser: nested, malformed and self-repost chains."""

from __future__ import annotations

from koubei.analysis.spread.chains import own_text, parse_chain


def test_nested_chain_lists_hops_nearest_first_with_their_words() -> None:
    chain = parse_chain("笑死//@C: 哈哈//@B: 真的吗//@A: 鲜牧出事了")
    assert chain.text == "笑死"
    assert chain.names == ["C", "B", "A"]
    assert [h.text for h in chain.hops] == ["哈哈", "真的吗", "鲜牧出事了"]


def test_full_width_colon_spaces_and_cjk_names() -> None:
    chain = parse_chain("同感 // @消费者-小李 ： 太差//@user_01:x")
    assert chain.names == ["消费者-小李", "user_01"]
    assert chain.text == "同感"


def test_repost_without_words_has_empty_own_text() -> None:
    chain = parse_chain("//@A: 原话")
    assert chain.text == ""
    assert chain.names == ["A"]


def test_malformed_markers_stay_text() -> None:
    for text in ("看看 //@ 没名字", "//@: 空名字", "@A: 不是链", "a//@" + "x" * 40 + ": 太长"):
        chain = parse_chain(text)
        assert chain.hops == [], text
        assert chain.text == text.strip()


def test_malformed_tail_after_valid_hop_is_part_of_that_hop() -> None:
    chain = parse_chain("嗯//@B: 转发//@ 断了的链")
    assert chain.names == ["B"]
    assert chain.hops[0].text == "转发//@ 断了的链"


def test_consecutive_self_repost_hops_collapse() -> None:
    assert parse_chain("再转//@A: 二转//@A: 一转//@B: 原").names == ["A", "B"]


def test_empty_and_none() -> None:
    assert parse_chain(None).text == "" and parse_chain(None).hops == []
    assert own_text("") == ""
