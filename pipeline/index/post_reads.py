"""Reads that return the posts themselves (as Document records), not counts: a window's posts
scanned oldest first (:func:`fetch_posts`, :func:`scan_posts`) or sampled evenly
(:func:`sample_posts`), its most engaged posts (:func:`top_posts`), a brand's edited posts
(:func:`edited_posts`), and ``koubei search``'s full-text search (:func:`search_posts`). The
aggregations and counts the detectors and reports read are :mod:`~koubei.pipeline.index.queries`;
every search here goes through its :func:`~koubei.pipeline.index.queries.search` (the read
alias; a shard that does not answer raises
:class:`~koubei.pipeline.index.queries.PartialResultsError`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from elasticsearch import Elasticsearch

from koubei.pipeline.index.documents import strip_index_fields
from koubei.pipeline.index.queries import filtered, post_filters, search

TEXT_FIELDS = ("title", "text_clean", "text_raw")
__all__ = [
    "EditedPosts",
    "SearchHit",
    "distinct_posts",
    "edited_posts",
    "fetch_posts",
    "sample_posts",
    "scan_posts",
    "search_posts",
    "top_posts",
]


@dataclass
class SearchHit:
    id: str
    score: float | None
    record: dict[str, Any]
    highlights: list[str] = field(default_factory=list)
    #: when the post's site edited it after it was first stored (the index's ``edited_at``)
    edited_at: str | None = None


def top_posts(
    es: Elasticsearch,
    prefix: str,
    brand: str | None,
    start: datetime,
    end: datetime,
    *,
    label: str | None = "negative",
    size: int = 5,
    platform: str | None = None,
) -> list[dict[str, Any]]:
    """The most engaged posts of a window (likes + reposts + comments + helpful), as records.

    One post per near-duplicate cluster (``dup_cluster``) and per text: a complaint copied by
    thirty accounts is one of the top posts, not three of five. Candidates are fetched
    :data:`TOP_POSTS_CANDIDATES` times over so that ``size`` distinct posts usually remain.
    """
    response = search(
        es,
        prefix,
        size=size * TOP_POSTS_CANDIDATES,
        query=filtered(brand=brand, start=start, end=end, platform=platform, label=label),
        sort=[{"engagement_total": "desc"}, {"created_at": "desc"}, {"id": "asc"}],
    )
    posts = [strip_index_fields(hit["_source"]) for hit in response["hits"]["hits"]]
    return distinct_posts(posts)[:size]


# How many candidates per wanted top post: copies of one text rarely fill more than this.
TOP_POSTS_CANDIDATES = 4
_NOT_WORDS = re.compile(r"[\W_]+")


def distinct_posts(posts: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """``posts`` in order, without a later one of the same ``dup_cluster`` or the same text.

    Texts are compared without spaces and punctuation (``鲜牧客服真的不理人！`` is
    ``鲜牧客服真的不理人``); a post without text is kept.
    """
    seen_clusters: set[str] = set()
    seen_texts: set[str] = set()
    out = []
    for post in posts:
        cluster = post.get("dup_cluster")
        text = str(post.get("text_clean") or post.get("text_raw") or post.get("text") or "")
        key = _NOT_WORDS.sub("", text).lower()
        if (cluster and cluster in seen_clusters) or (key and key in seen_texts):
            continue
        if cluster:
            seen_clusters.add(str(cluster))
        if key:
            seen_texts.add(key)
        out.append(post)
    return out


def fetch_posts(
    es: Elasticsearch,
    prefix: str,
    *,
    brand: str | None,
    start: datetime,
    end: datetime,
    label: str | None = None,
    platform: str | None = None,
    max_docs: int = 10000,
    page_size: int = 1000,
    where: dict[str, set[str]] | None = None,
    keep: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Every post of a window (oldest first, at most ``max_docs``) as Document records, but
    for the index-only fields in ``keep`` (see :func:`scan_posts`)."""
    query = filtered(brand=brand, start=start, end=end, platform=platform, label=label)
    return scan_posts(es, prefix, query, max_docs=max_docs, page_size=page_size, where=where,
                      keep=keep)  # fmt: skip


def sample_posts(
    es: Elasticsearch, prefix: str, *, size: int, seed: int = 0, **criteria: Any
) -> tuple[list[dict[str, Any]], int]:
    """At most ``size`` (up to 10,000) posts of :func:`filtered` ``criteria``, drawn evenly
    from the whole window (by a seeded hash of the id: the same draw on every run), and how
    many posts the window holds. :func:`fetch_posts` keeps the oldest: a crisis day's evening."""
    query = {
        "function_score": {
            "query": filtered(**criteria),
            "boost_mode": "replace",
            "random_score": {"seed": seed, "field": "id"},
        }
    }
    response = search(es, prefix, size=size, query=query, track_total_hits=True,
                      sort=["_score", {"id": "asc"}])  # fmt: skip
    hits = response["hits"]["hits"]
    return [strip_index_fields(h["_source"]) for h in hits], response["hits"]["total"]["value"]


