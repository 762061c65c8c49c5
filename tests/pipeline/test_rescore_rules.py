"""``koubei sentiment rescore`` after an upgrade: posts scored under older scoring rules.

A post recorded only the model file's version, so an upgrade of koubei that changed its
lexicons, glosses or no-opinion rules left every post "up to date" under the same model: a
plain rescore changed nothing and the negative share jumped at the upgrade. Each post now
records the rules' version too (``sentiment.rules_version``); a post under other rules, or
under none recorded (scored before), is scored again, and an up-to-date one is left alone.
Real Elasticsearch node, the real CLI, the cycle's own stages.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl
from koubei.pipeline import ledger
from koubei.pipeline.index.documents import prepare
from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.rules import rules_version
from tests.pipeline.test_rescore import HOTEL, history, processed, rescore, stored

__all__ = ["history"]  # the fixture, shared with test_rescore.py

OLDER_RULES = "rules-0123456789"


def test_rescore_scores_again_the_posts_scored_under_older_rules_or_none(
    history: Path, es: Elasticsearch, index_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped, current = load_model(), rules_version()
    first, second = ledger.processed_files(HOTEL)
    # As older koubeis left them, under the version the model still has: the first file scored
    # before the rules were recorded (no rules_version), three posts of the second under
    # other rules, with another score; the second file's other posts are up to date.
    stale: set[str] = set()
    for path, how in ((first, "none"), (second, "older")):
        records = list(jsonl.read(path))
        for n, record in enumerate(records):
            sentiment = dict(record["sentiment"])
            assert sentiment["rules_version"] == current  # what `koubei process` records
            if how == "none":
                del sentiment["rules_version"]
            elif n < 3:
                sentiment["rules_version"] = OLDER_RULES
            else:
                continue
            if sentiment["label"] != "no_opinion":
                sentiment.update(score=0.45, label="neutral")
            record["sentiment"] = sentiment
            stale.add(record["id"])
        jsonl.write_atomic(path, records)
    # Stored as those koubeis wrote them (a whole document: an update merges `sentiment` into
    # the stored one, which the fixture's cycle wrote with the current rules_version).
    for record in processed(HOTEL):
        index, source = prepare(record, index_prefix)
        es.index(index=index, id=record["id"], document=source)
    before = stored(es, index_prefix, HOTEL)
    kept = {r["id"]: r for r in processed(HOTEL) if r["id"] not in stale}
    assert len(kept) == 7
    assert "rules_version" not in before[next(iter(jsonl.read(first)))["id"]]["sentiment"]

    code, reports, err = rescore(history, capsys)

    assert code == 0, err
    # 17 in the first file (15 reviews and 2 posts with no words), 3 of the second's 10
    assert [(r["rescored"], r["retagged"], r["unchanged"]) for r in reports] == [
        (17, 0, 0),
        (3, 0, 7),
    ]
    assert {r["rules_version"] for r in reports} == {current}
    # Only the posts re-scored are sent: the second file's 7 up-to-date posts were sent again
    # with it, each document's version moving for the same content.
    assert [r["index"]["sent"] for r in reports] == [17, 3]
    assert f"20 post(s) re-scored with {shipped.version} under {current}" in err
    docs = stored(es, index_prefix, HOTEL)
    for record in processed(HOTEL):
        score, label = shipped.score(record["text_clean"])
        assert record["sentiment"] == {
            "score": round(score, 6),
            "label": label,
            "model_version": shipped.version,
            "rules_version": current,
        }
        assert docs[record["id"]]["sentiment"] == record["sentiment"]
        if record["id"] not in stale:  # an up-to-date post: left as it was in its file
            assert record == kept.pop(record["id"])
            # and in the index: not sent again
            assert docs[record["id"]]["_version"] == before[record["id"]]["_version"]
        else:
            assert docs[record["id"]]["_version"] > before[record["id"]]["_version"]
    assert not kept
    assert all(ledger.is_indexed(p) for p in (first, second))

    # A re-run finds every post up to date: nothing rewritten, nothing sent.
    files = {p: p.read_bytes() for p in (first, second)}
    code, reports, err = rescore(history, capsys)
    assert code == 0, err
    assert [(r["rescored"], r["unchanged"], r["index"]) for r in reports] == [
        (0, 17, None),
        (0, 10, None),
    ]
    assert {p: p.read_bytes() for p in files} == files
    assert stored(es, index_prefix, HOTEL) == docs
