"""``KOUBEI_ES_URL`` naming several nodes of a cluster, one of them stopped.

The live node is the session's; the stopped one is a closed port on 127.0.0.1 (a node that is
down refuses connections exactly so). Every request the client sends to it must go on to the
live node: the fast health check of a run, and the writer's bulk requests.
"""

from __future__ import annotations

import socket

import pytest
from elasticsearch import Elasticsearch

from koubei.flows.monitor import es_unavailable
from koubei.pipeline.index.client import check_cluster, client_from_env
from koubei.pipeline.index.writer import index_records
from koubei.redact import redact
from tests.pipeline.index.conftest import build_record

pytestmark = pytest.mark.es


def stopped_node() -> str:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_cluster_url_with_a_stopped_node_still_checks_and_indexes(
    es_url: str,
    es: Elasticsearch,
    index_prefix: str,
    koubei_home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # It was "Could not parse URL '[REDACTED:KOUBEI_ES_URL]'": one URL only, and a list of
    # origins was hidden from error messages as if it were a webhook.
    value = f"{stopped_node()},{es_url}"
    monkeypatch.setenv("KOUBEI_ES_URL", value)
    client = client_from_env()
    assert len(client.transport.node_pool.all()) == 2
    assert check_cluster(client)["status"] in ("green", "yellow")
    # The run's health check asks once with no retries; the stopped node must not be an outage,
    # whichever node the client picks first.
    assert [es_unavailable() for _ in range(6)] == [None] * 6
    for i in range(6):  # one bulk request each: round robin sends some to the stopped node
        report = index_records(client, [build_record(i)], prefix=index_prefix, refresh=True)
        assert (report.created, report.failed, report.spooled) == (1, 0, 0)
    es.indices.refresh(index=f"{index_prefix}*")
    assert es.count(index=f"{index_prefix}*")["count"] == 6
    assert redact(f"cannot reach {value}") == f"cannot reach {value}"
