"""Reads that follow cascades: one cascade's posts (``koubei spread``), and what the daily spread
run needs to rebuild a brand's cascades whole (:mod:`koubei.analysis.spread.daily`).

Posts are read through :mod:`~koubei.pipeline.index.queries` (the read alias, a shard that
does not answer raises); the ``<prefix>-cascades`` documents are read by
:func:`cascades_ending`, :func:`cascades_of_roots` and :func:`cascades_by_id`, each as a
:class:`StoredCascade` with the ``_seq_no`` and ``_primary_term`` it was read at, so a write
can be made conditional on what was read (``if_seq_no`` + ``if_primary_term``). Each raises
:class:`CascadesUnread`, naming the index, when it has no active primary shard (red).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from koubei.errors import KoubeiError
from koubei.pipeline.index.allocation import failed_indices
from koubei.pipeline.index.answers import NO_PRIMARY, error_type
from koubei.pipeline.index.post_reads import scan_posts
from koubei.pipeline.index.queries import post_filters, search
from koubei.pipeline.index.templates import kind_index

__all__ = [
    "CASCADE_MAX_POSTS",
    "CascadesUnread",
    "StoredCascade",
    "cascade_posts",
    "cascade_root_id",
    "cascades_by_id",
    "cascades_ending",
    "cascades_of_roots",
    "fetch_cascade",
    "roots_going_on",
]

#: Roots per ``terms`` clause (the node's ``index.max_terms_count`` is 65,536).
ROOTS_PER_SEARCH = 10_000
#: Most posts :func:`fetch_cascade` reads of one cascade (``koubei spread`` says when it cut one).
CASCADE_MAX_POSTS = 50_000
#: The error a real-time get answers for a document of an index with no active primary.
NO_SHARD = "no_shard_available_action_exception"
#: The fields of a ``<prefix>-cascades`` document a :class:`StoredCascade` holds.
STORED_FIELDS = ["brand", "root_id", "last_at"]


class CascadesUnread(KoubeiError):
    """``<prefix>-cascades`` has no active primary shard (red): ``"<index>: <NO_PRIMARY>"``.

    The search answered 503 ``all shards failed`` (a bare ``ApiError`` naming no index);
    the daily spread run said so only when its check before the run found the index red, and
    the read raised out of the run when it went red after that check."""

    def __init__(self, index: str) -> None:
        super().__init__(f"{index}: {NO_PRIMARY}")
        self.index = index


@dataclass(frozen=True)
class StoredCascade:
    """A ``<prefix>-cascades`` document as a read found it: whose (``brand``, ``root_id``; an
    earlier release's bare-root copy has no brand), up to when (``last_at``, its last post), and
    the ``seq_no`` and ``primary_term`` of the write that read saw, to write over exactly that."""

    id: str
    brand: str
    root_id: str
    last_at: str | None
    seq_no: int
    primary_term: int

    @classmethod
    def from_hit(cls, hit: dict[str, Any]) -> StoredCascade:
        """From a search hit or an ``mget`` doc read with its ``_seq_no`` and ``_primary_term``."""
        source = hit.get("_source") or {}
        return cls(
            id=str(hit["_id"]),
            brand=str(source.get("brand") or ""),
            root_id=str(source.get("root_id") or ""),
            last_at=source.get("last_at"),
            seq_no=int(hit["_seq_no"]),
            primary_term=int(hit["_primary_term"]),
        )


def cascade_root_id(es: Elasticsearch, prefix: str, post_id: str) -> str:
    """The root of the cascade ``post_id`` belongs to (itself when unknown or a root): the one
    a daily run placed it under (``cascade.root_id``), else its platform root (``root_id``:
    a comment's is the post it comments on, which may be a repost in another's cascade)."""
    response = search(es, prefix, size=1, query={"term": {"id": post_id}},
        source_includes=["root_id", "cascade.root_id"],
    )  # fmt: skip
    hits = response["hits"]["hits"]
    source: dict[str, Any] = hits[0]["_source"] if hits else {}
    placed = source.get("cascade")
    root = (placed.get("root_id") if isinstance(placed, dict) else None) or source.get("root_id")
    return str(root) if root else post_id


def fetch_cascade(
    es: Elasticsearch, prefix: str, post_id: str, *, max_docs: int | None = None
) -> list[dict[str, Any]]:
    """Every indexed post of the cascade containing ``post_id`` (root, repost or comment), the
    oldest ``max_docs`` (default :data:`CASCADE_MAX_POSTS`) of a bigger one: the root, the
    posts naming it as their platform root or parent, and those a daily run placed under it
    (``cascade.root_id``, as :func:`cascade_posts` reads them: a comment on a repost names
    the repost as its root)."""
    max_docs = CASCADE_MAX_POSTS if max_docs is None else max_docs
    root = cascade_root_id(es, prefix, post_id)
    fields = ("id", "root_id", "parent_id", "cascade.root_id")
    should = [{"term": {field: root}} for field in fields]
    query = {"bool": {"should": [*should, {"term": {"id": post_id}}], "minimum_should_match": 1}}
    return scan_posts(es, prefix, query, max_docs=max_docs)


def cascade_posts(
    es: Elasticsearch,
    prefix: str,
    roots: Iterable[str],
    *,
    brand: str,
    end: datetime,
    max_docs: int,
    where: dict[str, set[str]] | None = None,
    keep: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """``brand``'s posts created before ``end`` of the cascades of ``roots``: each root, the
    posts naming it as their platform root (``root_id``), and those a daily run placed under it
    (``cascade.root_id``: a comment's platform root may be another post). Oldest first, with
    the index-only fields in ``keep`` (:func:`~koubei.pipeline.index.post_reads.scan_posts`)."""
    roots = sorted(set(roots))
    if not roots:
        return []
    fields = ("id", "root_id", "cascade.root_id")
    query = {
        "bool": {
            "filter": post_filters(brand=brand, end=end),
            "should": [{"terms": {field: roots}} for field in fields],
            "minimum_should_match": 1,
        }
    }
    return scan_posts(es, prefix, query, max_docs=max_docs, where=where, keep=keep)


def roots_going_on(
    es: Elasticsearch, prefix: str, roots: Iterable[str], since: datetime
) -> set[str]:
    """The roots among ``roots`` with a stored post created at or after ``since`` that a daily
    run placed in their cascade (``cascade.root_id``): cascades that go on past ``since``."""
    roots = sorted(set(roots))
    found: set[str] = set()
    for i in range(0, len(roots), ROOTS_PER_SEARCH):
        part = roots[i : i + ROOTS_PER_SEARCH]
        query = {
            "bool": {"filter": [{"terms": {"cascade.root_id": part}}, *post_filters(start=since)]}
        }
        aggs = {"roots": {"terms": {"field": "cascade.root_id", "size": len(part)}}}
        response = search(es, prefix, size=0, query=query, aggs=aggs, track_total_hits=False)
        found.update(str(b["key"]) for b in response["aggregations"]["roots"]["buckets"])
    return found


def cascades_ending(
    es: Elasticsearch, prefix: str, brand: str, start: datetime, end: datetime
) -> list[str]:
    """Roots of ``brand``'s ``<prefix>-cascades`` documents whose last post (``last_at``) is in
    ``[start, end)``, under either id (``<brand>:<root>``, or an earlier release's bare root)."""
    query = {
        "bool": {
            "filter": [
                {"term": {"brand": brand}},
                {"range": {"last_at": {"gte": start.isoformat(), "lt": end.isoformat()}}},
            ]
        }
    }
    return sorted({c.root_id for c in _read_cascades(es, prefix, query) if c.root_id})


def cascades_of_roots(
    es: Elasticsearch, prefix: str, roots: Iterable[str], *, brand: str, end: datetime
) -> list[StoredCascade]:
    """The ``<prefix>-cascades`` documents of ``roots`` that are ``brand``'s (the ones a run
    for the brand writes over: it makes each write conditional on the copy read here, and
    creates the ones not found), and any brand's whose last post (``last_at``) is at or after
    ``end``: written by a run that saw posts from ``end`` on (a run for a later day), so a run
    that reads only up to ``end`` must not replace them. One search (paged) per
    :data:`ROOTS_PER_SEARCH` roots; what a write not yet refreshed holds, a search does not
    see: the conditional write finds it (a version conflict)."""
    roots = sorted(set(roots))
    found: list[StoredCascade] = []
    for i in range(0, len(roots), ROOTS_PER_SEARCH):
        query = {
            "bool": {
                "filter": [{"terms": {"root_id": roots[i : i + ROOTS_PER_SEARCH]}}],
                "should": [
                    {"term": {"brand": brand}},
                    {"range": {"last_at": {"gte": end.isoformat()}}},
                ],
                "minimum_should_match": 1,
            }
        }
        found += _read_cascades(es, prefix, query)
    return found


def cascades_by_id(es: Elasticsearch, prefix: str, ids: Iterable[str]) -> list[StoredCascade]:
    """The ``<prefix>-cascades`` documents of ``ids`` as they are now (a real-time ``mget``,
    not a search: it sees a write not yet refreshed); ids not stored are left out. A red index
    raises :class:`CascadesUnread` (its answer said each document unavailable)."""
    ids = sorted(set(ids))
    if not ids:
        return []
    index = kind_index(prefix, "cascades")
    response = es.mget(index=index, ids=ids, source_includes=STORED_FIELDS)
    # A red index answers each doc an error (not found, nor raised): read as absent, a write
    # would then create it over the copy the index holds once it is back.
    if any(error_type(doc.get("error")) == NO_SHARD for doc in response["docs"]):
        raise CascadesUnread(index)
    return [StoredCascade.from_hit(doc) for doc in response["docs"] if doc.get("found")]


def _read_cascades(
    es: Elasticsearch, prefix: str, query: dict[str, Any]
) -> Iterator[StoredCascade]:
    """Every ``<prefix>-cascades`` document ``query`` matches (none when the index does not
    exist yet), with its ``_seq_no`` and ``_primary_term``, paged by ``search_after``."""
    # root_id, then id: a root's bare-id copy and its <brand>:<root> document both come back.
    sort = [{field: {"order": "asc", "unmapped_type": "keyword"}} for field in ("root_id", "id")]
    index = kind_index(prefix, "cascades")
    after: list[Any] | None = None
    while True:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        try:
            response = es.search(
                index=index, query=query, size=1000, sort=sort, source_includes=STORED_FIELDS,
                seq_no_primary_term=True, ignore_unavailable=True, track_total_hits=False,
                **extra,
            )  # fmt: skip
        except ApiError as exc:
            if index not in failed_indices(exc):
                raise
            raise CascadesUnread(index) from None
        hits = response["hits"]["hits"]
        yield from (StoredCascade.from_hit(hit) for hit in hits)
        if len(hits) < 1000:
            return
        after = hits[-1]["sort"]
