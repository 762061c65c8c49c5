"""Features: negation, degree, contrast and emoticons survive as features of their own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from koubei.pipeline.sentiment.features import (
    extract,
    has_evaluative_word,
    prepare,
    sentences,
)
from koubei.pipeline.sentiment.names import MonitoredNames


def _marked(text: str, mark: str) -> set[str]:
    return {f for f in extract(text) if f.startswith(mark)}


@pytest.mark.parametrize(
    ("text", "feature"),
    [
        ("不高兴", "¬高兴"),
        ("不太满意", "¬满意"),
        ("不是很满意", "¬满意"),
        ("一点也不好", "¬好"),
        ("再也不买了", "¬买了"),
        ("没有效果", "¬效果"),
    ],
)
def test_negation_marks_what_it_negates(text: str, feature: str) -> None:
    assert feature in _marked(text, "¬")


def test_negation_does_not_leak_into_the_next_clause() -> None:
    assert _marked("不贵，质量好", "¬") == {"¬贵"}


def test_degree_marks_the_intensified_word() -> None:
    assert {"+满意", "+满"} <= _marked("非常满意", "+")
    assert "+好" in _marked("很好", "+")


def test_clauses_after_a_contrast_are_marked() -> None:
    marked = _marked("质量不错，但是物流太慢", "›")
    assert "›物流" in marked and "›质量" not in marked


def test_emoticons_and_emoji_become_glosses_and_mentions_vanish() -> None:
    assert "气死" in extract("[怒]") and "气死" in extract("😡")
    assert "好评" in extract("[赞]")
    assert "[" not in "".join(extract("[怒]"))
    assert not any("小王" in f for f in extract("@小王 很好"))
    assert prepare("ＡＢＣ好") == "abc好"


def test_sentences_split_after_terminators() -> None:
    assert sentences("很好。但是！\n太贵了？") == ["很好。", "但是！", "太贵了？"]


@pytest.mark.parametrize("text", ["不错", "特别好", "不过还行", "未来可期", "差不多"])
def test_words_that_only_look_negated_emit_no_negation(text: str) -> None:
    assert not _marked(text, "¬")


def test_negation_is_still_found_after_a_look_alike() -> None:
    assert "¬好" in _marked("不过不好", "¬")


def test_max_n_bounds_plain_ngrams() -> None:
    plain = {f for f in extract("质量很好", max_n=2) if f[0] not in "¬+›§⊕⊖Δ◇"}
    assert max(map(len, plain)) == 2
    assert "质量很" in extract("质量很好", max_n=3)


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("房间很干净", {"⊕"}),
        ("设施陈旧，房间有异味", {"⊖⊖"}),  # words no review category teaches
        ("不太干净", {"⊖"}),  # a negated hit counts for the other side
        ("不是很满意", {"⊖"}),
        ("没有问题", {"⊕"}),
        ("差不多吧，出差用的", set()),  # look-alikes are skipped whole
        ("价格偏贵，但是服务很周到", {"⊖", "⊕"}),  # no ›⊕: a hit after a turn is a hit
    ],
)
def test_lexicon_hits_count_per_clause_with_negation(
    text: str, marks: set[str], lexicon_marks: Callable[[str], set[str]]
) -> None:
    assert lexicon_marks(text) == marks


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        # An item missing from a delivery order: 少送 read as little (少) elsewhere.
        ("少送了一瓶可乐", {"⊖"}),
        ("漏送了米饭，少给了筷子", {"⊖⊖"}),
        ("漏给一份小菜", {"⊖"}),
        # 少 ending a word that is no shortfall, before 送/给: skipped whole.
        ("至少给个说法", set()),
        ("多少给个回复", set()),
        ("加了不少肉，少许盐", set()),
    ],
)
def test_a_missing_item_is_a_complaint_and_its_look_alikes_are_not(
    text: str, marks: set[str], lexicon_marks: Callable[[str], set[str]]
) -> None:
    assert lexicon_marks(text) == marks


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("卫生间很小", set()),
        ("卫生间很小，隔音很差", {"⊖"}),
        ("房间很卫生", {"⊕"}),  # 卫生 alone is still praise
    ],
)
def test_the_bathroom_is_a_room_not_praise_of_hygiene(
    text: str, marks: set[str], lexicon_marks: Callable[[str], set[str]]
) -> None:
    assert lexicon_marks(text) == marks


def _net(text: str) -> set[str]:
    return {f for f in extract(text, general=True) if f[0] in "Δ∇◇"}


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        # Long hotel-style reviews: both emit ⊕⊕ and ⊖⊖; the net says which side has more.
        ("房间很干净，服务很周到，早餐丰富，位置方便，就是隔音有点差，价格偏贵", {"Δ+2"}),
        ("房间有异味，隔音很差，前台态度冷漠，设施陈旧，位置方便，价格便宜", {"Δ-2"}),
        ("很满意，很干净，很方便，很舒服，很热情", {"Δ+3"}),  # capped at three
        ("价格偏贵，但是服务很周到", set()),  # one each way: no net
        ("质量很好", {"Δ+1"}),
    ],
)
def test_net_balance_says_which_side_most_clauses_take(text: str, marks: set[str]) -> None:
    assert {m for m in _net(text) if m[0] == "Δ"} == marks


def test_net_balance_of_the_general_lexicon_is_marked_apart() -> None:
    # 优美 and 低劣 are only on HowNet's list, so only ∇ and the combined ◇ see them.
    assert _net("风景优美，环境优美，质量低劣") == {"∇+1", "◇+1"}
    assert _net("风景优美，环境优美") == {"∇+2", "◇+2"}
    assert not {f for f in extract("风景优美，环境优美") if f[0] in "∇◇"}  # general=False


def test_combined_net_balance_counts_clauses_each_list_reads() -> None:
    # A clause for that the hand list reads (干净), one against that only HowNet reads (低劣):
    # each list sees one side; weighed together the two clauses cancel, so no ◇.
    assert _net("房间干净，质量低劣") == {"Δ+1", "∇-1"}
    # Two clauses for, one against, spread over the two lists: only ◇ sees the majority.
    assert _net("房间干净，风景优美，质量低劣") == {"Δ+1", "◇+1"}


def test_a_lexicon_word_before_any_section_is_an_error_naming_the_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from koubei.pipeline.sentiment.features import load_lexicon

    path = tmp_path / "lexicon.txt"
    path.write_text("# comment\n好评\n[positive]\n满意\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"lexicon\.txt:2: word '好评'"):
        load_lexicon(path)
    path.write_text("[positive]\n满意\n[negative]\n失望\n", encoding="utf-8")
    assert load_lexicon(path) == {"positive": ["满意"], "negative": ["失望"]}


def test_evaluative_words_are_the_lexicons_polar_ones() -> None:
    assert has_evaluative_word("这次的奶太难喝了小王") and has_evaluative_word("很好")
    assert not has_evaluative_word("美食博主小王") and not has_evaluative_word("差不多")


def test_a_monitored_names_features_are_its_bigrams_and_what_holds_it_whole() -> None:
    names = MonitoredNames(["鲜牧", "鲜牧乳业", "蒙牛", "XianMu", "LG", "云"])
    held = [
        "鲜牧", "牧乳", "乳业", "鲜牧乳", "›鲜牧", "¬蒙牛", "+蒙牛", "蒙牛", "蒙牛奶", "的蒙牛",
        "xianmu", "lg", "›lg",
    ]  # fmt: skip
    assert [f for f in held if not names.is_name_feature(f)] == []
    # One character is shared with ordinary words (牛奶, 很牛); so is a Latin letter pair; a
    # bigram with one character of a name (牛很 of 蒙牛很牛) is the neighbour's too; a name of
    # one character (云) would hold every n-gram with it.
    free = ["牧", "牛", "蒙", "+牛", "牛很", "牛的", "xi", "an", "mu", "l", "云", "云朵", "⊕", "§3"]
    assert [f for f in free if names.is_name_feature(f)] == []
    assert not MonitoredNames([]) and not MonitoredNames(["云"]).is_name_feature("云朵")


def test_what_only_a_texts_mentions_of_a_name_give() -> None:
    names = MonitoredNames(["蒙牛", "LG"])
    # 蒙 and 牛 are also in 内蒙古 and 牛奶 (and 很牛): still evidence for them
    assert names.mention_only("蒙牛很牛，内蒙古的牛奶") == set()
    assert names.mention_only("今天买了蒙牛，很蒙牛") == {"蒙", "牛", "+蒙", "+牛", "¬蒙", "¬牛"}
    assert names.mention_only("ＬＧ的冰箱坏了") == {"l", "g", "+l", "+g", "¬l", "¬g"}  # width, case
    assert names.mention_only("algorithm好难") == set()  # lg inside a word is no mention


def test_a_text_read_after_another_has_the_features_it_has_alone() -> None:
    # extract keeps what the clauses of the last text gave, for a long text's sentences read
    # next (model.scored_units): a sentence whose clause came after a contrast in the text (呵呵)
    # and not in the sentence, and a text read with other flags, get what they get read first.
    text = "等了三个小时，真棒。但是包装很好，不太满意；呵呵"
    units = [text, *sentences(text)]
    flags = [(2, True, True, True), (2, True, True, False), (3, True, True, True)]
    alone = {}
    for unit in units:
        for flag in flags:
            extract("另一段话", social=True)  # not part of the text: read afresh
            alone[unit, flag] = extract(unit, *flag)
    for flag in flags:
        assert [extract(unit, *flag) for unit in units] == [alone[u, flag] for u in units]
    assert [extract(u, *f) for u in units for f in flags] == [
        alone[u, f] for u in units for f in flags
    ]
