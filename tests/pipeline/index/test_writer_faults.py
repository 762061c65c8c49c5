"""The writer against real refusals: 413 and 429 from a node with small limits, 5xx that
outlasts the retries (a proxy in front of the session node). Nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import es_local
from koubei.jsonl import read
from koubei.pipeline.index import spool
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records, replay_spool

from .conftest import build_record
from .faulty_proxy import faulty_proxy

pytestmark = [pytest.mark.es, pytest.mark.slow]


def _stored(es: Elasticsearch, prefix: str) -> tuple[int, int]:
    """(documents, distinct ids) under the prefix's read alias."""
    es.indices.refresh(index=posts_alias(prefix))
    count = int(es.count(index=posts_alias(prefix))["count"])
    ids = es.search(
        index=posts_alias(prefix), size=0,
        aggs={"ids": {"cardinality": {"field": "id", "precision_threshold": 40000}}},
    )  # fmt: skip
    return count, int(ids["aggregations"]["ids"]["value"])


def test_413_splits_the_request_and_dead_letters_only_the_document_too_big_alone(
    limits_es: Elasticsearch, koubei_home: str
) -> None:
    prefix = "big"
    records = [build_record(i) for i in range(1500)]  # ~1 MB per chunk of 1,000: over 200 kb
    huge = build_record(5000, text_raw="长" * 120_000)  # ~360 kB alone
    records.insert(700, huge)
    report = index_records(limits_es, records, prefix=prefix)
    assert (report.sent, report.created, report.failed, report.spooled) == (1501, 1500, 1, 0)
    assert report.dead_letter is not None
    [letter] = list(read(report.dead_letter))
    assert (letter["id"], letter["status"]) == (huge["id"], 413)
    assert "http.max_content_length" in letter["reason"]
    assert _stored(limits_es, prefix) == (1500, 1500)


