"""Adapting to unlabelled text of an unseen domain: better calls, the same share, no labels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from koubei.pipeline.sentiment import adaptation, training
from koubei.pipeline.sentiment.model import SentimentModel, load_model

SAMPLE = Path(__file__).parents[2] / "data" / "reviews_sample.csv"
UNSEEN = "书籍"  # books: the category farthest from the other eight after dairy


@pytest.fixture(scope="module")
def without_books() -> tuple[SentimentModel, list[training.Example]]:
    rows = training.load_labelled(SAMPLE)
    model = training.train_model([r for r in rows if r.category != UNSEEN])
    return model, [r for r in rows if r.category == UNSEEN]


def accuracy(model: SentimentModel, rows: list[training.Example]) -> float:
    return sum((model.score(r.text)[0] >= 0.5) == (r.label == 1) for r in rows) / len(rows)


def positive_share(model: SentimentModel, rows: list[training.Example]) -> float:
    return sum(model.score(r.text)[0] >= 0.5 for r in rows) / len(rows)


def test_adapting_to_an_unseen_category_calls_more_of_it_right_and_keeps_its_share(
    without_books: tuple[SentimentModel, list[training.Example]],
) -> None:
    model, books = without_books
    adapted = adaptation.adapt(model, [r.text for r in books])  # the texts only, no label
    assert adapted is not model and adapted.version.startswith(model.version + "+adapted-")
    assert adapted.meta["adapted_on"] == len(books)
    assert accuracy(adapted, books) >= accuracy(model, books) + 0.02
    # Re-ranks, never moves the corpus' share by itself (self-training drifts otherwise).
    assert abs(positive_share(adapted, books) - positive_share(model, books)) <= 0.03
    assert model.weights != adapted.weights and model.version not in {adapted.version}


def test_too_few_texts_with_an_opinion_leave_the_model_as_it_is(
    without_books: tuple[SentimentModel, list[training.Example]],
) -> None:
    model, books = without_books
    few = [r.text for r in books[: adaptation.MIN_TEXTS - 1]] + ["转发微博"] * 50  # no opinion
    assert adaptation.adapt(model, few) is model


def test_adapt_and_score_gives_every_text_the_adapted_models_own_score(
    without_books: tuple[SentimentModel, list[training.Example]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scores from the kept features are the adapted model's scores of each text alone, no-opinion
    lines and reposts included; also when the corpus is larger than MAX_TEXTS and is sampled."""
    model, books = without_books
    texts = [r.text for r in books] + ["转发微博", "", "好评//@某人:太差了", "[怒][怒]"]
    for cap in (adaptation.MAX_TEXTS, len(books) // 2):
        monkeypatch.setattr(adaptation, "MAX_TEXTS", cap)
        adapted, scored = adaptation.adapt_and_score(model, texts)
        assert adapted is not model and adapted.meta["adapted_on"] == min(cap, len(books) + 1)
        alone = [adapted.score(t) for t in texts]
        assert [label for _, label in scored] == [label for _, label in alone]
        assert max(abs(a[0] - b[0]) for a, b in zip(scored, alone, strict=True)) < 1e-12
        assert scored[-4:-2] == [(0.5, "no_opinion")] * 2 and scored[-2][1] == "positive"
    few = texts[: adaptation.MIN_TEXTS - 1]
    same, scored = adaptation.adapt_and_score(model, few)
    assert same is model and scored == [model.score(t) for t in few]


def test_cli_scores_adapted_by_default_and_writes_the_adapted_model(tmp_path: Path) -> None:
    rows = training.load_labelled(SAMPLE)
    texts = tmp_path / "books.txt"
    texts.write_text("\n".join(r.text for r in rows if r.category == UNSEEN) + "\n")
    cli = [sys.executable, "-m", "koubei", "sentiment"]  # python -m koubei, as a checkout runs it
    scored = subprocess.run([*cli, "score", str(texts)], capture_output=True, text=True, check=True)
    lines = [json.loads(line) for line in scored.stdout.splitlines()]
    shipped = load_model().version
    assert len(lines) == len(texts.read_text().splitlines())
    assert {line["model_version"] for line in lines} == {next(iter(lines))["model_version"]}
    assert lines[0]["model_version"].startswith(shipped + "+adapted-")
    assert "adapted " in scored.stderr and "confident calls" in scored.stderr
    out = tmp_path / "books.json.gz"
    subprocess.run([*cli, "adapt", str(texts), "--out", str(out)], check=True, capture_output=True)
    assert load_model(out).version == lines[0]["model_version"]  # the same file, the same model
    # --no-adapt: every text the score it gets alone, by the shipped model, on two processes too.
    for extra in ([], ["--processes", "2"]):
        plain = subprocess.run(
            [*cli, "score", str(texts), "--no-adapt", *extra],
            capture_output=True,
            text=True,
            check=True,
        )
        alone = [json.loads(line) for line in plain.stdout.splitlines()]
        assert {line["model_version"] for line in alone} == {shipped}
        assert len(alone) == len(lines) and plain.stderr == ""
        assert [a["score"] for a in alone] != [b["score"] for b in lines]
