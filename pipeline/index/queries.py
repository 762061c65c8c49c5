"""The counts and aggregations of the posts index the detectors, reports and CLI read (volume
series, aspects, terms, accounts, crawl freshness) and the one :func:`search` every read of the
posts goes through. Reads that return the posts themselves (scans, samples, top posts, full-text
search) are :mod:`~koubei.pipeline.index.post_reads`; those that follow cascades
:mod:`~koubei.pipeline.index.cascade_reads`, both built on these.

All functions take the client and the index prefix and read through the ``<prefix>-posts``
alias (:func:`search`). Time ranges are half-open ``[start, end)`` on ``created_at`` (on
``edited_at`` for the edited posts, :func:`post_filters`); datetimes must be timezone-aware and
results come back in the timezone of ``start``. An answer some shards failed to give raises
:class:`PartialResultsError`: Elasticsearch answers it with HTTP 200 and the hits of the shards
that did answer, which would read as "no posts" (a volume series of zeros, a search without
results).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from elasticsearch import ApiError, BadRequestError, Elasticsearch

from koubei.errors import KoubeiError
from koubei.log import get_logger
from koubei.pipeline.index.allocation import (
    failed_indices,
    index_states,
    starting_indices,
    wait_for_primaries,
)
from koubei.pipeline.index.discover import POSTS_DATA_VIEW_ID, discover_url, kql
from koubei.pipeline.index.templates import posts_alias

#: bins read by one date-histogram search (a month of 5-minute bins fits three times over)
MAX_BINS_PER_SEARCH = 10_000
__all__ = [
    "POSTS_DATA_VIEW_ID",
    "AccountStat",
    "PartialResultsError",
    "TermCount",
    "VolumeBin",
    "aspect_counts",
    "discover_url",
    "filtered",
    "kql",
    "latest_crawl_per_source",
    "post_filters",
    "search",
    "top_accounts",
    "top_terms",
    "volume_series",
]

log = get_logger(__name__)


@dataclass(frozen=True)
class VolumeBin:
    """One interval of a volume series: ``[start, start + interval)``; ``total`` holds the
    ``no_opinion`` posts only when the series was asked for them (``no_opinion=True``)."""

    start: datetime
    total: int
    negative: int
    no_opinion: int = 0

    @property
    def negative_share(self) -> float:
        opinions = self.total - self.no_opinion
        return self.negative / opinions if opinions else 0.0


class TermCount(NamedTuple):
    term: str
    doc_count: int


@dataclass(frozen=True)
class AccountStat:
    """One author's weight in a window: posts, summed engagement, followers, negative posts."""

    id: str
    name: str | None
    platform: str | None
    posts: int
    engagement: int
    followers: int | None
    negative: int


class PartialResultsError(KoubeiError):
    """Some shards of the posts indices failed to answer a search (the answer is incomplete)."""


def search(es: Elasticsearch, prefix: str, **request: Any) -> Any:
    """``es.search`` on the read alias; raises :class:`PartialResultsError` if a shard failed.

    Examples: a shard whose index is red, a highlight over a text longer than the index's
    ``index.highlight.max_analyzed_offset``. A month's index the operator closed (an archived
    month) is left out, as the writer's lookup leaves it out: without that every read, however
    recent its window, failed with ``index_closed_exception``. A new month whose primary has
    not started (another writer created it a moment ago on a busy node: yellow, not red) holds
    no post yet: the read is answered by the other months and names it
    (:func:`_without_starting`); before, every read of the detection cycle raised.
    """
    alias = posts_alias(prefix)
    try:
        response = _search(es, alias, request)
    except ApiError as exc:
        # Every shard failed (503): e.g. the only month behind the alias, still starting.
        answer = _without_starting(es, alias, failed_indices(exc), request)
        if answer is None:
            raise
        response = answer
    shards = response.get("_shards") or {}
    if shards.get("failed"):
        failed = [str(f.get("index")) for f in shards.get("failures") or ()]
        response = _without_starting(es, alias, failed, request) or response
        shards = response.get("_shards") or {}
    if shards.get("failed"):
        failure = (shards.get("failures") or [{}])[0]
        reason = failure.get("reason") or {}
        text = reason.get("reason") or reason.get("type") if isinstance(reason, dict) else reason
        raise PartialResultsError(
            f"{shards['failed']} of {shards.get('total')} shards of {alias} did not answer, "
            f"so the answer would be incomplete: {failure.get('index')}: {text}"
        )
    return response


