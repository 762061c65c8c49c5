"""One document on its way through the posts writer: its target, state and bulk action.

:class:`Entry` is what :mod:`koubei.pipeline.index.writer` keeps per document between reading
it and the cluster's answer: the record, the month index it goes to (moved to the month that
already holds its ``_id``), the indexed source serialized once, whether it is sent as a
``create`` or, once stored, an ``update``, how often it was retried and why the cluster would
not take it. :func:`entry_of` builds one from a record, refusing what Elasticsearch would
refuse for a whole bulk request (an ``id`` missing, empty or too long).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from koubei.pipeline.index.documents import prepare

__all__ = ["MAX_ID_BYTES", "Entry", "check_id", "dumps", "entry_of", "expand"]

# Elasticsearch refuses a longer _id, and refuses it for the whole bulk request, not the item.
MAX_ID_BYTES = 512


@dataclass
class Entry:
    record: dict[str, Any]
    index: str
    source: dict[str, Any]
    body: bytes
    op: str = "create"
    tries: int = 0
    located: bool = False  # the index already holding this _id was looked up
    older: bool = False  # the stored copy comes from a later crawl: nothing to send
    held: bool = False  # may be stored in a closed month, which no search sees: spool it
    cause: str | None = None  # what the operator must mend, if its last answer said (full disk)

    @property
    def doc_id(self) -> str:
        return str(self.record["id"])

    def action(self) -> dict[str, Any]:
        """The bulk header and the pre-serialized body (see :func:`expand`)."""
        meta: dict[str, Any] = {"_index": self.index, "_id": self.record["id"]}
        if self.op == "create":
            return {"header": {"create": meta}, "body": self.body}
        meta["retry_on_conflict"] = 3
        doc = {k: v for k, v in self.source.items() if k != "first_seen"}
        return {"header": {"update": meta}, "body": dumps({"doc": doc, "upsert": self.source})}


def entry_of(record: Any, prefix: str) -> Entry:
    """The entry of one input record.

    Raises ``KeyError``, ``TypeError``, ``ValueError`` or ``AttributeError`` for a record that
    cannot be indexed (no id, an id Elasticsearch refuses, a time out of range, not a record):
    the writer dead-letters it.
    """
    if not isinstance(record, dict) or "id" not in record:
        raise KeyError("id")  # no id, no idempotent upsert
    check_id(record)
    index, source = prepare(record, prefix)
    return Entry(record, index, source, dumps(source))


def expand(action: Any) -> tuple[dict[str, Any], bytes]:
    """``streaming_bulk``'s ``expand_action_callback``: bytes bodies pass through untouched,
    so each body is serialized once."""
    return action["header"], action["body"]


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def check_id(record: dict[str, Any]) -> None:
    """Raise ValueError for an ``id`` Elasticsearch would refuse for the whole bulk request."""
    doc_id = record.get("id")
    if isinstance(doc_id, bool) or not isinstance(doc_id, str | int) or doc_id == "":
        raise ValueError(f"id {doc_id!r} is not a non-empty string")
    size = len(str(doc_id).encode("utf-8", "surrogatepass"))
    if size > MAX_ID_BYTES:
        raise ValueError(f"id is {size} bytes; Elasticsearch takes at most {MAX_ID_BYTES} bytes")