def scan_posts(
    es: Elasticsearch,
    prefix: str,
    query: dict[str, Any],
    *,
    max_docs: int = 10000,
    page_size: int = 1000,
    where: dict[str, set[str]] | None = None,
    keep: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Posts matching ``query``, oldest first, as Document records (at most ``max_docs``).

    Pages with ``search_after`` on ``(created_at, id)``, so the result does not depend on the
    index's ``max_result_window``. ``where`` gets each ``_id``'s concrete indices, for updates.
    ``keep``: index-only fields left in the records (the daily spread run's ``cascade``).
    """
    records: list[dict[str, Any]] = []
    after: list[Any] | None = None
    while len(records) < max_docs:
        extra: dict[str, Any] = {"search_after": after} if after else {}
        response = search(
            es,
            prefix,
            size=min(page_size, max_docs - len(records)),
            query=query,
            sort=[{"created_at": "asc"}, {"id": "asc"}],
            track_total_hits=False,
            **extra,
        )
        hits = response["hits"]["hits"]
        records.extend(strip_index_fields(hit["_source"], keep) for hit in hits)
        if where is not None:
            for hit in hits:
                where.setdefault(hit["_id"], set()).add(hit["_index"])
        if len(hits) < page_size:
            break
        after = hits[-1]["sort"]
    return records


@dataclass(frozen=True)
class EditedPosts:
    """A brand's posts edited in a window (:func:`edited_posts`): how many, how many of them are
    negative as edited, and the first few as records that keep their ``edited_at``."""

    total: int
    negative: int
    posts: list[dict[str, Any]]


def edited_posts(
    es: Elasticsearch, prefix: str, brand: str, start: datetime, end: datetime, *, size: int = 5
) -> EditedPosts:
    """The posts of ``brand`` their site edited that a page of ``[start, end)`` names: those
    edited in the window, and those posted in it and edited since (the brief of a day, written
    the next morning, names its complaint corrected overnight).

    Negative ones first, then the most engaged. The label is the edit's (it was scored again):
    the index keeps no earlier version, so a complaint corrected into praise is listed too,
    which a filter on the negative label would leave out, the change the list is for.
    """
    edited = [
        post_filters(start=start, end=end, edited=True),
        [*post_filters(start=start, end=end), *post_filters(edited=True)],
    ]
    negative = {"term": {"sentiment.label": "negative"}}
    query = {
        "bool": {
            "filter": [
                *post_filters(brand=brand),
                {"bool": {"should": [{"bool": {"filter": f}} for f in edited]}},
            ],
            "should": [{"constant_score": {"filter": negative}}],  # scores negatives 1, others 0
        }
    }
    response = search(
        es,
        prefix,
        size=size,
        query=query,
        sort=["_score", {"engagement_total": "desc"}, {"edited_at": "desc"}, {"id": "asc"}],
        track_total_hits=True,
        aggs={"negative": {"filter": negative}},
    )
    hits = response["hits"]
    return EditedPosts(
        total=int(hits["total"]["value"]),
        negative=int(response["aggregations"]["negative"]["doc_count"]),
        posts=[strip_index_fields(h["_source"], keep=("edited_at",)) for h in hits["hits"]],
    )


def search_posts(
    es: Elasticsearch,
    prefix: str,
    *,
    text: str | None = None,
    brand: str | None = None,
    platform: str | None = None,
    label: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    size: int = 10,
    edited: bool = False,
) -> list[SearchHit]:
    """Full-text search for ``koubei search``: best matches first, newest first without text.

    ``edited``: the posts edited after they were first stored, ``start``/``end`` bounding the
    edit's time (:func:`~koubei.pipeline.index.queries.post_filters`), latest edit first
    without text. Every hit carries its ``edited_at`` (None for a post never edited).

    CJK text is matched as a phrase of per-character tokens, so ``退款`` does not also match a
    post that merely contains ``退`` and ``款`` apart. Text of blanks only is no text.
    Highlights look at the first ``index.highlight.max_analyzed_offset`` characters of a field
    (a million by default): a longer post (a whole page scraped as one article) is still found,
    with its fragments from that part.
    """
    text = text.strip() if text else None
    bool_query: dict[str, Any] = {
        "filter": post_filters(
            brand=brand, start=start, end=end, platform=platform, label=label, edited=edited
        )
    }
    extra: dict[str, Any] = {}
    if text:
        bool_query["must"] = [
            {"multi_match": {"query": text, "fields": list(TEXT_FIELDS), "type": "phrase"}}
        ]
        extra["highlight"] = {
            "fields": {
                name: {"number_of_fragments": 2, "fragment_size": 80} for name in TEXT_FIELDS
            },
            "pre_tags": ["【"],
            "post_tags": ["】"],
            # -1: stop at the index's limit instead of failing the post's shard (Elasticsearch 9).
            "max_analyzed_offset": -1,
        }
    else:
        latest_edit = [{"edited_at": "desc"}] if edited else []
        extra["sort"] = [*latest_edit, {"created_at": "desc"}, {"id": "asc"}]
    response = search(es, prefix, size=size, query={"bool": bool_query}, **extra)
    results = []
    for hit in response["hits"]["hits"]:
        found = [f for name in TEXT_FIELDS for f in hit.get("highlight", {}).get(name, [])]
        # raw and clean text often match at the same place: show each fragment once.
        fragments = list(dict.fromkeys(found))
        source = hit["_source"]
        record, edited_at = strip_index_fields(source), source.get("edited_at")
        results.append(SearchHit(hit["_id"], hit.get("_score"), record, fragments, edited_at))
    return results