def _search(es: Elasticsearch, alias: str, request: dict[str, Any]) -> Any:
    try:
        return es.search(index=alias, **request)
    except BadRequestError as exc:
        if exc.error != "index_closed_exception":
            raise
        # Asked again without the closed months; a missing alias still raises NotFoundError.
        return es.search(index=alias, ignore_unavailable=True, **request)


def _without_starting(
    es: Elasticsearch, alias: str, failed: list[str], request: dict[str, Any]
) -> Any | None:
    """The answer of the months behind ``alias`` but the ``failed`` ones, when every one of
    those is a new month whose primary has not started (yellow, not red: its allocation
    throttled, not refused); None otherwise (a red month may hold posts: the read fails).

    Such a month answers no search, but no write has reached it yet either. The others are
    searched by name (``alias,-month`` is refused: an exclusion must follow a wildcard). With
    no other month (a 503, the new month alone) there is nothing to answer from (a search of
    no index has no aggregations): its primary is waited for as the writer waits
    (:func:`~koubei.pipeline.index.allocation.wait_for_primaries`), then the alias searched.
    """
    if not failed:
        return None
    states = index_states(es, alias)
    if any(states.get(index, ("", ""))[1] != "yellow" for index in failed):
        return None
    starting = sorted(starting_indices(es, sorted(set(failed))))
    if starting != sorted(set(failed)):
        return None
    others = sorted(
        i for i, (status, _) in states.items() if status == "open" and i not in starting
    )
    if not others:
        log.warning(
            "read waits for new indices whose primary shard has not started yet",
            indices=starting,
        )
        return None if wait_for_primaries(es, starting) else _search(es, alias, request)
    log.warning(
        "read leaves out new indices whose primary shard has not started yet (they hold no "
        "post yet)",
        indices=starting,
    )
    return es.search(index=",".join(others), ignore_unavailable=True, **request)


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError(f"{value!r} is naive; pass a timezone-aware datetime")
    return int(value.timestamp() * 1000)


def post_filters(
    *,
    brand: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    platform: str | None = None,
    label: str | None = None,
    edited: bool = False,
) -> list[dict[str, Any]]:
    """The bool ``filter`` clauses shared by every query.

    ``edited``: only the posts their site edited after koubei first stored them (those with an
    ``edited_at``), and ``start``/``end`` bound the edit's time instead of ``created_at``: the
    posts edited in the window, whenever they were first posted (an analyst asking for edits
    of the last day means a complaint of last month corrected this morning too).
    """
    clauses: list[dict[str, Any]] = []
    if edited:
        clauses.append({"exists": {"field": "edited_at"}})
    if brand:
        clauses.append({"term": {"brands": brand}})
    if platform:
        clauses.append({"term": {"platform": platform}})
    if label:
        clauses.append({"term": {"sentiment.label": label}})
    if start is not None or end is not None:
        bounds: dict[str, Any] = {"format": "epoch_millis"}
        if start is not None:
            bounds["gte"] = _ms(start)
        if end is not None:
            bounds["lt"] = _ms(end)
        clauses.append({"range": {"edited_at" if edited else "created_at": bounds}})
    return clauses


def filtered(**criteria: Any) -> dict[str, Any]:
    """A ``bool`` query of :func:`post_filters` clauses (same keyword arguments)."""
    return {"bool": {"filter": post_filters(**criteria)}}


def _unique_aggs() -> dict[str, Any]:
    # Near-duplicates share a dup_cluster; a document without one counts on its own. Cardinality
    # is exact below its precision threshold (far above one bin's volume).
    return {
        "clusters": {"cardinality": {"field": "dup_cluster", "precision_threshold": 40000}},
        "unclustered": {"missing": {"field": "dup_cluster"}},
    }


def _unique_count(bucket: dict[str, Any]) -> int:
    return int(bucket["clusters"]["value"]) + int(bucket["unclustered"]["doc_count"])


