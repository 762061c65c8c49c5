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
