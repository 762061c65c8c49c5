"""Which documents are stored already, where, and from which crawl: the writer's id lookup.

The month of ``created_at`` picks a new document's index, but a re-crawl can move
``created_at`` into another month (a date shown without its time first, midnight in Shanghai
being the previous month in UTC; a relative ``3天前`` resolved on each crawl). Before
:mod:`koubei.pipeline.index.writer` sends a batch, :func:`stored_copies` asks one ``ids``
search on the read alias which of its ids are stored, in which months, and the latest crawl
stored of each (``last_seen``). The writer then updates a stored document in the month that
holds it, and does not send a record from an older crawl than the stored copy
(:func:`from_older_crawl`): an old file loaded again, or an old spool replayed after a newer
crawl, must not put the old counts, sentiment and ``last_seen`` back.

A month the operator closed (archived) answers no search. :func:`closed_months` names them and
:func:`near_closed` says whether a post's time lies within :data:`MOVE_WINDOW` of one: such a
post, not found elsewhere, may be stored there, and the writer spools it (as a write into that
month is) until the month is reopened, rather than create a second copy. A month whose shard
did not answer the lookup (a primary unassigned: the cluster red) is held alike until it answers
(:func:`koubei.pipeline.index.allocation.red_cause` says why): the lookup used to fail as a
whole, so one lost shard of an old month spooled every document of every run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import ApiError, Elasticsearch

from koubei import timeutil
from koubei.crawlers.timeparse import parse_iso
from koubei.pipeline.index.allocation import (
    Months,
    States,
    failed_indices,
    index_states,
    months_of,
)
from koubei.pipeline.index.documents import INDEX_TIME_ALLOWANCE
from koubei.pipeline.index.templates import month_name, posts_alias

__all__ = [
    "LOOKUP_BATCH",
    "MOVE_WINDOW",
    "LookupIncomplete",
    "closed_months",
    "from_older_crawl",
    "near_closed",
    "stored_copies",
]

# Ids one lookup search asks for (the search's size stays far below index.max_result_window).
LOOKUP_BATCH = 1000
# How far a re-crawl can move a post's created_at: a date shown without its time (``11-01``,
# that day's midnight) and a relative ``3天前`` by less than a day, ``2周前`` by less than a week.
# (``N个月前``/``N年前`` can move further: not covered.) Posts this close to a closed month wait in
# the spool; a wider window would hold recent posts back whenever last month is closed.
MOVE_WINDOW = timedelta(days=8)


class LookupIncomplete(Exception):
    """The lookup search did not reach every shard (a node still starting): ask again later."""


def stored_copies(
    es: Elasticsearch, prefix: str, ids: list[str]
) -> tuple[dict[str, set[str]], dict[str, datetime], Months]:
    """The months (by name, ``<prefix>-posts-YYYY.MM``) already holding each of ``ids``, the
    latest crawl stored of each (a ``last_seen`` ahead of the clock by more than the allowance
    is left out), and the (year, month) of the months whose shards did not answer: an id not
    found may be stored there (the writer holds a post near one, as near a closed month).

    Raises :class:`LookupIncomplete` when the search timed out or a shard that did not answer
    is of no month, and whatever the search raises (the writer retries both like a failed bulk
    request).
    """
    try:
        response = es.search(
            index=posts_alias(prefix),
            query={"ids": {"values": ids}},
            size=2 * len(ids),  # an id stored twice by an older version still shows
            source_includes=["last_seen"],
            ignore_unavailable=True,
            allow_no_indices=True,
            filter_path="_shards.failed,_shards.failures.index,timed_out,"
            "hits.hits._id,hits.hits._index,hits.hits._source",
        )
    except ApiError as exc:
        # Every shard failed (503): every month unanswering, e.g. the only one, just created
        # by another lane and its primary still starting. Answered like a partial failure, so
        # the writer waits for a starting month or holds a red one saying why; it was retried
        # five times in 15 s, then the batch spooled saying "all shards failed".
        unanswered = months_of(failed_indices(exc))
        if unanswered is None:
            raise
        return {}, {}, unanswered
    shards = response.get("_shards") or {}
    unanswered = months_of([str(f.get("index")) for f in shards.get("failures") or ()])
    if response.get("timed_out") or (shards.get("failed") and not unanswered):
        # A shard that did not answer may hold some of these ids, and which month it is of is
        # not known: deciding now could put a second copy in another month.
        raise LookupIncomplete(f"lookup search incomplete: {shards}")
    stored: dict[str, set[str]] = {}
    seen: dict[str, datetime] = {}  # the latest crawl stored per _id
    # A stored crawl time ahead of the clock (a crawler's clock off, a demo run at a pinned
    # future instant) must not hold every later crawl back.
    horizon = timeutil.now() + INDEX_TIME_ALLOWANCE
    for hit in (response.get("hits") or {}).get("hits") or ():
        stored.setdefault(hit["_id"], set()).add(month_name(hit["_index"]))
        last = _instant((hit.get("_source") or {}).get("last_seen"))
        if last is None or last > horizon:
            continue
        if hit["_id"] not in seen or last > seen[hit["_id"]]:
            seen[hit["_id"]] = last
    return stored, seen, unanswered or set()


def closed_months(es: Elasticsearch, prefix: str, states: States | None = None) -> Months:
    """(year, month) of the months behind the read alias that are closed (none if no alias);
    ``states`` as :func:`~koubei.pipeline.index.allocation.index_states` answered for it."""
    if states is None:
        states = index_states(es, posts_alias(prefix))
    closed = [index for index, (status, _) in states.items() if status == "close"]
    return set().union(*(months_of([index]) or () for index in closed))


def near_closed(created_at: Any, closed: set[tuple[int, int]]) -> bool:
    """Whether ``created_at`` lies within :data:`MOVE_WINDOW` of one of the ``closed`` months
    (UTC months, as the indices are cut), so a post stored there may have moved to here."""
    created = _instant(created_at) if closed else None
    if created is None:
        return False
    created = created.astimezone(UTC)
    first, last = created - MOVE_WINDOW, created + MOVE_WINDOW
    month, end = first.year * 12 + first.month - 1, last.year * 12 + last.month - 1
    return any((m // 12, m % 12 + 1) in closed for m in range(month, end + 1))


def from_older_crawl(last_seen: Any, stored_crawl: datetime | None) -> bool:
    """Whether a record crawled at ``last_seen`` is from an older crawl than ``stored_crawl``,
    the latest stored (then it is not sent); an unknown time on either side is not older."""
    mine = _instant(last_seen)
    return mine is not None and stored_crawl is not None and mine < stored_crawl


def _instant(value: Any) -> datetime | None:
    """A stored or prepared ISO time as an instant (None if there is none or it is not one)."""
    if not value:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None
