"""A three-node Elasticsearch cluster on 127.0.0.1: a node killed during a bulk load.

The nodes are the same distribution as the session node (koubei/es_local.py), each with its own
data path, HTTP and transport port. Templates carry one replica (``KOUBEI_ES_REPLICAS=1``), so
every document lives on two nodes. The node killed is the one holding the primary (once the
replica is in sync), so writes must move to the promoted replica: the load must finish with
every document indexed exactly once, and the cluster must be green again once the killed node
is back. C1-only JVMs (``es_local.CLUSTER_JAVA_OPTS``) and 6,000 documents keep it near two
minutes on two shared cores (231 s before with 20,000 and default JVMs).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from koubei import es_local
from koubei.pipeline.index.templates import posts_index
from koubei.pipeline.index.writer import index_records
from tests.conftest import ends_with_tests
from tests.pipeline.index.conftest import BASE_TIME, build_record

# Enough for several bulk chunks (500 each) on both sides of the kill; more documents only
# lengthen the run (the kill, the failover and the recovery are what the test is about).
N = 6_000
KILL_AFTER = 2_000
PREFIX = "cluster"


@pytest.fixture(scope="module")
def cluster() -> Iterator[es_local.LocalCluster]:
    nodes = es_local.start_cluster(3, heap="256m")
    for node in nodes.nodes:  # the folder of all three goes once none of them runs
        ends_with_tests(node, str(Path(node.data).parent))
    try:
        yield nodes
    finally:
        es_local.stop_cluster(nodes)


def wait_for(es: Elasticsearch, status: str, nodes: int, timeout: float = 120.0) -> dict[str, Any]:
    health = es.cluster.health(
        wait_for_status=status, wait_for_nodes=str(nodes), timeout=f"{int(timeout)}s"
    )
    assert not health["timed_out"], health
    return dict(health)


def test_a_node_killed_during_a_bulk_load_loses_and_duplicates_nothing(
    cluster: es_local.LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KOUBEI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KOUBEI_ES_REPLICAS", "1")
    # The client knows every node; a dead one is skipped and its requests retried elsewhere.
    es = Elasticsearch(cluster.urls, request_timeout=30, max_retries=5, retry_on_timeout=True)
    halfway = threading.Event()
    killed = threading.Event()

    def records() -> Iterator[dict[str, Any]]:
        for i in range(N):
            if i == KILL_AFTER:
                halfway.set()
                assert killed.wait(180), "the node was not killed"
            # A second apart: posts a minute apart could reach into the future, which the
            # writer refuses (no far-future monthly index).
            yield build_record(i, created_at=BASE_TIME + timedelta(seconds=i))

    result: dict[str, Any] = {}

    def load() -> None:
        result["report"] = index_records(
            es, records(), prefix=PREFIX, chunk_size=500, max_retries=10, max_backoff=5.0
        )

    loader = threading.Thread(target=load)
    loader.start()
    assert halfway.wait(120)
    # The replica is allocated and in sync, then the node holding the primary dies: its writes
    # must move to the promoted replica.
    wait_for(es, "green", 3)
    shards = es.cat.shards(index=posts_index(PREFIX, BASE_TIME), format="json")
    [primary] = [s for s in shards if s["prirep"] == "p"]
    victim_index = cluster.names.index(primary["node"])
    os.killpg(cluster.nodes[victim_index].pid, signal.SIGKILL)  # no clean shutdown: a crash
    killed.set()
    loader.join(timeout=240)
    assert not loader.is_alive()
    report = result["report"]
    assert (report.failed, report.spooled) == (0, 0), report
    assert report.created + report.updated == N

    # Nothing lost, nothing duplicated: exactly the N deterministic ids, once each.
    es.indices.refresh(index=f"{PREFIX}-posts*")
    ids = [hit["_id"] for hit in helpers.scan(es, index=f"{PREFIX}-posts", _source=False)]
    assert len(ids) == N
    assert set(ids) == {build_record(i)["id"] for i in range(N)}
    settings = es.indices.get_settings(index=f"{PREFIX}-posts-*", name="index.number_of_replicas")
    assert {s["settings"]["index"]["number_of_replicas"] for s in settings.values()} == {"1"}

    # The killed node comes back on its data path, rejoins, and the cluster is green.
    es_local.restart_node(cluster, victim_index)
    health = wait_for(es, "green", 3)
    assert health["number_of_nodes"] == 3 and health["unassigned_shards"] == 0
    assert es.count(index=f"{PREFIX}-posts")["count"] == N
    es.close()
