"""Adapting to unlabelled text of an unseen domain: better calls, the same share, no labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from itertools import pairwise
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
    lines and reposts included; also when the corpus has more than MAX_TEXTS texts or
    MAX_CHARACTERS characters and is sampled."""
    model, books = without_books
    texts = [r.text for r in books] + ["转发微博", "", "好评//@某人:太差了", "[怒][怒]"]
    characters = sum(map(len, texts))
    monkeypatch.setattr(adaptation, "MIN_TEXTS", 100)  # (280 books: a sample of fewer than 200)
    for cap, held in (
        (adaptation.MAX_TEXTS, adaptation.MAX_CHARACTERS),
        (len(books) // 2, adaptation.MAX_CHARACTERS),
        (adaptation.MAX_TEXTS, characters // 2),
    ):
        monkeypatch.setattr(adaptation, "MAX_TEXTS", cap)
        monkeypatch.setattr(adaptation, "MAX_CHARACTERS", held)
        adapted, scored = adaptation.adapt_and_score(model, texts)
        assert adapted is not model
        if held < characters:  # about a half less a sixteenth of the texts, evenly spread
            assert len(books) * 0.4 < adapted.meta["adapted_on"] < len(books) * 0.5
        else:
            assert adapted.meta["adapted_on"] == min(cap, len(books) + 1)
        alone = [adapted.score(t) for t in texts]
        assert [label for _, label in scored] == [label for _, label in alone]
        assert max(abs(a[0] - b[0]) for a, b in zip(scored, alone, strict=True)) < 1e-12
        assert scored[-4:-2] == [(0.5, "no_opinion")] * 2 and scored[-2][1] == "positive"
    few = texts[: adaptation.MIN_TEXTS - 1]
    same, scored = adaptation.adapt_and_score(model, few)
    assert same is model and scored == [model.score(t) for t in few]


def test_adapting_labels_a_question_asking_others_neutral_as_score_does(
    without_books: tuple[SentimentModel, list[training.Example]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``koubei sentiment score`` adapts by default: its labels come from ``adapt_and_score``,
    which must read an asking post (``opinion.asks_without_judging``) as ``score`` does."""
    model, books = without_books
    texts = [r.text for r in books] + ["有人喝过鲜牧吗"]
    monkeypatch.setattr(adaptation, "MIN_TEXTS", 100)
    adapted, scored = adaptation.adapt_and_score(model, texts)
    assert adapted is not model
    assert scored[-1][1] == "neutral" and scored[-1] == adapted.score(texts[-1])


def test_a_corpus_of_long_texts_is_sampled_to_the_characters_it_may_hold() -> None:
    """Adapting holds the texts it reads as ids and features: a corpus within MAX_TEXTS but of
    long texts is sampled evenly so that they fit MAX_CHARACTERS (with a sixteenth of the whole
    corpus', held to be scored); review-length corpora are read whole."""
    short, hotel = ["好" * 49] * 12_000, ["好" * 130] * 7_800  # food delivery, hotel reviews
    assert adaptation._sample(short) == list(range(12_000))
    assert adaptation._sample(hotel) == list(range(7_800))
    long = ["好" * 490] * 12_000
    positions = adaptation._sample(long)
    held = 490 * len(positions) + sum(map(len, long)) // 16
    assert held <= adaptation.MAX_CHARACTERS < held + 490 * 20  # as many as fit, nearly
    assert positions == sorted(set(positions)) and positions[0] == 0
    steps = {b - a for a, b in pairwise(positions)}
    assert steps <= {7, 8} and positions[-1] >= 12_000 - 8  # evenly, through the end
    # A corpus so big that a sixteenth of it leaves little room: half the budget is sampled.
    big = ["好" * 200] * 100_000  # 20 million characters
    assert len(adaptation._sample(big)) == adaptation.MAX_CHARACTERS // 2 // 200
    # Texts too long for even MIN_TEXTS of them: MIN_TEXTS, evenly spaced.
    assert len(adaptation._sample(["好" * 20_000] * 1_000)) == adaptation.MIN_TEXTS


#: The real brands of the sample's dairy reviews (every one of them names 蒙牛).
DAIRY_BRANDS = ["蒙牛", "伊利", "光明"]
MENTION = "蒙牛的新品上市了"  # a neutral mention


def crisis_feed() -> list[str]:
    """A feed that is mostly one brand's crisis: the sample's negative dairy reviews (each
    names 蒙牛) among fruit, shampoo and clothes reviews of both leanings (none names it)."""
    rows = training.load_labelled(SAMPLE)
    return [r.text for r in rows if r.category == "蒙牛" and r.label == 0] + [
        r.text for r in rows if r.category in {"水果", "洗发水", "衣服"}
    ]


def test_a_monitored_brand_in_a_crisis_is_not_learnt_as_negative() -> None:
    """Adapted to a crisis feed, the model learnt 蒙牛 as a negative word and scored a neutral
    mention of it negative; with the brand monitored it scores the mention as before."""
    model, feed = load_model(), crisis_feed()
    plain = adaptation.adapt(model, feed)
    held = adaptation.adapt(model, feed, DAIRY_BRANDS)
    before = model.score(MENTION)[0]
    assert plain.score(MENTION)[0] < before - 0.2  # measured 0.64 → 0.39
    assert abs(held.score(MENTION)[0] - before) < 0.06  # measured 0.61
    assert plain.weights["蒙牛"] < model.weights["蒙牛"] - 0.3
    assert plain.weights["蒙"] < model.weights["蒙"] - 0.3  # 蒙 is only ever in 蒙牛 here
    for feature in ("蒙牛", "蒙", "›蒙牛"):  # the name's own: as the model had them
        assert held.weights.get(feature) == model.weights.get(feature)
    # 牛 still learns from the texts where it is an ordinary word (牛奶, 很牛 ...)
    assert held.weights["牛"] != model.weights["牛"]
    # Two models from the same texts: the version and the meta say which names were held.
    assert held.version.startswith(model.version + "+adapted-") and held.version != plain.version
    assert set(held.meta["monitored_names"]) == set(DAIRY_BRANDS)
    assert plain.meta["monitored_names"] == []
    again, scored = adaptation.adapt_and_score(model, [*feed, MENTION], DAIRY_BRANDS)
    assert again.version != held.version and scored[-1] == again.score(MENTION)


def test_names_the_texts_never_mention_change_nothing(
    without_books: tuple[SentimentModel, list[training.Example]],
) -> None:
    """The shipped brands.yaml's names on reviews that never name them (the bench's folds):
    the same model, the same version."""
    model, books = without_books
    texts = [r.text for r in books]
    plain = adaptation.adapt(model, texts)
    named = adaptation.adapt(model, texts, ["鲜牧", "鲜牧乳业", "XianMu", "北岭", "云朵"])
    assert named.weights == plain.weights and named.version == plain.version
    assert named.meta["monitored_names"] == [] and named.meta["held_name_features"] == []


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


def test_a_corpus_of_long_texts_leaves_short_texts_on_their_side(tmp_path: Path) -> None:
    """Holding the share on long texts takes a large correction; a short text holds few of
    the adapted features and gets little of it. As one constant on the intercept (before), the
    books below moved it by +9.9 and scored ``太差了`` 0.996."""
    model = load_model()
    books = [r.text for r in training.load_labelled(SAMPLE) if r.category == UNSEEN]
    # Six consecutive reviews a text: a corpus of long posts (the sample's reviews are short).
    long_texts = ["".join(books[i : i + 6]) for i in range(len(books))]
    adapted = adaptation.adapt(model, long_texts)
    assert adapted is not model and adapted.adapted and abs(adapted.adapted_shift) > 5
    assert adapted.score("很好")[1] == "positive" and adapted.score("太差了")[1] == "negative"
    assert (
        abs(positive_share_of(adapted, long_texts) - positive_share_of(model, long_texts)) <= 0.03
    )
    # The correction is part of the model file and of its version.
    again = load_model(adapted.save(tmp_path / "adapted.json.gz"))
    assert again == adapted
    assert [again.score(t) for t in ("很好", "太差了", long_texts[0])] == [
        adapted.score(t) for t in ("很好", "太差了", long_texts[0])
    ]
    # 很好 holds some of the adapted features: it gets part of the correction.
    uncorrected = replace(adapted, adapted=frozenset(), adapted_shift=0.0)
    assert uncorrected.probability("很好") < adapted.probability("很好") - 0.02


def positive_share_of(model: SentimentModel, texts: list[str]) -> float:
    return sum(model.score(t)[0] >= 0.5 for t in texts) / len(texts)


def test_an_adapted_model_is_not_adapted_again(
    without_books: tuple[SentimentModel, list[training.Example]],
) -> None:
    """Adapting an adapted model started from its adapted weights, and its correction became
    the new run's alone: adapted to books then phones, 646 of the 1,107 features adapted to the
    books kept their adapted weights and lost their correction, without a word. The file keeps
    no unadapted weights to start from again, so it is refused, naming the model to adapt."""
    model, books = without_books
    adapted = adaptation.adapt(model, [r.text for r in books])
    assert adaptation.adapted_from(adapted) == model.version
    assert adaptation.adapted_from(model) is None
    phones = [r.text for r in training.load_labelled(SAMPLE) if r.category == "手机"]
    for texts in (phones, phones[:10]):  # too few texts to adapt on: refused all the same
        with pytest.raises(adaptation.AlreadyAdaptedError) as caught:
            adaptation.adapt_and_score(adapted, texts)
        assert adapted.version in str(caught.value)
        assert f"adapt {model.version} instead" in str(caught.value)


def test_counts_give_a_unit_without_features_none() -> None:
    """Adapted features are counted per unit with ``np.add.reduceat``, which gives an empty
    unit its next unit's first value (or fails at the end): an empty unit counts 0 wherever it
    is, and the others count their own."""
    from array import array

    import numpy as np

    from koubei.pipeline.sentiment.adaptation_counts import Corpus

    # units: [0, 1] | [] | [2] | [] | [1, 3] | []; two texts: units 0-2 and 3-5
    corpus = Corpus(
        names=["a", "b", "c", "d"],
        ids=array("i", [0, 1, 2, 1, 3]),
        starts=[0, 2, 2, 3, 3, 5, 5],
        first=[0, 3, 6],
        mention_only={},
    )
    assert corpus.counts([1, 2]) == [1, 0, 1, 0, 1, 0]
    assert corpus.counts([0, 1, 2, 3]) == [2, 0, 1, 0, 2, 0]
    assert corpus.counts([]) == [0] * 6
    both, second = np.array([True, True]), np.array([False, True])
    assert corpus.documents(both).tolist() == [1, 1, 0, 0]  # each text's first unit's ids
    assert corpus.documents(second).tolist() == [0, 0, 0, 0]
    corpus.mention_only = {0: {1}}  # b only from the first text's mention of a name
    assert corpus.documents(both).tolist() == [1, 0, 0, 0]


def test_compacting_renumbers_the_kept_features_and_their_units() -> None:
    """The features dropped from the corpus leave its ids, each unit keeps its own in order
    (an emptied unit stays, empty), and a text whose mention-only ids were all dropped keeps
    its entry (whether there is one names the monitored names in the version)."""
    from array import array

    import numpy as np

    from koubei.pipeline.sentiment.adaptation_counts import compacted

    ids = array("i", [0, 1, 2, 3, 2, 1, 4])  # units [0, 1, 2] | [3, 2] | [1] | [4]
    starts = array("q", [0, 3, 5, 6, 7])
    kept = np.array([True, False, True, False, True])  # features 1 and 3 go
    new_starts, mention_only = compacted(kept, ids, starts, {0: {1}, 1: {2, 3}})
    assert ids.tolist() == [0, 1, 1, 2]  # 0 → 0, 2 → 1, 4 → 2
    assert new_starts == [0, 2, 3, 3, 4]
    assert mention_only == {0: set(), 1: {1}}


def test_the_compacted_corpus_adapts_and_scores_as_the_whole_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Dropping the features that can never matter (in no weight, in fewer than ``MIN_DOCS``
    texts) changes nothing: the same weights (in the same order), correction, version and
    scores, bit for bit, as adapting on every feature, with names held and without."""
    from koubei.pipeline.sentiment import adaptation_counts

    model = load_model()
    texts = [r.text for r in training.load_labelled(SAMPLE)]
    sizes: list[tuple[int, int]] = []
    real = adaptation_counts.kept

    def counted_kept(*args: object, **kwargs: object) -> object:
        chosen = real(*args, **kwargs)  # type: ignore[arg-type]
        sizes.append((int(chosen.sum()), len(chosen)))
        return chosen

    def every_feature(*args: object, **kwargs: object) -> object:
        return real(*args, **kwargs) | True  # type: ignore[arg-type]

    for monitored in ((), ("蒙牛", "伊利")):
        monkeypatch.setattr(adaptation_counts, "kept", counted_kept)
        compacted = adaptation.adapt_and_score(model, texts, monitored)
        monkeypatch.setattr(adaptation_counts, "kept", every_feature)
        whole = adaptation.adapt_and_score(model, texts, monitored)
        kept, met = (n - len(model.weights) for n in sizes[-1])  # (the model's always kept)
        assert kept < met / 2  # most of the features the model has no weight for were dropped
        assert compacted[1] == whole[1]  # every score and label
        a, b = compacted[0], whole[0]
        assert list(a.weights.items()) == list(b.weights.items())
        assert (a.adapted_shift, a.adapted_saturation) == (b.adapted_shift, b.adapted_saturation)
        assert (a.version, a.adapted, a.meta) == (b.version, b.adapted, b.meta)
    assert compacted[0].meta["monitored_names"]  # the names did change what the texts teach


_SIDES_SCRIPT = """
import json, sys
from koubei.pipeline.sentiment import adaptation, training
from koubei.pipeline.sentiment.model import load_model
texts = [r.text for r in training.load_labelled(sys.argv[1])]
adapted, scored = adaptation.adapt_and_score(load_model(), texts)
print(json.dumps({"version": adapted.version, "sides": [p >= 0.5 for p, _ in scored],
                  "nearest": min(abs(p - 0.5) for p, label in scored if label != "no_opinion")}))
"""


def test_no_adapted_text_is_left_on_the_boundary_whatever_the_hash_seed() -> None:
    """Holding the share put one text of every adapted file on its flip point, at 0.5 to the
    last bits of its log-odds; those follow the order a set of features is summed in, which
    the string hash seed sets, so the text was positive in one process and negative in the
    next. Halfway between two flip points, every text's side is the same in every process."""
    runs = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", _SIDES_SCRIPT, str(SAMPLE)],
                env={**os.environ, "PYTHONHASHSEED": str(seed)},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for seed in (1, 2, 3)
    ]
    assert all(run["nearest"] > 1e-9 for run in runs)
    assert runs[0] == {**runs[1], "nearest": runs[0]["nearest"]}
    assert runs[0] == {**runs[2], "nearest": runs[0]["nearest"]}


def test_texts_with_one_flip_point_turn_together() -> None:
    """The same text three times has one flip point: the shift cannot leave one of them
    positive and the others negative, so it stops short of them rather than between them."""
    import numpy as np

    from koubei.pipeline.sentiment.adaptation_counts import holding_shift

    calibrated = np.array([4.0, 3.0, 2.0, 2.0, 2.0, 1.0, -1.0, 0.5])
    fraction = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0])  # the last never moves
    # 4 of 8 may be positive: the fixed one and three that move. 4, 3 and then the three 2s
    # cannot split, so only 4 and 3 stay: halfway between 3 and 2.
    assert holding_shift(calibrated, fraction, 0.5) == 2.5
    # 5 of 8: 4, 3 and the three 2s would be six with the fixed one; still 4 and 3.
    assert holding_shift(calibrated, fraction, 5 / 8) == 2.5
    # 6 of 8: the three 2s join: halfway between 2 and 1.
    assert holding_shift(calibrated, fraction, 6 / 8) == 1.5
    # 7 of 8: every one that moves but the last: halfway between 1 and -1.
    assert holding_shift(calibrated, fraction, 0.99) == 0.0
    # none may be positive, but the one that never moves is: the bound, as far as it goes.
    assert holding_shift(calibrated, fraction, 0.1) == 50.0
    # 1 of 8, the one that never moves: every text that moves turned, by the shift nearest 0
    # a margin past the highest flip point (4), not halfway to the bound (27: 4 - 27 = -23).
    assert holding_shift(calibrated, fraction, 1 / 8) == 5.0
    # Both texts that move may be positive (the third never moves, and is negative): no shift
    # when none is needed, else the one nearest 0 a margin past the lowest flip point.
    two_move = np.array([0.0, 1.0, 1.0])
    assert holding_shift(np.array([-5.0, 3.0, 1.0]), two_move, 0.99) == 0.0
    assert holding_shift(np.array([-5.0, -1.0, 2.0]), two_move, 0.99) == -2.0
    # Two flip points a rounding apart (one text's features summed in two orders) are one.
    almost = np.array([2.0, 1.0 + 2e-16, 1.0, 0.0])
    assert holding_shift(almost, np.ones(4), 0.5) == 1.5
