"""A turn written without a comma (位置不错但是房间很旧) is read as a contrast.

Before session 39 a clause was split on punctuation only, so 味道不错但是送得太慢了 was one
clause without the ``›`` marks of the part after a turn, and the shipped model scored it 0.50
against 0.73 with the comma. Now the two are one text to the features. Whether the verdict is
the complaint is the model's call, not the split's: 位置不错，但是房间很旧 scored 0.91 with the
comma before the change and after it (房间很旧 alone is only 0.34). A lexicon hit after a turn
also emitted ``›⊖``/``›⊕``, whose weights shop reviews taught the wrong way round (好，就是…慢了点
is praise there); they are gone.
"""

from __future__ import annotations

import pytest

from koubei.pipeline.sentiment import SentimentModel, load_model
from koubei.pipeline.sentiment.features import clauses, extract


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("位置不错但是房间很旧", ["位置不错", "但是房间很旧"]),
        ("个头小但很甜", ["个头小", "但很甜"]),
        ("服务好，就是早餐一般但是价格不贵", ["服务好", "就是早餐一般", "但是价格不贵"]),
    ],
)
def test_a_turn_inside_a_clause_starts_a_clause(text: str, parts: list[str]) -> None:
    assert clauses(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        "不但便宜而且好用",  # 不但: "not only"
        "质量不但好而且便宜",
        "世上但凡有一点办法",  # 但凡: "if at all"
        "我们但愿下次更好",  # 但愿: "may it"
        "但是很好",  # already at the start of its clause
        "好但",  # fewer than two characters before it
        "再好不过了",  # only 但 splits: 不过 is mostly no turn inside a clause
        "味道还行就是送得太慢",  # nor 就是 (就是好)
    ],
)
def test_words_that_are_no_turn_leave_the_clause_whole(text: str) -> None:
    assert clauses(text) == [text]


def test_the_part_after_the_turn_is_marked_as_after_a_contrast() -> None:
    features = extract("位置不错但是房间很旧")
    assert "›房间" in features and "›位置" not in features


def test_a_lexicon_hit_after_a_turn_has_no_mark_of_its_own() -> None:
    assert not {f for f in extract("价格偏贵，但是服务很周到") if f.startswith("›⊕")}
    assert not {f for f in extract("质量很好，就是物流太差") if f.startswith("›⊖")}


@pytest.mark.parametrize(
    "text", ["位置不错但是房间很旧", "味道不错但是送得太慢了", "环境还可以但是服务太差"]
)
def test_a_turn_without_a_comma_scores_as_with_one(model: SentimentModel, text: str) -> None:
    assert model.score(text) == model.score(text.replace("但是", "，但是"))


def test_a_complaint_after_a_turn_without_a_comma_is_still_a_complaint(
    model: SentimentModel,
) -> None:
    assert model.score("环境还可以但是服务太差")[1] == "negative"
