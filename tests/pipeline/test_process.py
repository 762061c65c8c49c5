"""The processing stage over landing files: rejects set aside, parallel equals sequential."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from koubei import jsonl
from koubei.pipeline.aspects import load_aspects
from koubei.pipeline.clean import MAX_CHARS
from koubei.pipeline.enrich import Enricher
from koubei.pipeline.process import process_file, process_records
from koubei.pipeline.sentiment import load_model
from koubei.timeutil import CLOCK_ENV
from tests.pipeline.conftest import processed

LEXICON = load_aspects()


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_model()


def test_process_file_sets_aside_bad_records_with_the_reason(
    koubei_home: str, tmp_path: Path, model, review_records
) -> None:  # type: ignore[no-untyped-def]
    records = review_records(5)
    records[2] = {**records[2], "created_at": "yesterday-ish"}
    del records[3]["text_raw"]
    landing = tmp_path / "landing" / "test-shop" / "run1.jsonl"
    jsonl.write_atomic(landing, records)
    output = tmp_path / "processed.jsonl"

    report = process_file(landing, output, model=model, lexicon=LEXICON)

    assert (report.processed, report.rejected) == (3, 2)
    rejected = list(jsonl.read(Path(report.rejected_file or "")))
    assert [r["line"] for r in rejected] == [3, 4]
    assert "created_at" in rejected[0]["reason"] and "text_raw" in rejected[1]["reason"]
    processed = list(jsonl.read(output))
    assert [r["id"] for r in processed] == [records[i]["id"] for i in (0, 1, 4)]
    for record in processed:
        assert "<p>" not in record["text_clean"]
        assert record["sentiment"]["model_version"] == model.version
        assert record["dup_cluster"]
    assert sum(report.labels.values()) == 3


def test_a_record_longer_than_cleaning_takes_is_set_aside_with_its_file_and_line(
    koubei_home: str, tmp_path: Path, model, review_records
) -> None:  # type: ignore[no-untyped-def]
    """A 5 MB text_raw (a page dump, not a post) was cut to MAX_CHARS without a word and its
    first 200,000 characters scored as one post, seconds of work for one record."""
    records = review_records(3)
    records[1] = {**records[1], "text_raw": "质量很好。" * (MAX_CHARS // 5 + 1)}
    landing = tmp_path / "landing" / "test-shop" / "run1.jsonl"
    jsonl.write_atomic(landing, records)

    report = process_file(landing, tmp_path / "processed.jsonl", model=model, lexicon=LEXICON)

    assert (report.processed, report.rejected) == (2, 1)
    (rejected,) = jsonl.read(Path(report.rejected_file or ""))
    assert rejected["file"] == str(landing) and rejected["line"] == 2
    assert rejected["reason"] == (
        f"text_raw: {MAX_CHARS + 5:,} characters, more than the {MAX_CHARS:,} one record may hold"
    )
    assert rejected["record"]["id"] == records[1]["id"]


def test_a_crawl_time_is_kept_and_a_missing_one_stays_missing(
    koubei_home: str, review_records, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Before: a record without ``crawled_at`` (an export given to ``koubei process``) came out
    crawled at the time it was processed, so a month of imported posts read as collected today
    (the brief's "此前无数据", a source's data as fresh)."""
    monkeypatch.setenv(CLOCK_ENV, "2026-11-21T12:00:00+08:00")
    exported, crawled = review_records(2)
    crawled["crawled_at"] = "2026-11-20T09:30:00+08:00"
    out_exported, out_crawled = processed([exported, crawled], koubei_home)
    assert out_exported["crawled_at"] is None  # null, as every unknown field of a record
    assert out_crawled["crawled_at"] == "2026-11-20T09:30:00+08:00"
    assert out_exported["sentiment"] and out_crawled["sentiment"]  # both processed all the same


def test_two_workers_give_exactly_the_sequential_result(
    tmp_path: Path, model, review_records
) -> None:  # type: ignore[no-untyped-def]
    records = review_records(240)
    records += [dict(records[0], id="shop_json:copy", native_id="copy")]  # a near-duplicate
    sequential = process_records(
        records, model=model, lexicon=LEXICON, dedup_state_dir=tmp_path / "a"
    )
    with Enricher(model, LEXICON, workers=2, chunk=20) as enricher:
        enricher.start(wait_ready=True)
        parallel = process_records(
            records, model=model, lexicon=LEXICON, dedup_state_dir=tmp_path / "b", enricher=enricher
        )
        assert enricher.chunks_by_helpers > 0 and enricher.chunks_here > 0
    assert json.dumps(parallel, sort_keys=True) == json.dumps(sequential, sort_keys=True)
    assert parallel[-1]["dup_cluster"] == parallel[0]["dup_cluster"]


def test_a_text_that_cleaning_empties_is_scored_as_having_no_words(
    tmp_path: Path, model, review_records
) -> None:  # type: ignore[no-untyped-def]
    """Cleaning can leave nothing: a post that is only a script, a link, site furniture or a
    spam line. The stages then read ``text_raw`` instead (``text_clean or text_raw``): the
    script was scored negative (0.34) and counted in the brand's negative share, the spam line
    neutral, and two posts of different links were one near-duplicate cluster."""
    base = review_records(1)[0]
    raws = [
        "<script>var _hmt = _hmt || []; (function() { var hm = document.createElement('script');"
        " hm.src = 'https://hm.baidu.com/hm.js?1a2b3c'; })();</script>",
        "国产精品区一区二区免费",  # the spam line of a crawled page (pages/001, its last line)
        "本文来源：新浪财经\n责任编辑：张三",
        "https://item.taobao.com/item.htm?id=111111",
        "https://item.taobao.com/item.htm?id=222222",
    ]
    records = [
        dict(base, id=f"shop_json:e{n}", native_id=f"e{n}", text_raw=raw)
        for n, raw in enumerate(raws)
    ]
    processed = process_records(records, model=model, lexicon=LEXICON, dedup_state_dir=tmp_path)
    for record in processed:
        assert record["text_clean"] == ""
        assert record["sentiment"]["label"] == "no_opinion", record["text_raw"]
        assert record["aspects"] == []
    assert len({record["dup_cluster"] for record in processed}) == len(raws)


def test_the_progress_bar_draws_its_final_count_however_fast_the_batches_come(
    model, review_records, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """tqdm draws at most every 0.1 s, and a bar that does not stay closes without drawing:
    batches that all came back within 0.1 s of the last drawing left the count at 0/12 (in
    tests/flows/test_dask.py, at 80/240 now and then, when the last two batches came back
    together)."""
    records = review_records(12)
    with Enricher(model, LEXICON, chunk=4) as enricher:
        process_records(records, model=model, lexicon=LEXICON, progress=True, enricher=enricher)
    err = capsys.readouterr().err
    assert "process: 100%" in err and "12/12" in err, err
