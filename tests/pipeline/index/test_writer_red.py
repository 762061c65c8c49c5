"""A month that goes red while the writer runs: its primary shard lost after the lookup placed
the chunk's posts, before the node indexes them. Made red for real on the limits node: a lost
disk (the month closed, its shard's files removed, reopened: no copy of its data is left)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from structlog.testing import capture_logs

from koubei import es_local, timeutil
from koubei.jsonl import read
from koubei.pipeline.index import spool
from koubei.pipeline.index.writer import STARTED, IndexReport, index_records, replay_spool

from .conftest import OCTOBER, build_record, held_back
from .faulty_proxy import NodeProxy
from .red import allocate_empty, lose_disk, node_name

pytestmark = [pytest.mark.es, pytest.mark.slow]


def _run_while_red(
    node: es_local.LocalNode, es: Elasticsearch, prefix: str, make_red: Any
) -> tuple[IndexReport, float]:
    """Index 5 October and 5 November posts in one chunk, then 5 more November posts, through
    a client with koubei's 30 s request timeout; ``make_red`` runs once the chunk is on its way
    (held at a proxy in front of the node, after the lookup placed its posts)."""
    index_records(es, [build_record(0, created_at=OCTOBER), build_record(1)], prefix=prefix)
    chunk = [build_record(i, created_at=OCTOBER) for i in range(10, 15)]
    chunk += [build_record(i) for i in range(20, 25)]
    later = [build_record(i) for i in range(30, 35)]
    proxy = NodeProxy(node.url)
    client = Elasticsearch(proxy.url, request_timeout=30)
    proxy.hold("/_bulk", after_upstream=False)
    ran: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        ran["report"] = index_records(
            client, chunk + later, prefix=prefix, chunk_size=10, in_flight=1, max_retries=1
        )
        ran["seconds"] = time.monotonic() - started

    writer = threading.Thread(target=run)
    writer.start()
    try:
        assert proxy.held.wait(60)
        make_red()
    finally:
        proxy.release.set()
        writer.join()
        client.close()
        proxy.stop()
    return ran["report"], ran["seconds"]


def _counts(es: Elasticsearch, prefix: str) -> dict[str, int]:
    es.indices.refresh(index=f"{prefix}-posts-*")
    indices = sorted(es.indices.get_alias(index=f"{prefix}-posts-*"))
    return {index.rsplit("-", 1)[1]: es.count(index=index)["count"] for index in indices}


def test_a_month_gone_red_mid_run_spools_its_posts_and_the_chunk_s_others_are_indexed(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A chunk of 5 October and 5 November posts, then 5 more November posts; October's primary
    is lost once the chunk is on its way (held at a proxy in front of the node). The bulk
    request gave the node no ``timeout``: it waited a minute for October's primary, the
    client's 30 s request timeout ran out first, and the whole chunk was sent again until the
    retries ran out; then all 15 posts were spooled, saying "Connection timed out" (measured
    with the default 5 retries: 196 s). Now the node answers October's items 503
    ``unavailable_shards_exception`` within the bulk timeout and indexes the others: the run
    ends in seconds, October's 5 spooled saying the month is red, no retry spent; the replay
    once October is back lands them once."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-20T12:00:00+08:00")
    prefix = f"red{uuid.uuid4().hex[:8]}"
    october = f"{prefix}-posts-2026.10"
    report, seconds = _run_while_red(
        limits_node, limits_es, prefix, lambda: lose_disk(limits_node, limits_es, october)
    )
    assert seconds < 25  # was 60 s here (2 tries of 30 s), 196 s with 5 retries
    counts = (report.sent, report.created, report.spooled, report.failed, report.retries)
    assert counts == (15, 10, 5, 0, 0)  # was (15, 0, 15, 0, 1)
    assert report.dead_letter is None
    spooled = sorted(r["id"] for f in spool.spool_files(prefix) for r in read(f))
    assert spooled == [f"weibo:{i}" for i in range(10, 15)]
    (cause,) = report.causes
    assert f"did not write to {october}" in cause and "cluster is red" in cause, cause
    assert "allocation/explain" in cause

    # An operator's reroute brings October back (empty: its disk was lost); the replay lands
    # the held posts once, and the November posts stay single.
    allocate_empty(limits_es, october)
    replayed = replay_spool(limits_es, prefix)
    assert (replayed.created, replayed.updated, replayed.spooled, replayed.failed) == (5, 0, 0, 0)
    assert _counts(limits_es, prefix) == {"2026.10": 5, "2026.11": 11}
    assert replay_spool(limits_es, prefix).sent == 0


def test_a_month_red_past_the_bulk_timeout_but_not_refused_is_waited_for_then_written(
    limits_node: es_local.LocalNode, limits_es: Elasticsearch, koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """October's primary unassigned mid-run, but not refused: the node holds it back (busy,
    :func:`.conftest.held_back`) for 13 s, past the bulk timeout. Its items answer 503; the
    writer asks why, finds it throttled, waits for the primary (as for a month still starting)
    and sends them again: all 15 indexed, nothing spooled. The log says why they were sent
    again, naming the month (it said only "bulk request failed, retrying ... error=429/5xx",
    which pointed at the load)."""
    monkeypatch.setenv(timeutil.CLOCK_ENV, "2026-11-20T12:00:00+08:00")
    prefix = f"busy{uuid.uuid4().hex[:8]}"
    october = f"{prefix}-posts-2026.10"
    lifts: list[threading.Timer] = []

    def unassign() -> None:
        lifts.append(held_back(limits_es, seconds=13))
        cancel = {"index": october, "shard": 0, "node": node_name(limits_es),
                  "allow_primary": True}  # fmt: skip
        limits_es.cluster.reroute(commands=[{"cancel": cancel}])
        assert limits_es.cluster.health(index=october)["status"] == "red"

    try:
        with capture_logs() as logs:
            report, seconds = _run_while_red(limits_node, limits_es, prefix, unassign)
    finally:
        for lift in lifts:
            lift.join()
    assert seconds < 40
    assert (report.sent, report.created, report.spooled, report.failed) == (15, 15, 0, 0)
    assert _counts(limits_es, prefix) == {"2026.10": 6, "2026.11": 11}
    resent = [log for log in logs if str(log["event"]).startswith("documents sent again")]
    assert [(log["index"], log["reason"], log["documents"]) for log in resent] == [
        (october, STARTED, 5)
    ]
