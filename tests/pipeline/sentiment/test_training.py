"""Training on the committed review sample: split hygiene, learning, calibration, round trip."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.evaluation import evaluate
from koubei.pipeline.sentiment.model import SentimentModel
from koubei.pipeline.sentiment.training import (
    Example,
    LabelledDataError,
    cap_per_category,
    consistency,
    load_labelled,
    platt,
    split,
    train_model,
)
from tests.data import REVIEWS_SAMPLE

DATA = REVIEWS_SAMPLE


@pytest.fixture(scope="module")
def rows() -> list[Example]:
    return load_labelled(DATA)


@pytest.fixture(scope="module")
def small(rows: list[Example]) -> tuple[list[Example], list[Example]]:
    train, held = split(rows)
    return train, held


@pytest.fixture(scope="module")
def small_model(small: tuple[list[Example], list[Example]]) -> SentimentModel:
    return train_model(small[0], epochs=1)


def test_labelled_rows_are_deduplicated_and_split_deterministically(rows: list[Example]) -> None:
    texts = [r.text for r in rows]
    assert len(texts) == len(set(texts)) > 2000
    train, held = split(rows)
    assert len(held) == int(len(rows) * 0.2)
    assert not {r.text for r in train} & {r.text for r in held}
    assert split(rows)[1] == held


def test_a_small_model_learns_and_generalises(
    small: tuple[list[Example], list[Example]], small_model: SentimentModel
) -> None:
    result = evaluate(small_model.probability_aggregated, small[1], neutral=small_model.neutral)
    assert result["accuracy"] > 0.85
    assert result["positive"]["f1"] > 0.8 and result["negative"]["f1"] > 0.8
    assert small_model.meta["trained_on"] + small_model.meta["calibrated_on"] == len(small[0])
    assert small_model.version.startswith("nb-")


def test_pure_bayes_table_also_works(small: tuple[list[Example], list[Example]]) -> None:
    bayes_only = train_model(small[0][:2000], epochs=0)
    assert evaluate(bayes_only.probability, small[1])["accuracy"] > 0.8


def test_save_and_load_round_trip(small_model: SentimentModel, tmp_path: Path) -> None:
    path = small_model.save(tmp_path / "m.json.gz")
    loaded = load_model(path)
    assert loaded.version == small_model.version
    for text in ["很好", "不太满意", "物流慢，包装破了[怒]"]:
        assert loaded.score(text) == small_model.score(text)


def test_a_quote_never_closed_is_named_at_its_row_not_read_to_the_end(tmp_path: Path) -> None:
    # Read to the end of the file as one review: 3 rows evaluated as 1, without a word.
    data = tmp_path / "reviews.csv"
    data.write_text('label,review\n1,"很好\n0,太差\n1,不错\n', encoding="utf-8")
    with pytest.raises(LabelledDataError) as caught:
        load_labelled(data)
    assert str(caught.value) == f"{data}:2: not a CSV row (a quote opened here is never closed)"


def test_a_row_with_more_fields_than_the_header_is_named(tmp_path: Path) -> None:
    # A review with an unquoted comma was cut there and the rest dropped: trained on as "好".
    data = tmp_path / "reviews.csv"
    data.write_text(
        'cat,label,review\n书籍,1,好,很好\n书籍,0,"差,很差"\n书籍;1;x\n', encoding="utf-8"
    )
    with pytest.raises(LabelledDataError) as caught:
        load_labelled(data)
    assert str(caught.value).splitlines() == [
        f"{data}:2: 4 fields, the header has 3 (quote a review holding ',')",
        f"{data}:4: label '' is not 0 or 1",
    ]


def test_platt_recovers_a_known_calibration() -> None:
    rng = random.Random(1)
    logits = [rng.uniform(-6, 6) for _ in range(20_000)]
    labels = [int(rng.random() < 1 / (1 + math.exp(-(0.5 * z - 1.0)))) for z in logits]
    a, b = platt(logits, labels)
    assert a == pytest.approx(0.5, abs=0.05)
    assert b == pytest.approx(-1.0, abs=0.1)


def test_consistency_favours_polarity_that_holds_across_categories() -> None:
    sets: list[set[str]] = []
    labels: list[int] = []
    cats: list[str] = []
    for cat, flip in (("a", False), ("b", True)):
        for i in range(40):
            y = i % 2
            fs = {"好" if y else "差", "common"}
            if cat == "a" and y:
                fs.add("本地")  # polarised, but seen in one category only
            # "书" is positive in a and negative in b: product vocabulary, not sentiment
            if y != flip:
                fs.add("书")
            sets.append(fs)
            labels.append(y)
            cats.append(cat)
    score = consistency(sets, labels, cats)
    assert score["好"] == pytest.approx(1.0) and score["差"] == pytest.approx(1.0)
    assert score.get("书", 0.0) < 0.05
    assert score["本地"] == pytest.approx(0.5)
    assert score.get("common", 0.0) < 0.05


def test_cap_per_category_keeps_the_first_rows_of_each() -> None:
    assert cap_per_category(["a", "b", "a", "a", "b"], cap=2) == [0, 1, 2, 4]


def test_model_remembers_its_ngram_setting(
    small: tuple[list[Example], list[Example]], tmp_path: Path
) -> None:
    model = train_model(small[0][:1500], epochs=0, max_n=3)
    assert model.max_n == 3 and any(len(f) == 3 and f[0] not in "¬+›§⊕⊖" for f in model.weights)
    loaded = load_model(model.save(tmp_path / "m3.json.gz"))
    assert loaded.max_n == 3
    assert loaded.score("质量很好") == model.score("质量很好")


def test_model_remembers_its_lexicon_setting(
    small: tuple[list[Example], list[Example]], tmp_path: Path
) -> None:
    plain = train_model(small[0][:1500], epochs=0, lexicon=False)
    with_lexicon = train_model(small[0][:1500], epochs=0)
    assert not any(f.lstrip("›")[:1] in "⊕⊖" for f in plain.weights)
    assert {"⊕", "⊖"} <= set(with_lexicon.weights)
    assert with_lexicon.weights["⊕"] > 0 > with_lexicon.weights["⊖"]
    loaded = load_model(with_lexicon.save(tmp_path / "lex.json.gz"))
    assert loaded.lexicon and not load_model(plain.save(tmp_path / "plain.json.gz")).lexicon
    assert loaded.score("房间有异味") == with_lexicon.score("房间有异味")
