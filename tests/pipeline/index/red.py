"""Making an index red for real on a single node, and bringing it back: the shared helpers of the
red-index tests (the posts writer's months, the derived documents' indices).

A lost disk: the index closed, its shard's files removed, reopened. No copy of its primary is
left anywhere (allocation explain: ``no_valid_shard_copy``), so the node allocates it again only
by an operator's reroute, as after a data node lost with its disk. On the limits node: a red
index makes the cluster red, and the session node is shared.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from elasticsearch import Elasticsearch

from koubei import es_local


def lose_disk(node: es_local.LocalNode, es: Elasticsearch, index: str) -> None:
    """Leave ``index``'s primary shard with no copy anywhere (the cluster red)."""
    index_uuid = es.indices.get_settings(index=index)[index]["settings"]["index"]["uuid"]
    es.indices.close(index=index)
    shutil.rmtree(Path(node.data) / "data" / "indices" / index_uuid / "0")
    es.indices.open(index=index, wait_for_active_shards="0")
    assert es.cluster.health(index=index)["status"] == "red"


def node_name(es: Elasticsearch) -> str:
    return str(next(iter(es.nodes.info()["nodes"].values()))["name"])


def allocate_empty(es: Elasticsearch, index: str) -> None:
    """An operator's reroute: ``index`` back, empty (its disk was lost), green."""
    command = {"index": index, "shard": 0, "node": node_name(es), "accept_data_loss": True}
    es.cluster.reroute(commands=[{"allocate_empty_primary": command}])
    es.cluster.health(index=index, wait_for_status="green", timeout="30s")
