"""``koubei sentiment rescore --all``: scores made by an older koubei under the same model.

The versions a post records are the model file's and the scoring rules' (the lexicons and
glosses: ``test_rescore_rules.py``); a change neither sees (feature code changed without
``RULES_REVISION`` bumped, here a processed file's scores edited) leaves every post "up to
date" by them. A plain rescore then changes nothing; ``--all`` scores every post again.
Real Elasticsearch node, the real CLI, the cycle's own stages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl
from koubei.flows.cli import main
from koubei.pipeline import ledger
from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.rules import rules_version
from tests.pipeline.test_rescore import HOTEL, history, processed, rescore, stored

__all__ = ["history"]  # the fixture, shared with test_rescore.py


def test_rescore_all_scores_again_what_an_older_koubei_scored_under_the_same_version(
    history: Path, es: Elasticsearch, index_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = load_model()
    # As an older koubei left them: another score under the version the model still has.
    files = ledger.processed_files(HOTEL)
    for path in files:
        records = list(jsonl.read(path))
        for record in records:
            if record["sentiment"]["label"] != "no_opinion":
                record["sentiment"] = {**record["sentiment"], "score": 0.45, "label": "neutral"}
        jsonl.write_atomic(path, records)
    assert main(["index", "load", *map(str, files)]) == 0
    capsys.readouterr()
    old = {r["id"]: r["sentiment"] for r in processed(HOTEL)}
    assert {s["model_version"] for s in old.values()} == {shipped.version}

    code, reports, err = rescore(history, capsys)
    assert code == 0, err
    assert sum(r["rescored"] for r in reports) == 0  # up to date by the version: left
    assert {r["id"]: r["sentiment"] for r in processed(HOTEL)} == old

    code, reports, err = rescore(history, capsys, "--all")
    assert code == 0, err
    assert [(r["rescored"], r["unchanged"]) for r in reports] == [(17, 0), (10, 0)]
    docs = stored(es, index_prefix, HOTEL)
    for record in processed(HOTEL):
        score, label = shipped.score(record["text_clean"])
        assert record["sentiment"] == {
            "score": round(score, 6),
            "label": label,
            "model_version": shipped.version,
            "rules_version": rules_version(),
        }
        assert docs[record["id"]]["sentiment"] == record["sentiment"]
    assert all(ledger.is_indexed(p) for p in files)
