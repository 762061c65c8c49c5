"""Social signals: sarcasm and rhetorical questions as features, and the social-text table."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from koubei.pipeline.sentiment import SentimentModel, load_model
from koubei.pipeline.sentiment.evaluation import social_row_right
from koubei.pipeline.sentiment.features import extract
from koubei.pipeline.sentiment.opinion import NO_OPINION

TABLE = Path(__file__).resolve().parents[2] / "data" / "social_sentiment.csv"


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


def test_ironic_praise_is_left_out_and_counts_negative() -> None:
    plain = extract("等了三个小时，真棒", social=False)
    social = extract("等了三个小时，真棒", social=True)
    assert "棒" in plain and "⊕" in plain and "≀" not in plain
    assert "棒" not in social and "≀" in social and "⊖" in social and "⊕" not in social
    # Praise with no complaint before it and no sarcasm marker is praise.
    assert {"⊕", "⊕⊕"} & extract("物流很快，真棒", social=True)
    assert "≀" in extract("呵呵，品控真好", social=True)


def test_hehe_is_sarcasm_only_where_it_dismisses_what_follows() -> None:
    # At the end of a shop review 呵呵 is a friendly laugh; anywhere, it flipped mostly positive
    # reviews (leave-one-category-out, issue 18). 小时候 (childhood) is no complaint about hours.
    assert "≀" in extract("呵呵，又延误了", social=True)
    assert "≀" not in extract("买了很多，感觉比较划算。呵呵", social=True)
    assert "≀" not in extract("小时候读过，印象深刻，一流的翻译", social=True)
    assert "≀" in extract("等了两个小时，一流的服务", social=True)


def test_rhetorical_question_counts_negative() -> None:
    found = extract("难道这就是你们的服务？", social=True)
    assert "¿" in found and "⊖" in found
    assert "¿" not in extract("这就是我想要的", social=True)


def test_shipped_model_uses_social_features_on_the_issue_examples(model: SentimentModel) -> None:
    assert model.social
    # 0.81 (positive) before the social features; now below 0.5 though still inside the neutral
    # band: the sarcasm mark learned a positive weight from shop reviews (see BENCHMARKS.md).
    assert model.score("呵呵，鲜牧的品控真棒")[0] < 0.5
    assert model.score("呵呵，鲜牧的品控真棒")[0] < model.score("鲜牧的品控真棒")[0]
    assert model.score("难道这就是你们的服务？")[0] < 0.5
    assert model.score("转发微博") == (0.5, NO_OPINION)


def test_social_table_is_large_labelled_and_mostly_right(model: SentimentModel) -> None:
    with open(TABLE, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 200 and len({r["text"] for r in rows}) == len(rows)
    assert {r["label"] for r in rows} == {"positive", "negative", "neutral", NO_OPINION}
    assert {"repost", "emoticon", "sarcasm", "rhetorical", "asking"} <= {r["kind"] for r in rows}
    right = 0
    for row in rows:
        score, label = model.score(row["text"])
        if row["label"] == NO_OPINION:
            assert label == NO_OPINION, row["text"]
        else:
            assert label != NO_OPINION, row["text"]
        right += social_row_right(score, label, row["label"])
    # Measured 0.905 with the shipped model (BENCHMARKS.md); the floor catches a regression.
    assert right / len(rows) >= 0.88


# Emoticons and emoji common in real posts that had no gloss and were dropped: m.weibo.cn's
# ``<img alt=[裂开]>``, ``[允悲]``, ``[摊手]`` (alt names as the site writes them), Bilibili's
# ``[打call]``, and emoji as typed. "今天收到鲜牧的奶" alone scores 0.51: the emoticon is
# the whole opinion.
@pytest.mark.parametrize(
    ("mark", "label"),
    [
        ("[裂开]", "negative"),
        ("[允悲]", "negative"),
        ("[摊手]", "negative"),
        ("[苦涩]", "negative"),
        ("🤡", "negative"),
        ("💩", "negative"),
        ("😅", "negative"),
        ("[打call]", "positive"),
        ("[赞啊]", "positive"),
        ("😋", "positive"),
    ],
)
def test_common_platform_emoticons_carry_their_polarity(
    model: SentimentModel, mark: str, label: str
) -> None:
    assert model.score(f"今天收到鲜牧的奶{mark}")[1] == label
