"""``koubei sentiment rescore``: a source's history re-scored with the model it now has.

A source given a ``sentiment_model`` (``koubei sentiment adapt``) had its new posts scored with
it and its processed history kept the old model's scores, in the files and in the index: the
negative share, which the detectors compare with that history, jumped at the change, and no
command re-scored the history.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import jsonl, paths
from koubei.flows.cli import main
from koubei.flows.monitor import index_pending
from koubei.model import make_id
from koubei.pipeline import ledger
from koubei.pipeline.aspects import SHIPPED_ASPECTS, load_aspects, tag_aspects
from koubei.pipeline.sentiment import load_model
from koubei.pipeline.sentiment.opinion import NO_OPINION
from koubei.pipeline.sentiment.rules import rules_version

HOTEL, SHOP = "hotel-reviews", "test-shop"
# Posts with no words of their own: no model may give them an opinion.
NO_OPINION_TEXTS = ("转发微博", "[怒][怒]")


def write_config(folder: Path, model: Path | None) -> Path:
    """sources.yaml with the hotel source on ``model`` (None: the shipped model)."""
    folder.mkdir(exist_ok=True)
    line = ""
    if model is not None:
        (folder / "models").mkdir(exist_ok=True)
        (folder / "models" / "hotel.json.gz").write_bytes(model.read_bytes())
        line = ", sentiment_model: models/hotel.json.gz"
    (folder / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{name: {HOTEL}, platform: shop_json{line}}}\n"
        f"  - {{name: {SHOP}, platform: shop_json}}\n",
        encoding="utf-8",
    )
    return folder


def land(source: str, run: str, records: list[dict[str, Any]]) -> None:
    path = paths.state_dir("landing") / source / f"{run}.jsonl"
    jsonl.write_atomic(path, [{**r, "source": source} for r in records])


def stored(es: Elasticsearch, prefix: str, source: str) -> dict[str, dict[str, Any]]:
    es.indices.refresh(index=f"{prefix}-posts*")
    query = {"term": {"source": source}}
    hits = es.search(index=f"{prefix}-posts", query=query, size=1000, version=True)
    return {
        hit["_id"]: {**hit["_source"], "_version": hit["_version"]} for hit in hits["hits"]["hits"]
    }


def processed(source: str) -> list[dict[str, Any]]:
    return [r for path in ledger.processed_files(source) for r in jsonl.read(path)]


@pytest.fixture
def history(
    koubei_home: str,
    es_url: str,
    index_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    review_records: Callable[[int], list[dict[str, Any]]],
) -> Path:
    """Two sources processed and indexed (by the cycle's own index stage) with the shipped
    model, the hotel's posts in two runs; returns the config directory."""
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", index_prefix)
    records = review_records(40)
    bare = [
        {
            **records[0],
            "id": make_id("shop_json", 900 + n),
            "native_id": str(900 + n),
            "text_raw": text,
        }
        for n, text in enumerate(NO_OPINION_TEXTS)
    ]
    land(HOTEL, "r1", records[:15] + bare)
    land(HOTEL, "r2", records[15:25])
    land(SHOP, "r1", records[25:40])
    folder = write_config(tmp_path / "config", None)
    assert main(["process", "--config-dir", str(folder), "--no-progress", "--workers", "1"]) == 0
    assert index_pending.fn(index_prefix, False)["created"] == 42
    return folder


def rescore(
    folder: Path, capsys: pytest.CaptureFixture[str], *more: str
) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["sentiment", "rescore", "--source", HOTEL, "--config-dir", str(folder),
                 "--no-progress", *more])  # fmt: skip
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_rescore_gives_the_sources_history_the_model_it_now_has(
    history: Path,
    es: Elasticsearch,
    index_prefix: str,
    adapted_model: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shipped, adapted = load_model(), load_model(adapted_model)
    before = stored(es, index_prefix, HOTEL)
    shop_files = {p: p.read_bytes() for p in ledger.processed_files(SHOP)}
    shop_docs = stored(es, index_prefix, SHOP)
    assert {d["sentiment"]["model_version"] for d in before.values()} == {shipped.version}
    capsys.readouterr()

    write_config(history, adapted_model)  # the user names the adapted model for the source
    code, reports, err = rescore(history, capsys)

    assert code == 0, err
    assert [(r["rescored"], r["unchanged"]) for r in reports] == [(17, 0), (10, 0)]
    assert [r["index"]["updated"] for r in reports] == [17, 10]
    assert "27 post(s) re-scored with " + adapted.version in err
    # the files and the index agree, on the adapted model's scores and aspects
    docs = stored(es, index_prefix, HOTEL)
    assert docs.keys() == before.keys()  # the same documents, updated in place
    records = processed(HOTEL)
    assert len(records) == 27
    for record in records:
        doc = docs[record["id"]]
        own = adapted.score(record["text_clean"])
        assert record["sentiment"] == {
            "score": round(own[0], 6),
            "label": own[1],
            "model_version": adapted.version,
            "rules_version": rules_version(),
        }
        assert doc["sentiment"] == record["sentiment"] and doc["aspects"] == record["aspects"]
        assert doc["first_seen"] == before[record["id"]]["first_seen"]
    assert sum(r["sentiment"]["score"] != before[r["id"]]["sentiment"]["score"] for r in records)
    bare = [r for r in records if r["text_raw"] in NO_OPINION_TEXTS]
    assert [r["sentiment"]["label"] for r in bare] == [NO_OPINION, NO_OPINION]
    assert all(ledger.is_indexed(p) for p in ledger.processed_files(HOTEL))
    # the other source is left alone
    assert {p: p.read_bytes() for p in ledger.processed_files(SHOP)} == shop_files
    assert stored(es, index_prefix, SHOP) == shop_docs

    # a re-run changes nothing: every post already carries the model's version
    code, reports, err = rescore(history, capsys)
    assert code == 0, err
    assert [(r["rescored"], r["unchanged"], r["index"]) for r in reports] == [
        (0, 17, None),
        (0, 10, None),
    ]
    assert "0 post(s) re-scored" in err and "27 unchanged" in err
    assert stored(es, index_prefix, HOTEL) == docs  # not even a new _version

    # loading the processed files again keeps the adapted model's scores
    files = [str(p) for p in ledger.processed_files(HOTEL)]
    assert main(["index", "load", *files]) == 0
    after_load = stored(es, index_prefix, HOTEL)
    assert {d["sentiment"]["model_version"] for d in after_load.values()} == {adapted.version}
    assert {k: d["sentiment"] for k, d in after_load.items()} == {
        k: d["sentiment"] for k, d in docs.items()
    }


def test_rescored_posts_are_tagged_with_the_config_dirs_aspects(
    history: Path,
    es: Elasticsearch,
    index_prefix: str,
    adapted_model: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The history was processed with a config directory without aspects.yaml: the shipped one.
    assert "quality" in {a["aspect"] for r in processed(HOTEL) for a in r["aspects"]}
    files = {p: p.read_bytes() for p in ledger.processed_files(HOTEL)}
    write_config(history, adapted_model)
    lexicon = history / "aspects.yaml"
    lexicon.write_text("aspects:\n  book: {keywords: [书, '']}\n", encoding="utf-8")
    capsys.readouterr()

    # a bad lexicon is named before any file changes
    code, reports, err = rescore(history, capsys)
    assert code == 2 and reports == [] and {p: p.read_bytes() for p in files} == files
    assert f"koubei: config error: {lexicon}: aspects.book.keywords: entry 1 is empty" in err

    lexicon.write_text("aspects:\n  book: {keywords: [书]}\n", encoding="utf-8")
    code, reports, err = rescore(history, capsys)

    assert code == 0, err
    assert f"aspects from {lexicon}" in err
    records = processed(HOTEL)
    assert {a["aspect"] for r in records for a in r["aspects"]} == {"book"}
    docs = stored(es, index_prefix, HOTEL)
    assert all(docs[r["id"]]["aspects"] == r["aspects"] for r in records)


def test_an_edited_lexicon_reaches_the_history_and_leaves_its_sentiment(
    history: Path, es: Elasticsearch, index_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A post scored with its source's current model was skipped whatever its aspects: an
    edited aspects.yaml never reached the history. Each post records the lexicon that tagged
    it, and a post tagged with another has its aspects tagged again, its sentiment kept."""
    shipped = load_aspects(SHIPPED_ASPECTS)
    before = {r["id"]: r for r in processed(HOTEL)}
    docs_before = stored(es, index_prefix, HOTEL)
    assert {r["aspect_lexicon_version"] for r in before.values()} == {shipped.version}
    assert {d["aspect_lexicon_version"] for d in docs_before.values()} == {shipped.version}
    capsys.readouterr()
    # nothing edited: nothing to do
    code, reports, err = rescore(history, capsys)
    assert code == 0, err
    assert [(r["rescored"], r["retagged"], r["unchanged"], r["index"]) for r in reports] == [
        (0, 0, 17, None),
        (0, 0, 10, None),
    ]

    lexicon = history / "aspects.yaml"
    lexicon.write_text("aspects:\n  book: {label: 书, keywords: [书]}\n", encoding="utf-8")
    own = load_aspects(lexicon)
    code, reports, err = rescore(history, capsys)

    assert code == 0, err
    assert [(r["rescored"], r["retagged"], r["unchanged"]) for r in reports] == [
        (0, 17, 0),
        (0, 10, 0),
    ]
    assert [r["index"]["updated"] for r in reports] == [17, 10]
    scored_with = f"{load_model().version} under {rules_version()}"
    assert f"0 post(s) re-scored with {scored_with}, 27 with only their aspects " in err
    assert f"tagged again with {own.version}" in err
    records = processed(HOTEL)
    docs = stored(es, index_prefix, HOTEL)
    assert {a["aspect"] for r in records for a in r["aspects"]} == {"book"}
    for record in records:
        old, doc = before[record["id"]], docs[record["id"]]
        # the aspects are the edited lexicon's, scored by the same model; nothing else moved
        assert record["aspects"] == tag_aspects(dict(old), load_model(), own)["aspects"]
        assert record["aspect_lexicon_version"] == own.version != shipped.version
        unchanged = {k: v for k, v in record.items() if not k.startswith("aspect")}
        assert unchanged == {k: v for k, v in old.items() if not k.startswith("aspect")}
        # the index holds the same, its sentiment as it was
        assert doc["aspects"] == record["aspects"] and doc["aspect_lexicon_version"] == own.version
        assert doc["sentiment"] == docs_before[record["id"]]["sentiment"] == old["sentiment"]
        assert doc["_version"] == docs_before[record["id"]]["_version"] + 1
    assert sum(r["aspects"] != before[r["id"]]["aspects"] for r in records) > 0

    # a re-run sends nothing: every post carries both versions
    code, reports, err = rescore(history, capsys)
    assert code == 0, err
    assert [(r["retagged"], r["unchanged"], r["index"]) for r in reports] == [
        (0, 17, None),
        (0, 10, None),
    ]
    assert "0 sent to Elasticsearch" in err
    assert stored(es, index_prefix, HOTEL) == docs  # not even a new _version


def test_posts_tagged_before_lexicons_were_recorded_are_tagged_once(
    history: Path, es: Elasticsearch, index_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Files processed before the lexicon was recorded carry no version: the lexicon that
    tagged them is unknown, so the first rescore tags them again (and records it); the next
    sends nothing."""
    for path in ledger.processed_files(HOTEL):
        old = [
            {k: v for k, v in r.items() if k != "aspect_lexicon_version"} for r in jsonl.read(path)
        ]
        jsonl.write_atomic(path, old)  # as koubei wrote them; indexed (marked) as they were
    before = {r["id"]: r for r in processed(HOTEL)}
    capsys.readouterr()

    code, reports, err = rescore(history, capsys)

    assert code == 0, err
    assert [(r["rescored"], r["retagged"], r["index"]["updated"]) for r in reports] == [
        (0, 17, 17),
        (0, 10, 10),
    ]
    shipped = load_aspects(SHIPPED_ASPECTS).version
    records = processed(HOTEL)
    # the same lexicon: the same aspects, now with the version that says so
    assert [{**before[r["id"]], "aspect_lexicon_version": shipped} for r in records] == records
    docs = stored(es, index_prefix, HOTEL)
    assert {d["aspect_lexicon_version"] for d in docs.values()} == {shipped}

    code, reports, err = rescore(history, capsys)
    assert code == 0, err
    assert [(r["retagged"], r["unchanged"], r["index"]) for r in reports] == [
        (0, 17, None),
        (0, 10, None),
    ]
    assert stored(es, index_prefix, HOTEL) == docs


def test_two_workers_give_the_files_one_gives(
    koubei_home: str,
    es_url: str,
    index_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    review_records: Callable[[int], list[dict[str, Any]]],
    adapted_model: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--workers`` shares a big file (2,000 posts to redo or more, as ``koubei process``)
    with helper processes. How many chunks the helper gets before this process is done depends
    on the machine (``test_helper_processes_redo_what_this_one_would`` pins the helpers' part),
    so the whole file is compared."""
    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    monkeypatch.setenv("KOUBEI_INDEX_PREFIX", index_prefix)
    land(HOTEL, "r1", review_records(2001))
    folder = write_config(tmp_path / "config", None)
    assert main(["process", "--config-dir", str(folder), "--no-progress", "--workers", "1"]) == 0
    [path] = ledger.processed_files(HOTEL)
    original = path.read_bytes()
    write_config(folder, adapted_model)
    (folder / "aspects.yaml").write_text("aspects:\n  book: {keywords: [书]}\n", encoding="utf-8")
    capsys.readouterr()

    outcomes = {}
    for workers in ("1", "2"):
        path.write_bytes(original)
        code, reports, err = rescore(folder, capsys, "--workers", workers)
        assert code == 0, err
        assert [(r["rescored"], r["index"]["sent"]) for r in reports] == [(2001, 2001)]
        outcomes[workers] = path.read_bytes()

    assert outcomes["2"] == outcomes["1"] != original
    adapted = load_model(adapted_model).version
    assert {r["sentiment"]["model_version"] for r in jsonl.read(path)} == {adapted}


def test_helper_processes_redo_what_this_one_would(
    review_records: Callable[[int], list[dict[str, Any]]],
    adapted_model: Path,
    tmp_path: Path,
) -> None:
    """The re-scoring runs in helper processes as enrichment does (``Enricher.iter_chunks``),
    with the run's model (loaded from its file) and lexicon (handed over by value)."""
    from koubei.pipeline.enrich import Enricher, enrich_chunk
    from koubei.pipeline.rescore import rescore_records

    shipped_model, adapted = load_model(), load_model(adapted_model)
    lexicon = tmp_path / "aspects.yaml"
    lexicon.write_text("aspects:\n  book: {keywords: [书]}\n", encoding="utf-8")
    own = load_aspects(lexicon)
    records, _ = enrich_chunk(review_records(300), shipped_model, load_aspects(SHIPPED_ASPECTS))
    # a third scored with the model of the run already (only their aspects are redone), a
    # third up to date, a third scored with another model
    records = [
        enrich_chunk([r], adapted, own)[0][0] if n % 3 == 1 else r for n, r in enumerate(records)
    ]
    for n, record in enumerate(records):
        if n % 3 == 0:
            record["sentiment"] = {**record["sentiment"], "model_version": adapted.version}
    alone = [dict(r) for r in records]
    with Enricher(adapted, own, workers=1) as enricher:
        assert rescore_records(alone, enricher) == {"score": 100, "aspects": 100}
    shared = [dict(r) for r in records]
    with Enricher(adapted, own, workers=2, chunk=10, model_path=adapted_model) as enricher:
        enricher.start(wait_ready=True)
        assert rescore_records(shared, enricher) == {"score": 100, "aspects": 100}
        assert enricher.chunks_by_helpers > 0
    assert shared == alone
    assert {r["aspect_lexicon_version"] for r in shared} == {own.version}
    assert [r["sentiment"] for r in shared[::3]] == [r["sentiment"] for r in records[::3]]


def test_a_rescore_that_dies_after_rewriting_a_file_is_finished_by_the_next_one(
    history: Path,
    es: Elasticsearch,
    index_prefix: str,
    adapted_model: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from koubei.pipeline.index import spool

    adapted = load_model(adapted_model)
    write_config(history, adapted_model)
    capsys.readouterr()

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # the run stopped between rewriting a file and indexing it

    with monkeypatch.context() as patch:
        patch.setattr(spool, "index_file", killed)
        assert rescore(history, capsys)[0] == 130  # (the CLI's answer to an interrupt)
    first = ledger.processed_files(HOTEL)[0]
    # the file carries the new scores and is pending for the index stage: nothing is lost
    assert {r["sentiment"]["model_version"] for r in jsonl.read(first)} == {adapted.version}
    assert ledger.pending_index() == [first]
    assert {d["sentiment"]["model_version"] for d in stored(es, index_prefix, HOTEL).values()} == {
        load_model().version
    }

    code, reports, err = rescore(history, capsys)

    assert code == 0, err
    # the rewritten file is unchanged now, but sent; the second file is re-scored and sent
    assert [(r["rescored"], r["unchanged"], r["index"]["sent"]) for r in reports] == [
        (0, 17, 17),
        (10, 0, 10),
    ]
    assert not ledger.pending_index()
    docs = stored(es, index_prefix, HOTEL)
    assert {d["sentiment"]["model_version"] for d in docs.values()} == {adapted.version}
    assert len(docs) == 27


def test_mistakes_are_named_with_the_source_or_file(
    history: Path, adapted_model: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    capsys.readouterr()
    code = main(["sentiment", "rescore", "--source", "hotel", "--config-dir", str(history)])

    err = capsys.readouterr().err
    assert code == 2 and "no processed files for source 'hotel'" in err, err
    assert f"sources with processed files: {HOTEL}, {SHOP}" in err
    # a path is no source either: nothing outside processed/ is read
    code = main(["sentiment", "rescore", "--source", "../landing/" + HOTEL])
    assert code == 2 and "no processed files for source '../landing/" in capsys.readouterr().err

    # a sentiment_model that is no model: named with its source, before any file changes
    files = {p: p.read_bytes() for p in ledger.processed_files(HOTEL)}
    notes = tmp_path / "notes.json.gz"
    notes.write_text("not a model", encoding="utf-8")
    code, reports, err = rescore(write_config(tmp_path / "bad", notes), capsys)
    assert code == 2 and reports == [] and {p: p.read_bytes() for p in files} == files
    assert f"source {HOTEL}: cannot load its sentiment model: " in err
    assert "hotel.json.gz: not a sentiment model" in err

    # a processed file with a line that is no record: named with its line, left as it was; the
    # other file is re-scored
    first, second = ledger.processed_files(HOTEL)
    broken = first.read_bytes() + b"not json\n"
    first.write_bytes(broken)
    code, reports, err = rescore(write_config(history, adapted_model), capsys)
    assert code == 1, err
    assert f"{first}:18: not JSON" in err and "1 file(s) unreadable" in err
    assert [(r["rescored"], r["error"] is None) for r in reports] == [(0, False), (10, True)]
    assert first.read_bytes() == broken and second.read_bytes() != files[second]


def test_nothing_changes_when_elasticsearch_cannot_be_reached(
    history: Path,
    adapted_model: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = {p: p.read_bytes() for p in ledger.processed_files(HOTEL)}
    write_config(history, adapted_model)
    monkeypatch.setenv("KOUBEI_ES_URL", "http://127.0.0.1:9")  # nothing listens there
    capsys.readouterr()

    code, reports, err = rescore(history, capsys)

    assert code == 2 and "cannot reach Elasticsearch at http://127.0.0.1:9" in err, err
    assert reports == [] and {p: p.read_bytes() for p in files} == files


def test_rescore_waits_for_the_pipeline_lock_and_names_its_holder(
    history: Path, adapted_model: Path
) -> None:
    """A cycle processing or indexing the source's files while they are rewritten would race
    with it: rescore waits for the pipeline lock as `index load` and `reindex` do."""
    from tests.pipeline.index.test_commands import pipeline_lock_held

    files = {p: p.read_bytes() for p in ledger.processed_files(HOTEL)}
    write_config(history, adapted_model)
    args = ["sentiment", "rescore", "--source", HOTEL, "--config-dir", str(history)]
    with pipeline_lock_held(args, dict(os.environ)) as run:
        assert {p: p.read_bytes() for p in files} == files  # nothing done while it waits
    assert run["returncode"] == 0, run["err"]
    assert [json.loads(line)["rescored"] for line in run["out"].splitlines()] == [17, 10]


def test_a_file_whose_batch_fails_is_named_and_left_and_the_others_are_rescored(
    history: Path,
    es: Elasticsearch,
    index_prefix: str,
    adapted_model: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: the BatchFailed of the first file's chunk ended the whole run (exit 2, the second
    # file never re-scored, no JSON line naming the file). Now it is handled as `koubei process`
    # handles it: the file named, left as it was, the other files re-scored, exit 1.
    from koubei.pipeline import rescore as rescore_module

    first, second = ledger.processed_files(HOTEL)
    files = {p: p.read_bytes() for p in (first, second)}
    bad = list(jsonl.read(first))[4]["id"]
    docs = stored(es, index_prefix, HOTEL)
    redo_chunk = rescore_module.redo_chunk

    def fail_on_the_bad_record(
        records: list[dict[str, Any]], model: Any, lexicon: Any
    ) -> list[dict[str, Any]]:  # a record that crashes the re-scoring (a bug, a bad model)
        if any(record["id"] == bad for record in records):
            raise ValueError(f"cannot re-score {bad}")
        return redo_chunk(records, model, lexicon)

    monkeypatch.setattr(rescore_module, "redo_chunk", fail_on_the_bad_record)
    write_config(history, adapted_model)
    capsys.readouterr()

    code, reports, err = rescore(history, capsys, "--workers", "1")

    assert code == 1, err
    assert [(r["file"], r["rescored"]) for r in reports] == [(str(first), 0), (str(second), 10)]
    error = reports[0]["error"]
    assert error.startswith(f"{first}: records 1-17 of 17 (ids "), error
    assert error.endswith(f"failed in this process: ValueError: cannot re-score {bad}"), error
    assert reports[1]["error"] is None
    assert f"koubei: error: {error} (left as it was)" in err
    assert "1 file(s) unreadable or failed" in err
    # the failed file and its documents are as they were, and it is not pending again
    assert first.read_bytes() == files[first] and ledger.is_indexed(first)
    after = stored(es, index_prefix, HOTEL)
    own = {r["id"] for r in jsonl.read(first)}
    assert {k: after[k] for k in own} == {k: docs[k] for k in own}
    adapted = load_model(adapted_model).version
    assert {r["sentiment"]["model_version"] for r in jsonl.read(second)} == {adapted}
    assert {after[r["id"]]["sentiment"]["model_version"] for r in jsonl.read(second)} == {adapted}


def test_a_post_whose_sentiment_is_no_object_is_rescored_not_the_end_of_the_run(
    history: Path, es: Elasticsearch, index_prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Foreign data in a processed file (an export copied in, a hand edit): a post's `sentiment`
    # a string or a list. Before: `out_of_date` read it as an object and the AttributeError
    # ended the whole run (no file after it re-scored, no JSON line). A post without the
    # model's version in an object is out of date, as one without `sentiment` at all is: it
    # is scored again, the others of its file left as they are.
    first, _ = ledger.processed_files(HOTEL)
    records = list(jsonl.read(first))
    records[2]["sentiment"] = "positive"
    records[5]["sentiment"] = ["negative", 0.1]
    jsonl.write_atomic(first, records)
    shipped = load_model()
    capsys.readouterr()

    code, reports, err = rescore(history, capsys)

    assert code == 0, err
    assert [(r["rescored"], r["unchanged"], r["error"]) for r in reports] == [
        (2, 15, None),
        (0, 10, None),
    ]
    # the file rewritten, its two posts re-scored sent (not its 15 others: they are indexed)
    assert reports[0]["index"]["sent"] == reports[0]["index"]["updated"] == 2
    assert reports[1]["index"] is None
    after = list(jsonl.read(first))
    docs = stored(es, index_prefix, HOTEL)
    for n in (2, 5):
        own = shipped.score(after[n]["text_clean"])
        assert after[n]["sentiment"] == {
            "score": round(own[0], 6),
            "label": own[1],
            "model_version": shipped.version,
            "rules_version": rules_version(),
        }
        assert docs[after[n]["id"]]["sentiment"] == after[n]["sentiment"]
    assert [r for n, r in enumerate(after) if n not in (2, 5)] == [
        r for n, r in enumerate(records) if n not in (2, 5)
    ]
