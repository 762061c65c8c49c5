"""What an operator does around the pipeline, on real processes: two ``koubei process`` at once,
a summary that adds up, landing files the crawler left in odd shapes.

Each test runs the real CLI in subprocesses over an isolated ``$KOUBEI_HOME``; nothing is mocked.
Run alone: ``pytest -m faults tests/faults/test_operator_actions.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from koubei import jsonl, paths

pytestmark = [pytest.mark.faults, pytest.mark.slow, pytest.mark.timeout(300)]

SOURCE = "test-shop"


def _record(n: int) -> dict[str, Any]:
    return {
        "id": f"shop_json:{SOURCE}-{n}",
        "platform": "shop_json",
        "source": SOURCE,
        "kind": "review",
        "native_id": f"{SOURCE}-{n}",
        "text_raw": f"第{n}条评论：质量很好，物流也快，包装{n}号",
        "created_at": "2026-11-20T08:00:00+08:00",
        "crawled_at": "2026-11-21T08:00:00+08:00",
    }


def _land(name: str, lines: list[bytes]) -> Path:
    path = paths.state_dir("landing") / SOURCE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(lines))
    return path


def _line(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def _koubei(*argv: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.Popen(
        [sys.executable, "-m", "koubei.flows.cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _reports(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


SUMMARY = re.compile(
    r"koubei process: (\d+) file\(s\), (\d+) line\(s\) read: (\d+) processed, "
    r"(\d+) rejected \(in rejected/\); (\d+) file\(s\) unreadable"
)


def test_two_koubei_process_at_once_process_each_file_once(koubei_home: str) -> None:
    """Before: ``koubei process`` took no lock; two started together (a manual run beside
    ``koubei serve``'s cycle, or twice by hand) each processed every pending file, racing on
    the dedup state and rewriting each other's output. Now the second waits for the pipeline
    lock, then finds nothing pending; the first ends with a summary line that adds up."""
    for run in range(3):
        good = [_line(_record(run * 10 + n)) for n in range(5)]
        _land(f"run{run}.jsonl", [*good, b'{"id": "cut by a killed crawler\n'])

    runs = [_koubei("process", "--no-progress", "--workers", "1") for _ in range(2)]
    results = [run.communicate(timeout=240) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], results
    reports = [r for out, _ in results for r in _reports(out)]
    names = sorted(Path(r["source_file"]).name for r in reports)
    assert names == ["run0.jsonl", "run1.jsonl", "run2.jsonl"], "each file processed once"
    assert sorted(out.strip() for out, _ in results)[0] == "nothing to process"
    (summary,) = [m for _, err in results for m in SUMMARY.findall(err)]
    files, read, processed, rejected, unreadable = map(int, summary)
    assert (files, processed, rejected, unreadable) == (3, 15, 3, 0)
    assert read == processed + rejected
    processed_ids = [
        r["id"]
        for path in sorted((paths.state_dir("processed") / SOURCE).glob("*.jsonl"))
        for r in jsonl.read(path)
    ]
    assert len(processed_ids) == len(set(processed_ids)) == 15


def test_gzip_landing_files_are_processed_and_a_cut_stream_keeps_what_came_before(
    koubei_home: str,
) -> None:
    """Before: ``*.jsonl.gz`` landing files (old runs compressed by an operator, or a feed
    exported through Scrapy's ``GzipPlugin``) were not seen at all: ``nothing to process``,
    their posts never indexed and nobody told. Now they are read through gzip; a stream cut off
    by a killed writer keeps every line before the cut and sets the cut aside with its line."""
    import gzip

    whole = [_line(_record(n)) for n in range(5)]
    _land("run0.jsonl.gz", [gzip.compress(b"".join(whole))])
    many = gzip.compress(b"".join(_line(_record(100 + n)) for n in range(300)))
    _land("run1.jsonl.gz", [many[: len(many) * 6 // 10]])  # the writer killed mid-stream

    run = _koubei("process", "--no-progress", "--workers", "1")
    out, err = run.communicate(timeout=240)

    assert run.returncode == 0, err
    reports = {Path(r["source_file"]).name: r for r in _reports(out)}
    assert set(reports) == {"run0.jsonl.gz", "run1.jsonl.gz"}, out
    assert (reports["run0.jsonl.gz"]["processed"], reports["run0.jsonl.gz"]["rejected"]) == (5, 0)
    cut = reports["run1.jsonl.gz"]
    assert 0 < cut["processed"] < 300 and cut["rejected"] == 1
    (reject,) = jsonl.read(Path(cut["rejected_file"]))
    assert reject["line"] == cut["processed"] + 1 and "gzip" in reject["reason"]
    kept = list(jsonl.read(paths.state_dir("processed") / SOURCE / "run1.jsonl"))
    assert [r["id"] for r in kept] == [_record(100 + n)["id"] for n in range(cut["processed"])]
    (summary,) = SUMMARY.findall(err)
    assert tuple(map(int, summary)) == (2, 5 + cut["processed"] + 1, 5 + cut["processed"], 1, 0)

    # Processed once: the next run finds nothing pending.
    again = _koubei("process", "--no-progress", "--workers", "1")
    assert again.communicate(timeout=240)[0].strip() == "nothing to process"


@pytest.mark.es
def test_a_bad_processed_file_is_set_aside_and_the_files_after_it_are_indexed(
    es: Any, es_url: str, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the flow's index task read each processed file with ``jsonl.read``, which raises
    at the first line that is not a record (a file damaged on disk, cut by a full disk, edited
    by hand) or when the file cannot be opened. The task failed, its retries met the same line,
    and every later cycle stopped there: the rest of that file and the files sorted after it
    were never indexed (measured: 1,107 of 3,005 documents, for a bad line 1,501 of 3,000).
    Now a bad line is dead-lettered with its file
    and line, the rest of that file is indexed, a file that cannot be opened stays pending and
    is named, and the files after both are indexed."""
    from koubei.flows.monitor import index_pending
    from koubei.pipeline import ledger
    from koubei.pipeline.index import spool
    from koubei.pipeline.index.templates import posts_alias

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    processed = paths.state_dir("processed")
    unreadable = processed / "aaa-shop" / "r0.jsonl"
    unreadable.mkdir(parents=True)  # a directory by a processed file's name: open() fails
    damaged = processed / SOURCE / "r1.jsonl"
    lines = [jsonl.dumps_line(_record(n)).encode() for n in range(10)]
    lines.insert(4, b'{"id": "shop_json:test-shop-x", "text_raw": "\xe5\x85\n')  # cut mid-line
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"".join(lines))
    after = processed / "zzz-shop" / "r2.jsonl"
    jsonl.write_atomic(after, [_record(100 + n) for n in range(5)])

    totals = index_pending.fn(index_prefix, False)

    assert (totals["created"], totals["failed"], totals.get("spooled", 0)) == (15, 1, 0)
    assert totals["unreadable"] == [str(unreadable)]
    assert ledger.pending_index() == [unreadable]  # waits, named, for someone to fix it
    (letter,) = [
        line for path in spool.dead_letter_dir().glob("*.jsonl") for line in jsonl.read(path)
    ]
    assert f"{damaged}:5" in letter["reason"]
    assert spool.spool_files(index_prefix) == []
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 15

    unreadable.rmdir()
    again = index_pending.fn(index_prefix, False)
    assert again.get("sent", 0) == 0 and ledger.pending_index() == []


def test_an_unreadable_dedup_state_is_moved_aside_and_processing_goes_on(
    koubei_home: str,
) -> None:
    """Before: a dedup state file that could not be unpickled (damaged on disk, or written by a
    datasketch/numpy this one cannot read after an upgrade) stopped ``koubei process`` with an
    ``UnpicklingError`` traceback, and every later run and cycle at the same place: nothing
    was processed again until someone deleted it. Now it is moved aside with one error line
    naming both paths, near-duplicate clusters restart, and the files are processed."""
    _land("run0.jsonl", [_line(_record(n)) for n in range(3)])
    state = paths.state_dir("dedup") / "minhash_lsh.pickle"
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_bytes(b"\x80\x05\x95 a pickle cut short")

    run = _koubei("process", "--no-progress", "--workers", "1")
    out, err = run.communicate(timeout=240)

    assert run.returncode == 0, err
    assert "Traceback" not in err
    (report,) = _reports(out)
    assert (report["processed"], report["rejected"]) == (3, 0)
    (aside,) = state.parent.glob("minhash_lsh.pickle.unreadable-*")
    assert aside.read_bytes() == b"\x80\x05\x95 a pickle cut short"
    assert "dedup state unreadable" in err and str(aside) in err
    assert state.exists()  # the new state, saved after the batch


@pytest.mark.es
def test_a_damaged_spool_file_is_replayed_with_its_bad_line_dead_lettered(
    es: Any, es_url: str, index_prefix: str, koubei_home: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the replay read a spool file with ``jsonl.read``, which raises at the first line
    that is not a record (a spool file damaged on disk or edited by hand): the flow's replay
    task failed, its retries too, and since each cycle replays before it indexes, every later
    cycle stopped there and nothing new was indexed again (measured: 1,006 of 3,000 documents
    of the file, at a bad line 1,501). Now the bad line is dead-lettered with its file and line,
    the rest is replayed and the file deleted; a spool entry that cannot be opened is kept."""
    from koubei.flows.monitor import replay_spool
    from koubei.pipeline.index import spool
    from koubei.pipeline.index.templates import posts_alias

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    folder = spool.spool_dir(index_prefix)
    unopenable = folder / "20261120T000000000000Z-aaaaaaaa.jsonl"
    unopenable.mkdir(parents=True)  # a directory by a spool file's name
    damaged = folder / "20261120T000001000000Z-bbbbbbbb.jsonl"
    lines = [jsonl.dumps_line(_record(n)).encode() for n in range(20)]
    lines.insert(10, b'{"id": "shop_json:test-shop-x", "text_raw": "\xe5\x85\n')
    damaged.write_bytes(b"".join(lines))
    later = folder / "20261120T000002000000Z-cccccccc.jsonl"
    jsonl.write_atomic(later, [_record(100 + n) for n in range(5)])

    replayed = replay_spool.fn(index_prefix)

    assert (replayed["sent"], replayed["created"], replayed["failed"]) == (26, 25, 1)
    assert replayed["spooled"] == 0
    assert spool.spool_files(index_prefix) == [unopenable]  # kept for someone to look at
    (letter,) = [
        line for path in spool.dead_letter_dir().glob("*.jsonl") for line in jsonl.read(path)
    ]
    assert f"{damaged}:11" in letter["reason"]
    es.indices.refresh(index=posts_alias(index_prefix))
    assert es.count(index=posts_alias(index_prefix))["count"] == 25
