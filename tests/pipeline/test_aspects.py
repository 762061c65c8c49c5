"""Aspect sentiment: clause-level scores per configured aspect."""

from __future__ import annotations

from pathlib import Path

import pytest

from koubei.config import ConfigError
from koubei.model import AspectSentiment
from koubei.pipeline.aspects import AspectLexicon, find_aspects, load_aspects, tag_aspects
from koubei.pipeline.sentiment import SentimentModel, load_model


@pytest.fixture(scope="module")
def model() -> SentimentModel:
    return load_model()


@pytest.fixture(scope="module")
def lexicon() -> AspectLexicon:
    return load_aspects()


def test_shipped_lexicon_has_the_review_aspects() -> None:
    names = set(load_aspects().aspects)
    assert {
        "logistics",
        "quality",
        "price",
        "customer_service",
        "packaging",
        "size_fit",
        "taste",
        "effect",
    } <= names


def test_each_aspect_gets_its_own_clause_sentiment(
    model: SentimentModel, lexicon: AspectLexicon
) -> None:
    record = {"text_clean": "物流很快，第二天就到了，但是包装破了，客服态度也很差。质量还不错。"}
    out = tag_aspects(record, model, lexicon)
    assert out is record
    by_name = {a["aspect"]: a for a in out["aspects"]}
    assert set(by_name) == {"logistics", "packaging", "customer_service", "quality"}
    assert by_name["logistics"]["label"] == "positive"
    assert by_name["packaging"]["label"] == "negative"
    assert by_name["customer_service"]["label"] == "negative"
    assert by_name["quality"]["score"] > 0.5
    assert by_name["packaging"]["sentence"] == "但是包装破了"
    for aspect in out["aspects"]:
        AspectSentiment.model_validate(aspect)


def test_text_without_aspects_gets_an_empty_list(
    model: SentimentModel, lexicon: AspectLexicon
) -> None:
    assert tag_aspects({"text_raw": "今天星期三"}, model, lexicon)["aspects"] == []
    assert tag_aspects({}, model, lexicon)["aspects"] == []


def test_custom_lexicon_and_longest_keyword_wins(tmp_path: Path) -> None:
    path = tmp_path / "aspects.yaml"
    path.write_text(
        "aspects:\n  box: {keywords: [外包装]}\n  wrap: {keywords: [包装]}\n", encoding="utf-8"
    )
    lexicon = load_aspects(path)
    assert find_aspects("外包装压扁了，包装纸也破了", lexicon) == {
        "box": ["外包装压扁了"],
        "wrap": ["包装纸也破了"],
    }


def test_invalid_lexicon_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "aspects.yaml"
    path.write_text("aspects:\n  price: {keywords: []}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"aspects\.yaml.*aspects\.price\.keywords"):
        load_aspects(path)
