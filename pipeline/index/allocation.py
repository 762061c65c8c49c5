"""Indices whose primary shard is not allocated (the cluster red), and which ones answer.

A month index whose primary cannot be allocated (its node lost, a disk over the high watermark
when the index was created, an allocation filter naming no node) is red. A search answers for
it at once, with a shard failure (:mod:`koubei.pipeline.index.stored` holds the posts that may
be stored there). A refresh waits for its primary instead: a minute on the node, the client's
30 s request timeout first. So the writer and the flow's index task refresh only the indices
that can answer (:func:`refresh_answering`); before, every run's refresh waited 30 s, and the
flow's raised and was retried by Prefect, each cycle.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from koubei.log import get_logger

__all__ = ["index_states", "refresh_answering"]

log = get_logger(__name__)

States = dict[str, tuple[str, str]]


def index_states(es: Elasticsearch, target: str) -> States:
    """``{index: (status, health)}`` of the indices ``target`` (an alias or pattern) names:
    status ``open`` or ``close``, health ``green``, ``yellow`` or ``red``; none if no index."""
    rows = es.options(ignore_status=404).cat.indices(
        index=target, h="index,status,health", format="json", expand_wildcards="all"
    )
    body = rows.body if isinstance(rows.body, list) else []
    return {
        str(row.get("index")): (str(row.get("status")), str(row.get("health")))
        for row in body
        if row.get("index")
    }


def refresh_answering(es: Elasticsearch, target: str, states: States | None = None) -> list[str]:
    """Refresh the open indices ``target`` names whose primaries are allocated; return the red
    ones left out (logged with where to look). ``states`` as :func:`index_states` answered.

    A refresh that names a red index waits a minute for its primary (past the client's 30 s
    timeout) and refreshes nothing more for it: no search sees that index until it is
    allocated. The other indices are refreshed, so what the last run wrote is searchable.
    """
    if states is None:
        states = index_states(es, target)
    open_ = {index: health for index, (status, health) in states.items() if status == "open"}
    red = sorted(index for index, health in open_.items() if health == "red")
    if red:
        log.warning(
            "refresh leaves out indices whose primary shard is unassigned (the cluster is red; "
            "GET _cluster/allocation/explain says why)",
            indices=red,
        )
    answering = sorted(index for index, health in open_.items() if health != "red")
    if answering:
        es.indices.refresh(index=",".join(answering), ignore_unavailable=True)
    return red
