"""Latin-letter evaluations (nice, yyds) and social-media slang (踩雷, 闭眼入) in posts.

Before session 35 the shipped model knew none of them: "鲜牧yyds", "nice" and "Thanks!" were
negative mentions (a text of unknown letters scores about 0.35), and 闭眼入 ("buy it without
looking"), 宝藏 and 永远的神 were negative too, so a brand's fans raised its negative share.
"""

from __future__ import annotations

import pytest

from koubei.pipeline.clean.emoticons import replace_with_gloss
from koubei.pipeline.sentiment import SentimentModel, load_model
from koubei.pipeline.sentiment.features import extract


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("鲜牧yyds", "positive"),
        ("nice", "positive"),
        ("这个奶good", "positive"),
        ("Thanks!", "positive"),
        ("鲜牧 not bad", "positive"),
        ("awsl，鲜牧的新包装", "positive"),
        ("鲜牧的奶闭眼入", "positive"),
        ("宝藏牛奶，被同事种草了", "positive"),
        ("鲜牧永远的神", "positive"),
        ("又踩雷了", "negative"),
        ("鲜牧翻车了", "negative"),
        ("智商税，大家避雷", "negative"),
        ("terrible service", "negative"),
        ("鲜牧 not good", "negative"),
        ("wtf 又涨价", "negative"),
    ],
)
def test_slang_and_english_carry_their_polarity(
    model: SentimentModel, text: str, label: str
) -> None:
    assert model.score(text)[1] == label, model.score(text)


def test_negated_slang_counts_for_the_other_side(model: SentimentModel) -> None:
    # The lexicon's negation rule applies to the new words as to the old: 不踩雷 is praise.
    assert model.score("不踩雷")[1] == "positive"
    assert model.score("这次不踩雷")[0] > model.score("这次踩雷")[0] + 0.3


@pytest.mark.parametrize("text", ["nba比赛", "goods", "nb1型号", "notebook", "bad2"])
def test_latin_words_are_glossed_whole_only(text: str) -> None:
    # Inside another word or a model number the letters are no evaluation.
    assert replace_with_gloss(text) == text


def test_gloss_reaches_the_features_not_the_letters() -> None:
    found = extract("鲜牧yyds", social=True, lexicon=True)
    assert "yy" not in found and {"⊕", "⊕⊕"} & found
    # "not bad" is one phrase, however many spaces: read as 不错, never as "bad".
    assert replace_with_gloss("not   bad") == "，不错，"


# Bilibili's official emoticons as public reply bots sort them (pipeline/clean/emoticons.py):
# dropped without a gloss before, so "收到鲜牧的奶[星星眼]" was as neutral as the bare words.
@pytest.mark.parametrize(
    ("mark", "label"),
    [
        ("[星星眼]", "positive"),
        ("[给心心]", "positive"),
        ("[妙啊]", "positive"),
        ("[辣眼睛]", "negative"),
        ("[嫌弃]", "negative"),
        ("[大哭]", "negative"),
    ],
)
def test_bilibili_emoticons_carry_their_polarity(
    model: SentimentModel, mark: str, label: str
) -> None:
    assert model.score("收到鲜牧的奶")[1] == "neutral"
    assert model.score(f"收到鲜牧的奶{mark}")[1] == label
