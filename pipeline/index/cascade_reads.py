"""Reads that follow cascades: one cascade's posts (``koubei spread``), and what the daily spread
run needs to rebuild a brand's cascades whole (:mod:`koubei.analysis.spread.daily`).

Posts are read through :mod:`~koubei.pipeline.index.queries` (the read alias, a shard that
does not answer raises); the ``<prefix>-cascades`` documents are read by
:func:`cascades_ending` and :func:`cascades_after`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from koubei.pipeline.index.queries import post_filters, scan_posts, search
from koubei.pipeline.index.templates import kind_index

__all__ = [
    "cascade_posts",
    "cascade_root_id",
    "cascades_after",
    "cascades_ending",
    "fetch_cascade",
    "roots_going_on",
]

#: Roots per ``terms`` clause (the node's ``index.max_terms_count`` is 65,536).
ROOTS_PER_SEARCH = 10_000


def cascade_root_id(es: Elasticsearch, prefix: str, post_id: str) -> str:
    """The root of the cascade ``post_id`` belongs to (itself when unknown or a root)."""
    response = search(es, prefix, size=1, query={"term": {"id": post_id}},
        source_includes=["root_id"],
    )  # fmt: skip
    hits = response["hits"]["hits"]
    if hits and hits[0]["_source"].get("root_id"):
        return str(hits[0]["_source"]["root_id"])
    return post_id


def fetch_cascade(
    es: Elasticsearch, prefix: str, post_id: str, *, max_docs: int = 50_000
) -> list[dict[str, Any]]:
    """Every indexed post of the cascade containing ``post_id`` (root, repost or comment)."""
    root = cascade_root_id(es, prefix, post_id)
    should = [{"term": {field: root}} for field in ("id", "root_id", "parent_id")]
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
    the index-only fields in ``keep`` (:func:`~koubei.pipeline.index.queries.scan_posts`)."""
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
    return sorted({root for _brand, root in _cascade_keys(es, prefix, query)})


def cascades_after(
    es: Elasticsearch, prefix: str, roots: Iterable[str], end: datetime
) -> set[tuple[str, str]]:
    """``(brand, root)`` of the ``<prefix>-cascades`` documents of ``roots``, any brand's, whose
    last post (``last_at``) is at or after ``end``: written by a run that saw posts from ``end``
    on (a run for a later day), so a run that reads only up to ``end`` must not replace them."""
    roots = sorted(set(roots))
    found: set[tuple[str, str]] = set()
    for i in range(0, len(roots), ROOTS_PER_SEARCH):
        query = {
            "bool": {
                "filter": [
                    {"terms": {"root_id": roots[i : i + ROOTS_PER_SEARCH]}},
                    {"range": {"last_at": {"gte": end.isoformat()}}},
                ]
            }
        }
        found.update(_cascade_keys(es, prefix, query))
    return found


def _cascade_keys(
    es: Elasticsearch, prefix: str, query: dict[str, Any]
) -> Iterator[tuple[str, str]]:
    """``(brand, root_id)`` of every ``<prefix>-cascades`` document ``query`` matches (none
    when the index does not exist yet), paged by ``search_after``."""
    # root_id, then id: a root's bare-id copy and its <brand>:<root> document both come back.
    sort = [{field: {"order": "asc", "unmapped_type": "keyword"}} for field in ("root_id", "id")]
    after: list[Any] | None = None
    while True:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        response = es.search(
            index=kind_index(prefix, "cascades"), query=query, size=1000, sort=sort,
            source_includes=["brand", "root_id"], ignore_unavailable=True,
            track_total_hits=False, **extra,
        )  # fmt: skip
        hits = response["hits"]["hits"]
        for hit in hits:
            if hit["_source"].get("root_id"):
                yield str(hit["_source"].get("brand") or ""), str(hit["_source"]["root_id"])
        if len(hits) < 1000:
            return
        after = hits[-1]["sort"]