def test_a_document_over_the_nodes_indexing_pressure_limit_is_dead_lettered_not_spooled(
    es: Elasticsearch, index_prefix: str, koubei_home: str
) -> None:
    """Found by session 37's fuzzing of ``koubei index load``: a 30 MB post (a page's text cut
    out badly, a base64 picture in ``text_raw``) was answered 429 ``es_rejected_execution_
    exception`` (``primary_operation_bytes=120000064, max_primary_bytes=53687091`` on the
    session node's 512 MB heap), retried with back-off for 17 s, then spooled; every replay and
    every load of the file spooled it again. The node refuses it however idle it is: it is the
    document's fault, dead-lettered as a 413 document too big alone is. Sized from the node's
    own limit (``indexing_pressure.memory.limit``, 10 % of the heap), under its 100 MB
    ``http.max_content_length``."""
    stats = es.nodes.stats(metric="indexing_pressure")
    limit = min(n["indexing_pressure"]["memory"]["limit_in_bytes"] for n in stats["nodes"].values())
    huge = build_record(900, text_raw="a" * (limit // 2))  # counted at ~4 times its JSON
    records = [build_record(i) for i in range(5)]
    records.insert(3, huge)
    for _ in range(2):  # a re-run of the same file: refused again, never spooled
        report = index_records(es, records, prefix=index_prefix, initial_backoff=0.05)
        assert (report.sent, report.failed, report.spooled) == (6, 1, 0)
        assert report.dead_letter is not None
        [letter] = list(read(report.dead_letter))
        assert (letter["id"], letter["status"]) == (huge["id"], 429)
        assert "indexing pressure" in letter["reason"]
    assert _stored(es, index_prefix) == (5, 5)
    assert spool.spool_files(index_prefix) == []
    assert replay_spool(es, index_prefix).sent == 0


def test_429_from_a_full_write_queue_is_retried_or_spooled_and_nothing_is_lost(
    limits_es: Elasticsearch, koubei_home: str
) -> None:
    prefix = "busy"
    total = 3000
    stop = threading.Event()

    def neighbour(n: int) -> None:  # other writers keep the one write thread busy
        operations: list[dict[str, object]] = []
        for i in range(100):
            operations += [{"index": {"_index": f"noise-{n}"}}, {"n": i, "text": "噪音" * 50}]
        while not stop.is_set():
            limits_es.options(max_retries=0, ignore_status=429).bulk(operations=operations)

    threads = [threading.Thread(target=neighbour, args=(n,), daemon=True) for n in range(3)]
    for thread in threads:
        thread.start()
    options: dict[str, Any] = {"chunk_size": 100, "max_retries": 30, "initial_backoff": 0.05,
                               "max_backoff": 0.5}  # fmt: skip
    try:
        records = [build_record(i) for i in range(total)]
        first = index_records(limits_es, records, prefix=prefix, **options)
        again = index_records(limits_es, records, prefix=prefix, **options)  # a re-crawl
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    # Under sustained overload a document may use up its retries: it is spooled, not dropped,
    # and the replay once the neighbours stopped sends it.
    replayed = replay_spool(limits_es, prefix)
    assert first.retries + again.retries > 0, "the node never answered 429: proves nothing"
    for report in (first, again, replayed):
        assert report.failed == 0  # a 429 is never the document's fault
        assert report.created + report.updated + report.spooled == report.sent
    assert replayed.spooled == 0 and spool.spool_files(prefix) == []
    assert first.created + again.created + replayed.created == total  # each created once
    assert _stored(limits_es, prefix) == (total, total)


def test_5xx_outlasting_the_retries_spools_in_flight_and_unread_then_replay_completes(
    es: Elasticsearch, es_url: str, index_prefix: str, koubei_home: str
) -> None:
    total = 2500
    records = [build_record(i) for i in range(total)]

    def plan(method: str, path: str, n: int) -> int | None:
        # The first four bulk requests pass, then every one fails: 500, 502, 503 in turn.
        if path.endswith("/_bulk") and n > 4:
            return (500, 502, 503)[n % 3]
        return None

    with faulty_proxy(es_url, plan) as (url, injected):
        through = Elasticsearch(url, request_timeout=30)  # the client's default retries
        report = index_records(
            through, records, prefix=index_prefix, chunk_size=200, max_retries=2,
            initial_backoff=0.01,
        )  # fmt: skip
    # One retry layer: a failing chunk is sent 1 + max_retries times, not (1 + the client's
    # 3) * (1 + max_retries). Two lanes were in flight, and a lane's retry may take two
    # requests (its chunk plus the document the chunker had already read): at most
    # 2 lanes * 3 tries * 2 requests = 12 answers, where stacked client retries would send up
    # to four times as many for every 502/503.
    assert 2 <= report.retries <= 2 * 2
    assert 3 <= sum(injected.values()) <= 2 * (1 + 2) * 2
    assert report.created == 4 * 200
    assert (report.sent, report.failed) == (total, 0)
    assert report.spooled == total - report.created
    assert spool.spooled_count(index_prefix) == report.spooled

    replayed = replay_spool(es, index_prefix)
    assert (replayed.created, replayed.failed, replayed.spooled) == (total - 800, 0, 0)
    assert spool.spool_files(index_prefix) == []
    assert _stored(es, index_prefix) == (total, total)


def test_5xx_that_passes_within_the_retries_loses_nothing(
    es: Elasticsearch, es_url: str, index_prefix: str, koubei_home: str
) -> None:
    records = [build_record(i) for i in range(1000)]

    def plan(method: str, path: str, n: int) -> int | None:
        return 503 if path.endswith("/_bulk") and n in (2, 3, 5) else None

    with faulty_proxy(es_url, plan) as (url, injected):
        through = Elasticsearch(url, request_timeout=30)
        report = index_records(
            through, records, prefix=index_prefix, chunk_size=100, initial_backoff=0.01
        )
    assert injected[503] == 3
    assert (report.created, report.failed, report.spooled) == (1000, 0, 0)
    assert _stored(es, index_prefix) == (1000, 1000)


def test_the_flows_index_task_spools_once_when_the_node_goes_away(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from koubei import jsonl, paths
    from koubei.flows.monitor import index_pending
    from koubei.flows.monitor import replay_spool as replay_task
    from koubei.pipeline import ledger

    total = 600
    processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
    jsonl.write_atomic(processed, [build_record(i) for i in range(total)])

    def plan(method: str, path: str, n: int) -> int | None:
        # The node "goes away" once the run starts writing: bulk requests and the refresh
        # answer 503 (the template check before them passes).
        if path.endswith(("/_bulk", "/_refresh")):
            return 503
        return None

    with faulty_proxy(es_url, plan) as (url, _):
        monkeypatch.setenv("KOUBEI_ES_URL", url)
        # The task body: it must end normally, so Prefect's retries do not read the pending
        # file again and spool every document a second time.
        totals = index_pending.fn(index_prefix, False)
    assert totals["spooled"] > 0
    assert totals.get("created", 0) + totals["spooled"] == total
    assert spool.spooled_count(index_prefix) == totals["spooled"]
    # Done: what was not acknowledged waits in the spool (sending the file again each cycle
    # spooled it once more; see the next test).
    assert ledger.pending_index() == []

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)
    replayed = replay_task.fn(index_prefix)
    assert replayed["sent"] == totals["spooled"]
    assert replayed.get("spooled", 0) == 0 and spool.spool_files(index_prefix) == []
    assert _stored(es, index_prefix) == (total, total)


def test_the_flows_index_task_spools_at_once_when_the_node_is_gone_before_it_starts(
    es: Elasticsearch,
    es_url: str,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The node went away between the cycle's health check and its index task. The task
    installed the templates itself, outside the writer: the connection error escaped the task,
    and Prefect retried it for 65 s (5 + 15 + 45) before the run failed, nothing spooled. Now
    the templates go through the writer, which spools what meets a gone node, as it does when
    a write meets it: the task ends at once with the file's documents in the spool."""
    import socket
    import time

    from structlog.testing import capture_logs

    from koubei import jsonl, paths
    from koubei.flows.monitor import index_pending
    from koubei.flows.monitor import replay_spool as replay_task
    from koubei.pipeline import ledger

    total = 50
    processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
    jsonl.write_atomic(processed, [build_record(i) for i in range(total)])
    with socket.socket() as sock:  # a port nothing listens on: the node is gone
        sock.bind(("127.0.0.1", 0))
        gone = sock.getsockname()[1]
    monkeypatch.setenv("KOUBEI_ES_URL", f"http://127.0.0.1:{gone}")
    started = time.monotonic()
    with capture_logs() as logs:
        totals = index_pending.fn(index_prefix, False)  # raised ConnectionError
    assert time.monotonic() - started < 20
    assert (totals["sent"], totals["spooled"], totals.get("created", 0)) == (total, total, 0)
    (said,) = [e for e in logs if e["event"] == "documents spooled for `koubei index replay`"]
    assert said["count"] == total  # the writer's own line, as for a write that met the outage
    assert spool.spooled_count(index_prefix) == total and ledger.pending_index() == []

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)  # the node is back: the next cycle replays
    replayed = replay_task.fn(index_prefix)
    assert (replayed["sent"], replayed["created"]) == (total, total)
    assert _stored(es, index_prefix) == (total, total)


def test_a_document_refused_every_cycle_is_spooled_once_not_once_more_per_cycle(
    es: Elasticsearch, es_url: str, index_prefix: str, koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A post of a month the operator closed (an archived month; a re-crawl or a backfill of an
    old post) is refused with 400 ``index_closed_exception``: the cluster's state, so it is
    spooled until the month is reopened. The processed file holding it used to stay pending
    because something of it was spooled: every cycle sent the whole file again and spooled the
    post once more, while the replay re-spooled the copy before, so the spool gained a copy of
    the post per cycle for as long as the month stayed closed (4 after 4 cycles). The spool is
    where an unacknowledged document waits (written atomically before the file is marked), so
    the file is done once its documents are acknowledged, dead-lettered or spooled."""
    from koubei import jsonl, paths
    from koubei.flows.monitor import index_pending
    from koubei.flows.monitor import replay_spool as replay_task
    from koubei.pipeline import ledger

    monkeypatch.setenv("KOUBEI_ES_URL", es_url)  # the flow's tasks find the node as a run does
    october = "2026-10-15T12:00:00+08:00"
    index_records(es, [build_record(1, created_at=october)], prefix=index_prefix)
    archived = f"{index_prefix}-posts-2026.10"
    es.indices.close(index=archived)
    processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
    jsonl.write_atomic(processed, [build_record(2, created_at=october), build_record(3)])
    for _ in range(4):  # four cycles: replay, then index what is pending
        replay_task.fn(index_prefix)
        index_pending.fn(index_prefix, False)
    assert spool.spooled_count(index_prefix) == 1
    assert len(spool.spool_files(index_prefix)) == 1
    assert ledger.pending_index() == []

    es.indices.open(index=archived)
    es.cluster.health(index=archived, wait_for_status="yellow", timeout="60s")
    replayed = replay_task.fn(index_prefix)
    assert (replayed["sent"], replayed["created"], replayed["spooled"]) == (1, 1, 0)
    assert spool.spool_files(index_prefix) == []
    assert _stored(es, index_prefix) == (3, 3)


def test_writes_refused_for_the_credentials_keep_one_copy_in_the_spool_across_retries(
    es: Elasticsearch, es_url: str, index_prefix: str, koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Credentials that may no longer write (revoked mid-incident, a role without ``write`` on a
    month): the writer spools what it could not send, then raises one clear error. The spool
    file being replayed (or the processed file being indexed) was kept as well, so each retry
    of the flow's task, and each later cycle, added another full copy: 4 copies of a 5-document
    spool file after 3 refused replays, the processed file spooled again by every retry."""
    from koubei import jsonl, paths
    from koubei.flows.monitor import index_pending
    from koubei.pipeline import ledger
    from koubei.pipeline.index.client import ESAuthError

    spool.write_spool(index_prefix, [build_record(i) for i in range(5)])
    processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
    jsonl.write_atomic(processed, [build_record(i) for i in range(5, 9)])

    def plan(method: str, path: str, n: int) -> int | None:
        return 403 if path.endswith("/_bulk") else None

    with faulty_proxy(es_url, plan) as (url, injected):
        through = Elasticsearch(url, request_timeout=30, max_retries=0)
        for _ in range(3):  # the flow's replay task and its two retries
            with pytest.raises(ESAuthError):
                replay_spool(through, index_prefix)
        monkeypatch.setenv("KOUBEI_ES_URL", url)
        with pytest.raises(ESAuthError):
            index_pending.fn(index_prefix, False)
        assert index_pending.fn(index_prefix, False).get("sent", 0) == 0  # the task's retry
    assert injected[403] >= 4
    assert spool.spooled_count(index_prefix) == 5 + 4
    assert ledger.pending_index() == []  # its documents wait in the spool

    replayed = replay_spool(es, index_prefix)
    assert (replayed.sent, replayed.created, replayed.spooled) == (9, 9, 0)
    assert _stored(es, index_prefix) == (9, 9)


# Free space each byte watermark asks for: more than any test machine has, so the node passes
# its flood stage at once and puts ``index.blocks.read_only_allow_delete`` on its indices.
FULL_DISK = {
    "cluster.routing.allocation.disk.threshold_enabled": True,
    "cluster.routing.allocation.disk.watermark.low": "100tb",
    "cluster.routing.allocation.disk.watermark.high": "50tb",
    "cluster.routing.allocation.disk.watermark.flood_stage": "10tb",
    "cluster.info.update.interval": "10s",  # the least: the block comes and goes sooner
}


def _read_only(es: Elasticsearch, index: str) -> bool:
    name = "index.blocks.read_only_allow_delete"
    found = es.indices.get_settings(index=index, name=name, flat_settings=True)
    return found.get(index, {}).get("settings", {}).get(name) == "true"


def _wait_for(predicate: Any, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the node did not move its flood-stage block"
        time.sleep(1)


def test_a_full_disk_spools_saying_so_and_replay_lands_everything_once_after(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, koubei_home: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The disk flood stage, for real: the node's watermarks set past its free space, so it
    makes its indices read-only (``index.blocks.read_only_allow_delete``, a 429
    ``cluster_block_exception``). ``koubei index load`` and the flow's index task spool, dead-
    letter nothing, and their notices say the disk is full and what to do (they said only
    "Elasticsearch did not take them now", the log "cluster kept answering 429/5xx", which
    pointed at the load). With the watermarks reset the node lifts the block itself, and
    ``koubei index replay`` lands every document once. (A block put by hand is no test: the
    node lifts it at its next disk check, while the writer retries.)"""
    from koubei import jsonl, paths
    from koubei.flows.monitor import index_pending
    from koubei.flows.outcome import RunSummary

    prefix = f"disk{uuid.uuid4().hex[:8]}"
    month = f"{prefix}-posts-2026.11"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_ES_")}
    env.update(KOUBEI_ES_URL=limits_node.url, KOUBEI_HOME=koubei_home)
    monkeypatch.setenv("KOUBEI_ES_URL", limits_node.url)  # the flow's task finds this node
    koubei = str(Path(sys.executable).parent / "koubei")
    try:
        index_records(limits_es, [build_record(0)], prefix=prefix)
        limits_es.cluster.put_settings(transient=FULL_DISK)
        _wait_for(lambda: _read_only(limits_es, month))
        landing = tmp_path / "posts.jsonl"
        jsonl.write_atomic(landing, [build_record(i) for i in range(5)])
        load = [koubei, "index", "load", str(landing), "--prefix", prefix]
        loaded = subprocess.run(load, env=env, capture_output=True, text=True, timeout=300)
        assert loaded.returncode == 1, loaded.stderr
        report = json.loads(loaded.stdout.strip().splitlines()[-1])
        assert (report["sent"], report["spooled"], report["failed"]) == (5, 5, 0)
        (notice,) = [e for e in loaded.stderr.splitlines() if "5 of 5 document(s) spooled" in e]
        assert f"out of disk space: index {month} is read-only" in notice, notice
        assert "free disk space" in notice and "koubei index replay" in notice

        processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
        jsonl.write_atomic(processed, [build_record(i) for i in range(5, 8)])
        indexed = index_pending.fn(prefix, False)  # a `koubei run` cycle's index task
        assert (indexed["spooled"], indexed["failed"]) == (3, 0)
        (notice,) = RunSummary(indexed=indexed, spool_causes=indexed["causes"]).notices("run")
        assert f"out of disk space: index {month} is read-only" in notice, notice
    finally:
        limits_es.cluster.put_settings(transient=dict.fromkeys(FULL_DISK))
    _wait_for(lambda: not _read_only(limits_es, month))  # lifted by the node itself
    replay = subprocess.run([koubei, "index", "replay", "--prefix", prefix],
                            env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert replay.returncode == 0, replay.stderr
    report = json.loads(replay.stdout.strip().splitlines()[-1])
    assert (report["sent"], report["created"], report["updated"], report["failed"]) == (8, 7, 1, 0)
    assert spool.spool_files(prefix) == []
    assert _stored(limits_es, prefix) == (8, 8)
    limits_es.indices.delete(index=f"{prefix}-*")


# Free space the high watermark asks for: more than any test machine has, so the node may
# allocate no new primary; the flood stage at the least, so existing indices stay writable.
OVER_HIGH = {**FULL_DISK, "cluster.routing.allocation.disk.watermark.flood_stage": "1kb"}


def _over_high(es: Elasticsearch, index: str) -> bool:
    """The node has its disk figures and finds itself over the high watermark (it would move
    ``index``'s shard away, had it another node)."""
    answer = es.cluster.allocation_explain(index=index, shard=0, primary=True)
    return answer.get("can_remain_on_current_node") == "no"


def test_a_new_month_the_disk_has_no_room_for_is_spooled_saying_so_without_waiting(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, koubei_home: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Over the disk high watermark a new month's index is created, but its primary cannot be
    allocated (the cluster red). Each bulk request into it waited out the client's 30 s
    timeout, every try, and the load spooled all its documents saying "Connection timed out";
    the current month a cycle's start-up creates timed out the start-up itself, and the whole
    cycle was spooled alike. Now the index is created with a short wait for its primary: the
    posts of a month whose primary is refused are spooled saying why (the high watermark, in
    the node's words, what to do, ``GET _cluster/allocation/explain``), the other months' posts
    are indexed, and a later run holds the red month's posts with the same reason. With the
    watermarks reset the node allocates the months itself and the replay lands them once."""
    from koubei import jsonl, paths
    from koubei.flows.monitor import index_pending
    from koubei.flows.outcome import RunSummary

    prefix = f"high{uuid.uuid4().hex[:8]}"
    october, december = f"{prefix}-posts-2026.10", f"{prefix}-posts-2026.12"
    november = f"{prefix}-posts-2026.11"
    monkeypatch.setenv("KOUBEI_NOW", "2026-11-20T12:00:00+08:00")
    monkeypatch.setenv("KOUBEI_ES_URL", limits_node.url)  # the flow's task finds this node
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOUBEI_ES_")}
    env.update(KOUBEI_ES_URL=limits_node.url, KOUBEI_HOME=koubei_home)
    koubei = str(Path(sys.executable).parent / "koubei")
    try:
        index_records(limits_es, [build_record(0)], prefix=prefix)
        limits_es.cluster.put_settings(transient=OVER_HIGH)
        _wait_for(lambda: _over_high(limits_es, november))
        landing = tmp_path / "posts.jsonl"
        old = [build_record(i, created_at="2026-10-10T12:00:00+08:00") for i in (10, 11)]
        jsonl.write_atomic(landing, old + [build_record(i) for i in range(1, 4)])
        started = time.monotonic()
        load = [koubei, "index", "load", str(landing), "--prefix", prefix]
        loaded = subprocess.run(load, env=env, capture_output=True, text=True, timeout=400)
        assert time.monotonic() - started < 60  # was 3 min: 30 s for each of 6 tries
        assert loaded.returncode == 1, loaded.stderr
        report = json.loads(loaded.stdout.strip().splitlines()[-1])
        assert (report["sent"], report["created"], report["spooled"]) == (5, 3, 2)
        (notice,) = [e for e in loaded.stderr.splitlines() if "2 of 5 document(s) spooled" in e]
        assert f"could not allocate the new index {october}" in notice, notice
        assert "watermark.high" in notice and "free disk space" in notice, notice
        assert "GET _cluster/allocation/explain" in notice and "koubei index replay" in notice

        # A cycle in a new month: its start-up creates December, whose primary is refused.
        monkeypatch.setenv("KOUBEI_NOW", "2026-12-02T12:00:00+08:00")
        new = [build_record(i, created_at="2026-12-01T12:00:00+08:00",
                            crawled_at="2026-12-01T13:00:00+08:00") for i in (20, 21)]  # fmt: skip
        processed = paths.state_dir("processed") / "weibo-search" / "r1.jsonl"
        jsonl.write_atomic(processed, new + [build_record(i) for i in (4, 5)])
        indexed = index_pending.fn(prefix, False)  # a `koubei run` cycle's index task
        assert (indexed["created"], indexed["spooled"], indexed["failed"]) == (2, 2, 0)
        (notice,) = RunSummary(indexed=indexed, spool_causes=indexed["causes"]).notices("run")
        assert f"did not search {december}" in notice and "watermark.high" in notice, notice
    finally:
        limits_es.cluster.put_settings(transient=dict.fromkeys(OVER_HIGH))
    limits_es.cluster.health(index=[october, december], wait_for_status="green", timeout="60s")
    replayed = replay_spool(limits_es, prefix)
    assert (replayed.sent, replayed.created, replayed.spooled, replayed.failed) == (4, 4, 0, 0)
    assert _stored(limits_es, prefix) == (10, 10)
    limits_es.indices.delete(index=f"{prefix}-*")