def volume_series(
    es: Elasticsearch,
    prefix: str,
    brand: str | None,
    start: datetime,
    end: datetime,
    interval_seconds: int,
    *,
    platform: str | None = None,
    unique: bool = False,
    no_opinion: bool = False,
) -> list[VolumeBin]:
    """Posts and negative posts per interval, every bin present (empty ones zero-filled).

    Posts labelled ``no_opinion`` are not counted (neither in ``total`` nor ``negative``), so
    the negative share and every detector fed from this series see opinions only; with
    ``no_opinion=True`` (a page's volume chart, whose headline counts every post) they are
    counted in ``total`` and in each bin's ``no_opinion``.

    Bins start at ``start`` and step by ``interval_seconds``; the last bin is the one holding
    ``end - 1ms``. With ``unique=True`` near-duplicates (same ``dup_cluster``) count once.
    Bins shorter than a day leave out date-only posts (``time_precision: "day"``): they sit at
    midnight and would pile a whole day into one bin.
    """
    if interval_seconds <= 0:
        raise ValueError("interval_seconds must be positive")
    start_ms, end_ms = _ms(start), _ms(end)
    if end_ms <= start_ms:
        return []
    interval_ms = interval_seconds * 1000
    span_ms = MAX_BINS_PER_SEARCH * interval_ms
    if end_ms - start_ms > span_ms:
        # A long history (a backtest over months of 5-minute bins) would exceed the cluster's
        # bucket limit (search.max_buckets, 65,536 by default, sub-aggregations included):
        # read it in aligned pieces, each bin still starting at start + k × interval.
        cut = start + timedelta(milliseconds=span_ms)
        return [
            *volume_series(es, prefix, brand, start, cut, interval_seconds, platform=platform,
                           unique=unique, no_opinion=no_opinion),
            *volume_series(es, prefix, brand, cut, end, interval_seconds, platform=platform,
                           unique=unique, no_opinion=no_opinion),
        ]  # fmt: skip
    negative_aggs: dict[str, Any] = {"filter": {"term": {"sentiment.label": "negative"}}}
    histogram: dict[str, Any] = {
        "date_histogram": {
            "field": "created_at",
            "fixed_interval": f"{interval_seconds}s",
            "offset": f"+{start_ms % interval_ms}ms",
            "min_doc_count": 0,
            "extended_bounds": {"min": start_ms, "max": end_ms - 1},
        },
        "aggs": {"negative": negative_aggs},
    }
    if no_opinion:
        histogram["aggs"]["no_opinion"] = {"filter": {"term": {"sentiment.label": "no_opinion"}}}
    if unique:
        histogram["aggs"].update(_unique_aggs())
        for sub in ("negative", "no_opinion")[: 1 + no_opinion]:
            histogram["aggs"][sub]["aggs"] = _unique_aggs()
    query: dict[str, Any] = {
        "bool": {
            "filter": post_filters(brand=brand, start=start, end=end, platform=platform),
            # Posts with no words of their own (bare reposts ...) carry no opinion: they would
            # dilute or, scored, distort the negative share (issue 18).
            "must_not": [] if no_opinion else [{"term": {"sentiment.label": "no_opinion"}}],
        }
    }
    if interval_seconds < 86_400:
        # A date-only time (midnight of its day) must not pile a day's posts into one bin.
        query["bool"]["must_not"].append({"term": {"time_precision": "day"}})
    response = search(es, prefix, size=0, query=query, aggs={"bins": histogram})
    # Zero-fill on the client too: with an offset, extended_bounds may add a bin at `end`.
    by_key = {int(b["key"]): b for b in response["aggregations"]["bins"]["buckets"]}
    count = _unique_count if unique else lambda agg: int(agg["doc_count"])
    bins = []
    for key in range(start_ms, end_ms, interval_ms):
        bin_start = datetime.fromtimestamp(key / 1000, tz=start.tzinfo)
        bucket = by_key.get(key)
        if bucket is None:
            bins.append(VolumeBin(bin_start, 0, 0))
            continue
        quiet = count(bucket["no_opinion"]) if no_opinion else 0
        bins.append(VolumeBin(bin_start, count(bucket), count(bucket["negative"]), quiet))
    return bins


def aspect_counts(
    es: Elasticsearch,
    prefix: str,
    brand: str | None,
    start: datetime,
    end: datetime,
    *,
    size: int = 200,
) -> dict[str, tuple[int, int]]:
    """Per aspect, the posts of ``[start, end)`` that mention it and those negative about it.

    Counted by the node over every post of the window, however many: fetching the posts
    instead stops at a cap, and a day of a big brand then showed only its first hours. The
    negative side reads ``aspect_labels`` (``aspect/label`` pairs, schema 2), because the
    aspects are a flat object array whose aspect and label would cross-match.
    """
    response = search(
        es,
        prefix,
        size=0,
        query=filtered(brand=brand, start=start, end=end),
        aggs={
            "aspects": {"terms": {"field": "aspects.aspect", "size": size}},
            "negative": {
                "terms": {"field": "aspect_labels", "include": ".*/negative", "size": size}
            },
        },
    )
    aggs = response["aggregations"]
    negative = {
        b["key"].rsplit("/", 1)[0]: int(b["doc_count"]) for b in aggs["negative"]["buckets"]
    }
    return {
        b["key"]: (int(b["doc_count"]), negative.get(b["key"], 0))
        for b in aggs["aspects"]["buckets"]
    }


