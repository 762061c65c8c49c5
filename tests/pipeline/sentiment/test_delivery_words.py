"""Food-delivery mishaps and portions (洒, 漏, 凉, 坨, 糊, 塌; 量足, 分量少) carry their polarity.

Before session 41 none of them was on the hand lexicon, so the negation rule could not flip
them: a review saying the soup did not spill (汤也没洒) had only the n-grams of 洒, which shop
reviews learned from spilt shampoo, and scored negative (外卖送到汤也没洒 0.31, 奶茶一滴没洒
0.36). Now each mishap is a complaint word whose negation counts as praise, and the words that
hold its character in another sense (花洒, 地漏, 凉快, 香迷糊了) are skipped.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from koubei.pipeline.sentiment import SentimentModel, load_model


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


@pytest.mark.parametrize(
    "text",
    ["外卖送到汤也没洒", "奶茶一滴没洒", "饭盒没漏，挺严实的", "送到的时候饭还没有凉", "分量够足"],
)
def test_a_mishap_that_did_not_happen_is_praise(model: SentimentModel, text: str) -> None:
    assert model.score(text)[1] == "positive", model.score(text)


@pytest.mark.parametrize(
    "text",
    [
        "奶茶洒了一半",
        "餐盒漏了一袋子油",
        "饭都凉透了",
        "面坨成一团",
        "分量少得可怜",
        "房间有装修味",
    ],
)
def test_the_mishap_itself_stays_a_complaint(model: SentimentModel, text: str) -> None:
    assert model.score(text)[1] == "negative", model.score(text)


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("汤洒了", {"⊖"}),
        ("一点没洒", {"⊕"}),  # a negated hit counts for the other side
        ("没有凉", {"⊕"}),
        ("面坨了，肉也糊了", {"⊖⊖"}),
        ("量很足", {"⊕"}),
        ("分量少", {"⊖"}),
        # The same characters in words of another sense: skipped whole.
        ("花洒出水很大", set()),
        ("地漏在淋浴间", set()),
        ("房间很凉快", set()),
        ("香迷糊了", set()),
        ("点了凉菜和凉皮", set()),
    ],
)
def test_mishap_and_portion_words_are_lexicon_hits(
    text: str, marks: set[str], lexicon_marks: Callable[[str], set[str]]
) -> None:
    assert lexicon_marks(text) == marks
