"""Spool and replay across a real outage: our own node is stopped mid-run and started again."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from koubei import es_local
from koubei.pipeline.index import spool
from koubei.pipeline.index.templates import posts_alias
from koubei.pipeline.index.writer import index_records, replay_spool
from tests.conftest import ends_with_tests

from .conftest import build_record

pytestmark = [pytest.mark.es, pytest.mark.slow]  # starts and restarts its own node

TOTAL = 3000
STOP_AFTER = 1000


def test_node_stopped_mid_run_spools_and_replay_loses_and_duplicates_nothing(
    secure_node: es_local.LocalNode, secure_es: Elasticsearch, koubei_home: str
) -> None:
    prefix = "outage"

    def records() -> Iterator[dict[str, Any]]:
        for i in range(TOTAL):
            if i == STOP_AFTER:
                es_local.pause(secure_node)  # the cluster goes away while the writer streams
            yield build_record(i)

    down = index_records(
        secure_es, records(), prefix=prefix, chunk_size=200, max_retries=2, initial_backoff=0.1
    )
    # Record 1000 is read (with the rest of its lookup batch) while the chunks before it are
    # complete but not all sent, so they meet the outage too: at most 1000 acknowledged,
    # everything else spooled — including record 1000, already read but in no chunk.
    assert down.sent == TOTAL
    assert 0 < down.created <= STOP_AFTER - 200
    assert down.spooled == TOTAL - down.created
    assert spool.spooled_count(prefix) == down.spooled

    ends_with_tests(es_local.resume(secure_node))  # a new pid: watched again
    secure_es.cluster.health(wait_for_status="yellow", timeout="60s")
    replayed = replay_spool(secure_es, prefix)
    assert replayed.sent == down.spooled
    # A bulk request that timed out on the freshly restarted node may still have been applied:
    # its retry then finds the documents and updates them instead of creating them.
    assert replayed.created + replayed.updated == down.spooled
    assert replayed.failed == replayed.spooled == 0
    assert spool.spool_files(prefix) == []

    secure_es.indices.refresh(index=posts_alias(prefix))
    assert secure_es.count(index=posts_alias(prefix))["count"] == TOTAL
    ids = secure_es.search(
        index=posts_alias(prefix), size=0, aggs={"ids": {"cardinality": {"field": "id"}}}
    )
    assert ids["aggregations"]["ids"]["value"] == TOTAL


def test_node_frozen_then_killed_mid_run_spools_and_replay_loses_and_duplicates_nothing(
    secure_node: es_local.LocalNode, koubei_home: str
) -> None:
    """The issue's outage: SIGSTOP (requests hang, no answer), then SIGKILL and a restart."""
    prefix = "frozen"
    assert secure_node.username and secure_node.password
    es = Elasticsearch(
        secure_node.url,
        basic_auth=(secure_node.username, secure_node.password),
        ca_certs=secure_node.ca_certs,
        request_timeout=3,  # a frozen node answers nothing: give up on a request quickly
    )

    def records() -> Iterator[dict[str, Any]]:
        for i in range(TOTAL):
            if i == STOP_AFTER:
                os.killpg(secure_node.pid, signal.SIGSTOP)
            yield build_record(i)

    try:
        down = index_records(
            es, records(), prefix=prefix, chunk_size=200, max_retries=1, initial_backoff=0.1
        )
    finally:
        os.killpg(secure_node.pid, signal.SIGKILL)
        es_local.stop(secure_node, remove_data=False)  # reaps the killed process
    assert down.sent == TOTAL
    assert down.created <= STOP_AFTER
    assert down.created + down.spooled == TOTAL and down.failed == 0

    ends_with_tests(es_local.resume(secure_node))  # a new pid: watched again
    es.cluster.health(wait_for_status="yellow", timeout="60s")
    replayed = replay_spool(es, prefix)
    # A chunk the frozen node received but never answered may have been applied before the
    # kill: the replay then updates those documents instead of creating them.
    assert replayed.created + replayed.updated == down.spooled
    assert replayed.failed == replayed.spooled == 0
    es.indices.refresh(index=posts_alias(prefix))
    assert es.count(index=posts_alias(prefix))["count"] == TOTAL
    ids = es.search(
        index=posts_alias(prefix), size=0, aggs={"ids": {"cardinality": {"field": "id"}}}
    )
    assert ids["aggregations"]["ids"]["value"] == TOTAL