def latest_crawl_per_source(
    es: Elasticsearch, prefix: str, brand: str, start: datetime, end: datetime
) -> dict[str, datetime]:
    """Per source, the latest ``crawled_at`` of the brand's posts crawled in ``[start, end]``.

    How fresh each source's data is: a source missing here brought nothing for the brand in
    the window. A post crawled at ``end`` itself was known then (a replay or the demo pins the
    clock, and its crawl stamps are exactly ``end``). Times come back in the timezone of
    ``start``.
    """
    bounds = {"gte": _ms(start), "lte": _ms(end), "format": "epoch_millis"}
    query = {"bool": {"filter": [*post_filters(brand=brand), {"range": {"crawled_at": bounds}}]}}
    aggs = {
        "sources": {
            "terms": {"field": "source", "size": 1000},
            "aggs": {"latest": {"max": {"field": "crawled_at"}}},
        }
    }
    response = search(es, prefix, size=0, query=query, aggs=aggs)
    return {
        str(b["key"]): datetime.fromtimestamp(b["latest"]["value"] / 1000, tz=start.tzinfo)
        for b in response["aggregations"]["sources"]["buckets"]
        if b["latest"]["value"] is not None
    }


def top_terms(
    es: Elasticsearch,
    prefix: str,
    brand: str | None,
    start: datetime,
    end: datetime,
    *,
    label: str | None = None,
    size: int = 20,
    platform: str | None = None,
    significant: bool = False,
) -> list[TermCount]:
    """Most frequent segmented terms (``terms`` field) of a window.

    With ``significant=True`` the terms that are unusually frequent in the window compared with
    all of the brand's posts (``significant_terms``) — what is *new* in a spike.
    """
    kind = "significant_terms" if significant else "terms"
    agg: dict[str, Any] = {"field": "terms", "size": size}
    if significant:
        agg["background_filter"] = {"bool": {"filter": post_filters(brand=brand)}}
    response = search(
        es,
        prefix,
        size=0,
        query=filtered(brand=brand, start=start, end=end, platform=platform, label=label),
        aggs={"top": {kind: agg}},
    )
    buckets = response["aggregations"]["top"]["buckets"]
    return [TermCount(str(b["key"]), int(b["doc_count"])) for b in buckets]


def top_accounts(
    es: Elasticsearch,
    prefix: str,
    brand: str | None,
    start: datetime,
    end: datetime,
    *,
    label: str | None = None,
    size: int = 10,
    platform: str | None = None,
    order_by: str = "engagement",
) -> list[AccountStat]:
    """Authors with the most summed engagement (or ``order_by="posts"``) in a window."""
    order = {"engagement": "desc"} if order_by == "engagement" else {"_count": "desc"}
    response = search(
        es,
        prefix,
        size=0,
        query=filtered(brand=brand, start=start, end=end, platform=platform, label=label),
        aggs={
            "accounts": {
                "terms": {"field": "author.id", "size": size, "order": [order, {"_key": "asc"}]},
                "aggs": {
                    "engagement": {"sum": {"field": "engagement_total"}},
                    "followers": {"max": {"field": "author.followers"}},
                    "negative": {"filter": {"term": {"sentiment.label": "negative"}}},
                    "latest": {
                        "top_hits": {
                            "size": 1,
                            "sort": [{"created_at": "desc"}],
                            "_source": ["author.name", "platform"],
                        }
                    },
                },
            }
        },
    )
    accounts = []
    for bucket in response["aggregations"]["accounts"]["buckets"]:
        latest = bucket["latest"]["hits"]["hits"][0]["_source"]
        followers = bucket["followers"]["value"]
        accounts.append(
            AccountStat(
                id=str(bucket["key"]),
                name=(latest.get("author") or {}).get("name"),
                platform=latest.get("platform"),
                posts=int(bucket["doc_count"]),
                engagement=int(bucket["engagement"]["value"]),
                followers=int(followers) if followers is not None else None,
                negative=int(bucket["negative"]["doc_count"]),
            )
        )
    return accounts
