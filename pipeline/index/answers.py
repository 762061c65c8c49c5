"""What a bulk item's answer means for its document: what went wrong, its own fault, or worth
retrying.

The one home for reading a failed bulk item: the posts writer and the derived-documents
writer (:mod:`koubei.pipeline.index.derived`) both read its type and reason here.

The posts writer (:mod:`koubei.pipeline.index.writer`) sorts every answer into three classes: the
document's fault (dead-lettered), retryable (sent again with back-off), anything else (spooled).
These are the first two tests; everything they do not claim is the third class. An item whose
index's primary shard is not active (:func:`unavailable_shard`) is read apart from the retryable
ones: it is held if its month is red.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "DOCUMENT_FAULTS",
    "NO_PRIMARY",
    "describe_error",
    "disk_block",
    "disk_block_cause",
    "documents_fault",
    "error_reason",
    "error_type",
    "item_answer",
    "over_pressure_limit",
    "retryable",
    "unavailable_shard",
]

# Error types of a 400 that the document's content caused (its JSON, a field against the
# mapping): retrying it would fail forever. Every other 400 is the cluster's state (a closed
# index, a month's alias with no write index, the cluster's shard limit reached when a new
# month is created) and the document is spooled for a replay once that is mended.
DOCUMENT_FAULTS = frozenset(
    {
        "document_parsing_exception",
        "mapper_parsing_exception",
        "strict_dynamic_mapping_exception",
        "x_content_parse_exception",
        "illegal_argument_exception",
    }
)


# What a refused item whose index's primary was not active says first (:func:`describe_error`).
NO_PRIMARY = (
    "the index has no active primary shard (the cluster is red; "
    "GET _cluster/allocation/explain says why)"
)


def error_type(error: Any) -> str | None:
    """The ``type`` of an item's ``error`` in a bulk answer, if it has one."""
    return error.get("type") if isinstance(error, dict) else None


def error_reason(error: Any) -> str:
    """The cluster's ``reason`` for an item's ``error`` (the error's text if not an object)."""
    return str(error.get("reason")) if isinstance(error, dict) else str(error)


def describe_error(error: Any, status: Any = None) -> str:
    """``"<type>: <reason>"`` of an item's ``error``; its text, or ``HTTP <status>`` if none.

    An ``unavailable_shards_exception`` (:func:`unavailable_shard`) says first that the index
    has no active primary, and leaves out the shard request the node's reason quotes: it
    carries the source of every document of the request on that shard (up to a whole chunk's,
    in each refused item's reason).
    """
    if isinstance(error, dict):
        reason = error_reason(error)
        if error_type(error) == "unavailable_shards_exception":
            reason = reason.split(", request: [", 1)[0]
            return f"{NO_PRIMARY}: unavailable_shards_exception: {reason}"
        return f"{error_type(error)}: {reason}"
    return str(error or f"HTTP {status}")


def item_answer(item: dict[str, Any]) -> dict[str, Any]:
    """The answer inside a bulk item (``{"index": {...}}``: its ``_id``, status, error)."""
    answer: dict[str, Any] = next(iter(item.values()))
    return answer


def documents_fault(error: Any) -> bool:
    """A 400 the document's content caused (see :data:`DOCUMENT_FAULTS`)."""
    kind = error_type(error)
    if kind == "illegal_argument_exception":
        # Also what a month's name answers when it is an alias of several indices and none is
        # the write index: the cluster's state, not the document's content.
        return "write index" not in error_reason(error)
    return kind in DOCUMENT_FAULTS


def retryable(status: int, error: Any) -> bool:
    """An answer worth sending again after a back-off: 429, 5xx, or a write block."""
    # A write block (a migration is copying this index) is waited for like a 429.
    return status == 429 or status >= 500 or error_type(error) == "cluster_block_exception"


# The node's indexing-pressure refusal (a 429 ``es_rejected_execution_exception``) quotes the
# operation's bytes and the limit, e.g. ``rejected execution of primary operation [...,
# primary_operation_bytes=120000064, max_primary_bytes=53687091]`` (Elasticsearch 9.2.4, seen on
# a 512 MB heap for a 30 MB post: the limit is ``indexing_pressure.memory.limit``, 10 % of the
# heap, and an operation is counted at several times its JSON).
_PRESSURE_BYTES = re.compile(r"(\w+)_operation_bytes=(\d+), max_\1_bytes=(\d+)")


def over_pressure_limit(status: int, error: Any) -> bool:
    """A 429 whose operation alone is over the node's indexing-pressure limit: the node refuses
    it however idle it is, so retrying it waits out every back-off and spools it, and each
    replay spools it again (was: a 30 MB post spooled for good). The writer sends it alone
    (its shard's request may have held others), then dead-letters it, as a 413 document."""
    if status != 429 or error_type(error) != "es_rejected_execution_exception":
        return False
    found = _PRESSURE_BYTES.search(error_reason(error))
    return found is not None and int(found.group(2)) > int(found.group(3))


def unavailable_shard(status: int, error: Any) -> bool:
    """A 503 ``unavailable_shards_exception``: the item's primary shard was not active within
    the bulk request's ``timeout`` (:data:`koubei.pipeline.index.allocation.BULK_TIMEOUT`), the
    other items of the request answered on their own. Its index's month is red (the primary
    unassigned) or still starting; the posts writer asks which before it retries or holds it.
    """
    return status == 503 and error_type(error) == "unavailable_shards_exception"


def disk_block(error: Any) -> bool:
    """The flood-stage block: a data node's disk passed
    ``cluster.routing.allocation.disk.watermark.flood_stage`` and the cluster made the index
    read-only (``index.blocks.read_only_allow_delete``; a 429 ``cluster_block_exception``).

    Retried like any write block (the cluster lifts it by itself once the disk use falls below
    the high watermark), but a run that spools for it must say so: the operator has to free
    disk space, and "kept answering 429/5xx" sent them looking at the load.
    """
    return error_type(error) == "cluster_block_exception" and (
        "read-only-allow-delete" in error_reason(error) or "flood-stage" in error_reason(error)
    )


def disk_block_cause(index: str) -> str:
    """Why documents for ``index`` were spooled under the flood-stage block, and what to do."""
    return (
        f"Elasticsearch is out of disk space: index {index} is read-only (the flood-stage disk "
        "watermark put index.blocks.read_only_allow_delete on it); free disk space on its data "
        "nodes (delete old indices, add disk or nodes): Elasticsearch lifts the block once disk "
        f'use is below the high watermark (by hand: PUT {index}/_settings {{"index.blocks.'
        'read_only_allow_delete": null}), then `koubei index replay` sends them'
    )
