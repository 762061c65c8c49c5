"""A shop's stand-in text for a review the buyer never wrote carries no opinion.

The texts are the platforms' own (sources in tests/crawlers/spiders/pages/README.md: a public
Taobao review model's ``DEFAULT_CONTENTS``, greasyfork script 523367 for Taobao/Tmall, JD's
``此用户未填写评价内容`` in public JD spiders). Before, the model scored most of them negative
(``评价方未及时做出评价,系统默认好评!`` 0.31), which raised a product's negative share with every
review a buyer left blank.
"""

from __future__ import annotations

import pytest

from koubei.pipeline.clean import clean_text
from koubei.pipeline.sentiment import SentimentModel, load_model
from koubei.pipeline.sentiment.opinion import NO_OPINION


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


@pytest.mark.parametrize(
    "text",
    [
        "此用户没有填写评价。",
        "评价方未及时做出评价,系统默认好评!",
        "系统默认评论",
        "15天内买家未作出评价",
        "该用户未及时主动评价，系统默认好评",
        "该用户觉得商品非常好，给出5星好评",
        "该用户未填写评价内容",
        "此用户未填写评价内容",
    ],
)
def test_stand_in_texts_have_no_opinion(model: SentimentModel, text: str) -> None:
    assert model.score(clean_text(text)) == (0.5, NO_OPINION)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("系统默认好评的都不可信，这奶喝出异味了", "negative"),
        ("此用户没有填写评价。追评：奶很新鲜，孩子爱喝", "positive"),
    ],
)
def test_a_buyer_quoting_one_is_still_scored(model: SentimentModel, text: str, label: str) -> None:
    assert model.score(text)[1] == label
