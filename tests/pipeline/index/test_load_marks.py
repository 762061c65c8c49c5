"""``koubei index load`` of processed files by hand, then the cycle: nothing sent twice.

A real node (the session's ``es``) and the ``koubei`` command run as a user runs it. Records are
``build_record``'s Document records (``koubei.model.Document``), the shape ``koubei process``
writes into ``processed/<source>/<run>.jsonl``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import paths
from koubei.jsonl import write_atomic
from koubei.pipeline import ledger

MakeRecord = Callable[..., dict[str, Any]]
KOUBEI = str(Path(sys.executable).parent / "koubei")


def _load(es_url: str, koubei_home: str, *files: Path | str, prefix: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_ES_")}
    env.update(KOUBEI_ES_URL=es_url, KOUBEI_HOME=koubei_home)
    args = [KOUBEI, "index", "load", *map(str, files), "--prefix", prefix]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


def test_a_processed_file_loaded_by_hand_is_not_sent_again_by_the_cycle(
    es: Elasticsearch,
    es_url: str,
    koubei_home: str,
    index_prefix: str,
    make_record: MakeRecord,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: a manual load marked nothing, so the next cycle sent the file again and counted
    each of its posts as updated. Now a processed file loaded whole is marked as the cycle marks
    it (the same counts); one the load left partial (a document dead-lettered) stays pending,
    and a file outside ``processed/`` is loaded and never marked."""
    from koubei.flows.monitor import index_pending
    from koubei.pipeline.ledger import report_counts

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    processed = paths.state_dir("processed") / "weibo-search"
    whole = processed / "r1.jsonl"
    write_atomic(whole, (make_record(i) for i in range(6)))
    refused = make_record(7)
    refused["id"] = "w" * 600  # an _id over 512 bytes: Elasticsearch refuses it, dead-lettered
    partial = processed / "r2.jsonl"
    write_atomic(partial, [make_record(8), refused])
    own = tmp_path / "mine.jsonl"  # a user's own file
    write_atomic(own, [make_record(20)])

    # By a relative name, as typed in the folder: the ledger knows the file all the same.
    relative = os.path.relpath(whole)
    loaded = _load(es_url, koubei_home, relative, partial, own, prefix=index_prefix)

    assert loaded.returncode == 1, loaded.stderr  # the partial file's refused document
    report = json.loads(loaded.stdout.splitlines()[-1])
    assert (report["sent"], report["created"], report["failed"]) == (9, 8, 1)
    assert ledger.is_indexed(whole)
    marker = json.loads((processed / "r1.jsonl.indexed").read_text())
    assert marker.keys() == report_counts(index_pending_report()).keys()
    assert (marker["sent"], marker["created"], marker["updated"]) == (6, 6, 0)
    assert ledger.pending_index() == [partial]  # left for the cycle: nothing lost
    assert not list(tmp_path.glob("*.indexed"))

    cycle = index_pending.fn(index_prefix, False)
    assert (cycle["sent"], cycle["updated"], cycle["failed"]) == (2, 1, 1)  # the partial one
    assert ledger.pending_index() == []
    assert index_pending.fn(index_prefix, False).get("sent", 0) == 0


def index_pending_report() -> Any:
    """An index report as the cycle's index stage gets one from the writer."""
    from koubei.pipeline.index.documents import IndexReport

    return IndexReport()


def test_a_load_that_fails_marks_nothing(
    es_url: str, koubei_home: str, index_prefix: str, make_record: MakeRecord
) -> None:
    """A load that never reached the cluster (a wrong address: refused at the health check)
    leaves the processed file pending, for the cycle to send."""
    processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
    write_atomic(processed, [make_record(1)])
    loaded = _load("http://127.0.0.1:9", koubei_home, processed, prefix=index_prefix)
    assert loaded.returncode != 0
    assert ledger.pending_index() == [processed]


def test_a_directory_in_place_of_a_marker_is_moved_aside_and_its_file_indexed(
    es: Elasticsearch,
    es_url: str,
    koubei_home: str,
    index_prefix: str,
    make_record: MakeRecord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A directory named ``<run>.jsonl.indexed`` (a copy or a hand edit gone wrong) counted as
    the marker: the file was never sent, and nothing said so (session 37's damaged-state
    hunt). Only a file is a marker; the directory is moved aside, named, and the file sent."""
    from koubei.flows.monitor import index_pending

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    processed = paths.state_dir("processed") / "weibo-search"
    run = processed / "r1.jsonl"
    write_atomic(run, (make_record(i) for i in range(4)))
    (processed / "r1.jsonl.indexed").mkdir()
    (processed / "r1.jsonl.indexed" / "left.txt").write_text("x")

    assert ledger.pending_index() == [run]
    cycle = index_pending.fn(index_prefix, False)
    assert (cycle["sent"], cycle["created"]) == (4, 4)
    assert ledger.is_indexed(run)
    assert json.loads((processed / "r1.jsonl.indexed").read_text())["sent"] == 4
    (aside,) = processed.glob("r1.jsonl.indexed.not-a-marker-*")
    assert (aside / "left.txt").read_text() == "x"  # moved, not deleted
    assert index_pending.fn(index_prefix, False).get("sent", 0) == 0
