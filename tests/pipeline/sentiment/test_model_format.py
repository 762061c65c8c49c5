"""The model file: documented JSON layout, exact round trip, clear refusals, same scores as before.

``data/shipped_model_scores.json`` holds scores recorded from the shipped model. Its first
version (commit "Sentiment model file: gzipped JSON ...") was recorded from the marshal file the
JSON layout replaced and passed against the converted file; it is regenerated only when the
shipped model is retrained: ``python -m tests.pipeline.sentiment.record_scores``.
"""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from koubei.pipeline.sentiment import DEFAULT_MODEL, load_model
from koubei.pipeline.sentiment.model import SCHEMA, SCHEMA_VERSION

GOLDEN = Path(__file__).with_name("data") / "shipped_model_scores.json"


def test_shipped_model_scores_as_recorded() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    model = load_model()
    assert model.version == golden["model_version"]
    for row in golden["scores"]:
        # probability_aggregated is what score() returned before posts without words of their
        # own got the no_opinion label (issue 18); the model file's numbers are what is pinned.
        score = model.probability_aggregated(row["text"])
        label = model.label_for(score)
        # The logit sums weights in set order (string hashing is per process), so the last bit
        # or two of a float sum may differ between runs; the file format itself is exact.
        assert math.isclose(score, row["score"], rel_tol=0, abs_tol=1e-12), row["text"]
        assert math.isclose(model.logit(row["text"]), row["logit"], abs_tol=1e-12), row["text"]
        assert label == row["label"], row["text"]
        assert round(score, 6) == round(row["score"], 6)


def test_shipped_file_is_gzipped_json_with_the_documented_keys() -> None:
    payload = json.loads(gzip.decompress(DEFAULT_MODEL.read_bytes()).decode("utf-8"))
    assert payload["schema"] == SCHEMA and payload["schema_version"] == SCHEMA_VERSION
    documented = (Path(DEFAULT_MODEL).parent.parent / "MODEL_FORMAT.md").read_text("utf-8")
    for key in payload:
        assert f"| `{key}` |" in documented, key
    assert len(payload["features"]) == len(payload["weights"]) == len(set(payload["features"]))
    assert all(isinstance(w, float) for w in payload["weights"])


def test_save_load_round_trip_is_exact_and_byte_stable(tmp_path: Path) -> None:
    model = load_model()
    first = model.save(tmp_path / "a.json.gz")
    again = load_model(first)
    assert again == model
    assert again.save(tmp_path / "b.json.gz").read_bytes() == first.read_bytes()


def _write(path: Path, payload: object) -> Path:
    path.write_bytes(gzip.compress(json.dumps(payload).encode()))
    return path


def test_load_names_the_file_and_the_problem(tmp_path: Path) -> None:
    good = json.loads(gzip.decompress(DEFAULT_MODEL.read_bytes()))
    with pytest.raises(ValueError, match=r"old\.json\.gz.*schema_version 1"):
        load_model(_write(tmp_path / "old.json.gz", {**good, "schema_version": 1}))
    with pytest.raises(ValueError, match=r"other\.json\.gz.*not a sentiment model"):
        load_model(_write(tmp_path / "other.json.gz", {"weights": {}}))
    with pytest.raises(ValueError, match=r"platt\.json\.gz.*'platt'"):
        load_model(_write(tmp_path / "platt.json.gz", {**good, "platt": [1.0]}))
    with pytest.raises(ValueError, match=r"w\.json\.gz.*feature 'x'"):
        load_model(_write(tmp_path / "w.json.gz", {**good, "features": ["x"], "weights": ["1"]}))
    with pytest.raises(ValueError, match=r"n\.json\.gz.*1 features but 0 weights"):
        load_model(_write(tmp_path / "n.json.gz", {**good, "features": ["x"], "weights": []}))
    plain = tmp_path / "plain.json.gz"
    plain.write_bytes(b"{}")
    with pytest.raises(ValueError, match=r"plain\.json\.gz.*not a sentiment model"):
        load_model(plain)
    # found by fuzzing `sentiment score --model` (session 36): was RecursionError, a traceback
    deep = tmp_path / "deep.json.gz"
    deep.write_bytes(gzip.compress(b"[" * 100_000 + b"]" * 100_000))
    with pytest.raises(ValueError, match=r"deep\.json\.gz: not a sentiment model \(JSON nested"):
        load_model(deep)


def test_a_file_without_the_adaptation_fields_scores_as_before(tmp_path: Path) -> None:
    """The adaptation fields are optional: a model without them (every file written before
    them) writes none, and scores each unit by its calibration alone."""
    model = load_model()
    payload = json.loads(gzip.decompress(DEFAULT_MODEL.read_bytes()).decode("utf-8"))
    assert not {"adapted_features", "adapted_shift", "adapted_saturation"} & set(payload)
    assert model.adapted == frozenset() and model.adapted_shift == 0.0
    saved = json.loads(gzip.decompress(model.save(tmp_path / "m.json.gz").read_bytes()))
    assert saved == payload
    a, b = model.platt
    for text in ("很好", "太差了", "物流很快，但是包装破损了，客服也不理人。"):
        expected = 1 / (1 + math.exp(-(a * model.logit(text) + b)))
        assert math.isclose(model.probability(text), expected, rel_tol=1e-12), text


def test_the_adaptation_fields_round_trip_and_correct_only_units_holding_them(
    tmp_path: Path,
) -> None:
    model = load_model()
    adapted = replace(
        model,
        version=model.version + "+adapted-test",
        adapted=frozenset({"好", "很好"}),
        adapted_shift=2.0,
        adapted_saturation=4.0,
    )
    again = load_model(adapted.save(tmp_path / "a.json.gz"))
    assert again == adapted
    assert again.save(tmp_path / "b.json.gz").read_bytes() == (tmp_path / "a.json.gz").read_bytes()
    # 很好 holds both adapted features: half the shift (2 of 4) comes off its calibrated log-odds.
    a, b = model.platt
    z = a * model.logit("很好") + b - 2.0 * min(1.0, 2 / 4.0)
    assert math.isclose(again.probability("很好"), 1 / (1 + math.exp(-z)), rel_tol=1e-12)
    assert again.probability("太差了") == model.probability("太差了")  # none of them
    with pytest.raises(ValueError, match="adapted_saturation"):
        bad = json.loads(gzip.decompress((tmp_path / "a.json.gz").read_bytes()))
        load_model(_write(tmp_path / "bad.json.gz", {**bad, "adapted_saturation": 0}))
