"""Reading one cascade's posts from Elasticsearch (the only ES code of the spread analysis).

The window-based :func:`pipeline.index.queries.fetch_posts` cannot select a cascade, so this
asks the ``<prefix>-posts`` alias for the root and everything that names it as root or parent,
paging with ``search_after`` on ``(created_at, id)`` like the query module does.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import Elasticsearch

from pipeline.index.templates import posts_alias
from pipeline.index.writer import strip_index_fields

__all__ = ["cascade_root_id", "fetch_cascade"]


def cascade_root_id(es: Elasticsearch, prefix: str, post_id: str) -> str:
    """The root of the cascade ``post_id`` belongs to (itself when unknown or a root)."""
    response = es.search(
        index=posts_alias(prefix),
        size=1,
        query={"term": {"id": post_id}},
        source_includes=["root_id"],
    )
    hits = response["hits"]["hits"]
    if hits and hits[0]["_source"].get("root_id"):
        return str(hits[0]["_source"]["root_id"])
    return post_id


def fetch_cascade(
    es: Elasticsearch, prefix: str, post_id: str, *, max_docs: int = 50_000, page_size: int = 1000
) -> list[dict[str, Any]]:
    """Every indexed post of the cascade containing ``post_id``, oldest first, as records.

    Parameters
    ----------
    es : Elasticsearch
        Client (``pipeline.index.client.client_from_env()``).
    prefix : str
        Index prefix; posts are read through the ``<prefix>-posts`` alias.
    post_id : str
        Any post of the cascade: the root, a repost or a comment.
    """
    root = cascade_root_id(es, prefix, post_id)
    query = {
        "bool": {
            "should": [
                {"term": {"id": root}},
                {"term": {"root_id": root}},
                {"term": {"parent_id": root}},
                {"term": {"id": post_id}},
            ],
            "minimum_should_match": 1,
        }
    }
    records: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while len(records) < max_docs:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        response = es.search(
            index=posts_alias(prefix),
            size=min(page_size, max_docs - len(records)),
            query=query,
            sort=[{"created_at": "asc"}, {"id": "asc"}],
            track_total_hits=False,
            **extra,
        )
        hits = response["hits"]["hits"]
        records.extend(strip_index_fields(hit["_source"]) for hit in hits)
        if len(hits) < page_size:
            break
        after = hits[-1]["sort"]
    return records
