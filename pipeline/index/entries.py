"""One document on its way through the posts writer: its target, state and bulk action.

:class:`Entry` is what :mod:`koubei.pipeline.index.writer` keeps per document between reading
it and the cluster's answer: the record, the month index it goes to (moved to the month that
already holds its ``_id``), the indexed source serialized once, whether it is sent as a
``create`` or, once stored, an ``update``, how often it was retried and why the cluster would
not take it. :func:`entry_of` builds one from a record, refusing what Elasticsearch would
refuse for a whole bulk request (an ``id`` missing, empty or too long).

A stored post is updated with a partial ``update``, which merges objects key by key: keys the
stored copy has and the record lacks stay. That is wanted of a re-crawl, but not of an edit
(:func:`edited`: a page its site changed, whose ``extra`` keys may be gone): an edit found
stored is sent as an ``index`` of its whole source instead (:meth:`Entry.replace`), keeping
what the index alone knows of the stored copy (``first_seen``, ``cascade``), on the condition
that the copy read is still the stored one (``if_seq_no``, ``if_primary_term``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from koubei.pipeline.index.documents import prepare

__all__ = ["KEPT_ON_EDIT", "MAX_ID_BYTES", "Entry", "check_id", "dumps", "edited", "entry_of",
           "expand"]  # fmt: skip

# Elasticsearch refuses a longer _id, and refuses it for the whole bulk request, not the item.
MAX_ID_BYTES = 512
# What an edit sent whole keeps of the stored copy: the first crawl, the cascade the daily
# spread run wrote, and a crawl time the record lacks (never observed: an export).
KEPT_ON_EDIT = ("first_seen", "cascade", "crawled_at")


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
    pressured: bool = False  # refused once over the node's indexing-pressure limit
    # op "index" (an edit sent whole): the stored copy it replaces, by its sequence number
    condition: dict[str, int] | None = None
    whole: bytes = b""  # its whole source, what the stored copy kept in (:meth:`replace`)

    @property
    def doc_id(self) -> str:
        return str(self.record["id"])

    def action(self) -> dict[str, Any]:
        """The bulk header and the pre-serialized body (see :func:`expand`)."""
        meta: dict[str, Any] = {"_index": self.index, "_id": self.record["id"]}
        if self.op == "create":
            return {"header": {"create": meta}, "body": self.body}
        if self.op == "index" and self.condition is not None:
            return {"header": {"index": {**meta, **self.condition}}, "body": self.whole}
        meta["retry_on_conflict"] = 3
        doc = {k: v for k, v in self.source.items() if k != "first_seen"}
        return {"header": {"update": meta}, "body": dumps({"doc": doc, "upsert": self.source})}

    def replace(self, stored: dict[str, Any], seq_no: int, primary_term: int) -> None:
        """Send this entry (an edit) as an ``index`` of its whole source over the stored copy
        read as ``stored`` (its :data:`KEPT_ON_EDIT` fields) at ``seq_no``/``primary_term``."""
        source = dict(self.source)
        for name in KEPT_ON_EDIT:
            if name in stored and (name != "crawled_at" or name not in source):
                source[name] = stored[name]
        self.op, self.whole = "index", dumps(source)
        self.condition = {"if_seq_no": seq_no, "if_primary_term": primary_term}

    def relocate(self) -> None:
        """Look it up again (its ``index`` found the stored copy written since it was read)."""
        self.op, self.located, self.condition, self.whole = "create", False, None, b""


def edited(record: dict[str, Any]) -> bool:
    """Whether ``record`` is an edit its site made of a post landed before: the crawler says so
    in ``extra.edited_at`` (``koubei.crawlers.spiders.articles``)."""
    extra = record.get("extra")
    return isinstance(extra, dict) and bool(extra.get("edited_at"))


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
