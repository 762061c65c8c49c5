"""Leave-one-category-out: folds never train on the left-out category and report per category."""

from __future__ import annotations

import pytest

from koubei.pipeline.sentiment.evaluation import leave_one_category_out
from koubei.pipeline.sentiment.model import SentimentModel
from koubei.pipeline.sentiment.training import Example, load_labelled, split, train_model
from tests.data import REVIEWS_SAMPLE

DATA = REVIEWS_SAMPLE


@pytest.fixture(scope="module")
def splits() -> tuple[list[Example], list[Example]]:
    return split(load_labelled(DATA))


def test_folds_leave_the_category_out_and_report_per_category(
    splits: tuple[list[Example], list[Example]],
) -> None:
    train_rows, held = splits
    seen: list[set[str]] = []

    def train(rows: list[Example]) -> SentimentModel:
        seen.append({r.category for r in rows})
        return train_model(rows, epochs=1)

    result = leave_one_category_out(
        train_rows, held, ["水果", "书籍"], train, max_train=1500, per_category=30, stock=True
    )
    assert "水果" not in seen[0] and "书籍" not in seen[1]
    assert "书籍" in seen[0] and len(seen[0]) == 8
    assert list(result["categories"]) == ["水果", "书籍"]
    for entry in result["categories"].values():
        assert entry["n"] == 30 and entry["train_n"] == 1500
        assert 0.0 <= entry["stock"] <= 1.0
    every = [r for r in (*train_rows, *held) if r.category == "书籍"]
    assert result["categories"]["书籍"]["n_all"] == len(every) > 250
    # Fruit reviews are short and plain: even a 1,500-row model trained without them transfers.
    assert result["categories"]["水果"]["koubei"] > 0.7
    means = result["mean"]
    assert means["koubei"] == pytest.approx(
        sum(e["koubei"] for e in result["categories"].values()) / 2, abs=1e-4
    )


def test_unknown_category_is_an_error(splits: tuple[list[Example], list[Example]]) -> None:
    with pytest.raises(ValueError, match="no held-out rows"):
        leave_one_category_out(splits[0][:100], splits[1], ["no such"], stock=False)
