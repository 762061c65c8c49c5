"""Intent to come back or buy again (还会再买, 下次还会光顾) reads as praise.

Before session 37 the shipped model scored 还会再买 0.375 (negative): its bigram 再买 comes
mostly from 不会再买 in the shop reviews, and the model's n-grams stop at two characters, so
还会再 (245 positive reviews to 4) could not outweigh it. The longer phrases are now on the
hand lexicon (``lexicon.txt``), whose negation rule keeps 不会再买 negative.
"""

from __future__ import annotations

import pytest

from koubei.pipeline.sentiment import SentimentModel, load_model
from koubei.pipeline.sentiment.features import extract


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


@pytest.mark.parametrize(
    "text", ["还会再买", "还会再买的", "下次还会光顾", "以后还会购买", "会继续购买", "还会继续支持"]
)
def test_intent_to_come_back_is_praise(model: SentimentModel, text: str) -> None:
    assert model.score(text)[1] == "positive", model.score(text)


@pytest.mark.parametrize(
    "text", ["不会再买了", "再也不会买了", "下次不会光顾了", "质量太差，谁还会再买"]
)
def test_refusing_to_come_back_stays_a_complaint(model: SentimentModel, text: str) -> None:
    assert model.score(text)[1] == "negative", model.score(text)


def test_the_phrase_is_one_lexicon_hit_not_a_negated_one() -> None:
    assert "⊕" in extract("还会再买") and "⊖" not in extract("还会再买")
    # 不会再 is no hit of 还会再; the negation of 买 … is left to the n-grams and ¬ marks.
    assert "⊕" not in extract("不会再买了")
