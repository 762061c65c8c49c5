"""A comparison with an earlier time says which way something changed (features._THAN_BEFORE).

Before session 42 such a clause had no lexicon mark (少, 小, 快, 淡 are no lexicon words) and its
n-grams leaned the wrong way: `分量比以前少多了` scored 0.58 (多了 is praise in shop reviews), a
complaint read as praise. Now a comparison with 以前, 之前, 上次, 原来 … followed by a level word
counts in the clause's lexicon balance: less, smaller, dearer, slower, blander as a complaint;
more, better, faster, cheaper as praise.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from koubei.pipeline.sentiment import SentimentModel, load_model


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


@pytest.mark.parametrize("text", ["分量比以前少多了", "味道比以前淡了", "这次比之前小了一圈"])
def test_worse_than_before_is_a_complaint(model: SentimentModel, text: str) -> None:
    assert model.score(text)[1] == "negative", model.score(text)


@pytest.mark.parametrize("text", ["比之前快多了", "这次送得比上次快", "分量比以前多了"])
def test_better_than_before_is_praise(model: SentimentModel, text: str) -> None:
    assert model.score(text)[1] == "positive", model.score(text)


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("分量比以前少多了", {"⊖"}),
        ("肉比上次的少", {"⊖"}),  # 的 after the time word
        ("送得比之前慢", {"⊖"}),
        ("比原来便宜", {"⊕"}),
        ("包装比以前好多了", {"⊕"}),
        ("分量比以前少，味道比以前好", {"⊖", "⊕"}),  # one clause each
        # No earlier time, or the level word too far: no mark of its own.
        ("比外面的少", set()),
        ("肉少多了", set()),
        ("比以前买的那个手机小", set()),
    ],
)
def test_the_comparison_counts_in_the_clause_balance(
    text: str, marks: set[str], lexicon_marks: Callable[[str], set[str]]
) -> None:
    assert lexicon_marks(text) == marks
