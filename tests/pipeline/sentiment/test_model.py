"""The shipped model: load budget, scores in [0, 1], labels, negation, emoticons, records."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from koubei.model import Sentiment
from koubei.pipeline.sentiment import DEFAULT_MODEL, SentimentModel, load_model


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


def test_shipped_model_is_small() -> None:
    # Load time and memory are measured by `python -m bench sentiment` (BENCHMARKS.md), not here:
    # a timed test fails on a busy machine and proves nothing on an idle one.
    assert DEFAULT_MODEL.stat().st_size < 20 * 1024 * 1024


def test_scores_are_probabilities_with_consistent_labels(model: SentimentModel) -> None:
    texts = ["非常满意，下次还来", "垃圾，退货", "今天收到", "", "   "]
    for (score, label), text in zip(model.score_many(texts), texts, strict=True):
        assert 0.0 <= score <= 1.0
        assert label == (model.label_for(score) if text.strip() else "no_opinion")
        assert (score, label) == model.score(text)
    assert model.score("") == (0.5, "no_opinion")


@pytest.mark.parametrize(
    ("positive", "negative"),
    [
        ("高兴", "不高兴"),
        ("满意", "不太满意"),
        ("好", "一点也不好"),
        ("喜欢", "不喜欢"),
        ("值得", "不值得"),
        ("还会买", "再也不买了"),
        ("收到了，哈哈[赞]", "收到了[怒][怒]"),
        ("收到了👍", "收到了😡"),
    ],
)
def test_negation_and_emoticons_move_polarity(
    model: SentimentModel, positive: str, negative: str
) -> None:
    assert model.score(positive)[0] > 0.5 > model.score(negative)[0]


def test_one_angry_sentence_is_not_drowned_in_a_long_post(model: SentimentModel) -> None:
    polite = (
        "包装很精美，拆开的时候心情很好。颜色和图片一样，没有色差。尺码也合适，按平时的码买的。"
        "朋友看了都说好看，问我在哪里买的。发货速度还可以，三天就到了。"
    )
    angry = "穿了一次就开线了，简直是垃圾，气死我了！"
    whole = model.probability(polite + angry)
    assert model.score(polite + angry)[0] < whole
    assert model.score(polite + angry)[0] < model.score(polite)[0]


def test_score_record_sets_a_valid_sentiment_from_clean_text(model: SentimentModel) -> None:
    record = {"text_raw": "<b>垃圾</b>", "text_clean": "质量非常好，很满意"}
    out = model.score_record(record)
    assert out is record
    Sentiment.model_validate(out["sentiment"])
    assert out["sentiment"]["label"] == "positive"
    assert out["sentiment"]["model_version"] == model.version
    fallback = model.score_record({"text_raw": "质量太差了，退货"})
    assert fallback["sentiment"]["label"] == "negative"


def test_scoring_is_fast(model: SentimentModel) -> None:
    texts = ["物流很快，质量不错，就是价格有点贵，总体满意"] * 2000
    start = time.perf_counter()
    model.score_many(texts)
    assert time.perf_counter() - start < 4.0  # > 500 docs/s even on a loaded shared machine


def test_load_rejects_files_that_are_not_models(tmp_path: Path) -> None:
    import gzip

    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(b"not json"))
    with pytest.raises(ValueError, match="not a sentiment model"):
        load_model(bad)
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.json.gz")
