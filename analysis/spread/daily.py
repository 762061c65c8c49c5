"""The daily spread documents: each brand's key accounts of a day and its recent cascades.

The morning flow (``koubei-daily-report``, ``koubei report daily``) calls :func:`index_day`
after the brief, so Kibana's ``<prefix>-accounts`` and ``<prefix>-cascades`` hold what the
spread analysis says of the posts: the day's key accounts of every brand
(:func:`~koubei.analysis.spread.accounts.accounts_for_period`), and every cascade of the brand
with posts in the :data:`CASCADE_DAYS` days up to the day's end, built whole (its posts from
before those days too; :func:`~koubei.analysis.spread.evidence.cascade_documents`). Both are
keyed by id (a cascade by its brand and root's, ``<brand>:<root id>``: a cascade naming two
brands is one document per brand, each built from that brand's posts), so a re-run, or the
next day's run over a cascade still growing, overwrites.

A run for an earlier day than the last (an analyst re-running last week's brief, a back-fill)
writes that day's accounts again but never takes a cascade back to that day: it reads only up
to the day's end, so a cascade that grew since would be written smaller, and stay so once no
later run's days hold it. A brand's cascade document whose last post is at or after the day's
end (:func:`~koubei.pipeline.index.cascade_reads.cascades_of_roots`, one read per brand) was
written by a run for a later day and is left as it is (counted in :attr:`SpreadReport.kept`),
and so is the ``cascade`` of every post such a run placed, or this run would place, in a
cascade of that root (any brand's: which brand's cascade a post takes depends on their sizes,
which this run sees cut). A post of the day crawled late into such a cascade gets its place
from the next run that covers the cascade's last post.

A run for a later day can write between that read and this run's writes (the daily flow while
an analyst re-runs an old day), so each cascade document is written over exactly the copy that
read found (``if_seq_no`` + ``if_primary_term``), or created if it found none. A document
another run wrote in between is a version conflict: read again (:func:`_write_cascades`), it
is left as it is if its last post is at or after the day's end (counted in ``kept``, its
posts' ``cascade`` held as above), and written over that new copy otherwise (a run for the
same or an earlier day wrote it, which saw no more than this one). The posts' ``cascade`` is
not written conditionally (see :func:`index_day`).

The posts of those cascades get their place in it too, as the field ``cascade`` of the stored
post (``root_id``, the chain-resolved ``parent_id``, ``depth``, ``via``;
:func:`~koubei.analysis.spread.evidence.post_cascades`): the platform's ``parent_id`` of a
Weibo repost is the root, so without it Kibana can neither filter a cascade's posts nor say
whom a repost came through. Compared on every run with the value the post is stored with
(read with the post, in the same scan) and sent where it differs, so a post that moved under
another parent as more of its chain was crawled takes the new one, and a run that finds the
same values sends no update at all. A post in cascades of two brands takes its place in the
bigger one (the one that saw more of it; a tie goes to the brand listed first).

What left a cascade leaves the indices too, within the days the run rebuilt: a brand's cascade
document whose last post is in those days but which the run did not write is rebuilt from its
root's posts (a repost that re-crawl moved elsewhere was its only recent post), and removed if
fewer than two posts are left of it; a post of those days whose ``cascade`` no brand's run gave
it again (a re-crawl corrected its parent, the rest of its cascade was deleted) has the field
set to null, so ``cascade.root_id: X`` no longer lists it and ``exists`` no longer matches it.
So has a post of those days stored under no brand any more (landed again with ``brands``
empty after ``brands.yaml`` changed, :func:`_left_every_brand`): no brand's run reads it, so
none of their cascades counts it, and it kept the field for good.
A post or cascade older than those days was not re-examined and keeps what it had, as does a
root whose reposts came after the day (a run for an earlier day saw it alone); a brand whose
posts were cut at :data:`MAX_POSTS` removes and clears nothing (its run may have missed them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from koubei.analysis.spread.accounts import accounts_for_period
from koubei.analysis.spread.cascade import build_cascades, parse_time
from koubei.analysis.spread.evidence import cascade_documents, post_cascades
from koubei.analysis.spread.measures import cascade_roots
from koubei.log import get_logger
from koubei.timeutil import DEFAULT_TZ

if TYPE_CHECKING:
    from koubei.pipeline.index.derived import Refusals

__all__ = ["CASCADE_DAYS", "SpreadReport", "day_documents", "index_day"]

log = get_logger(__name__)

#: Cascades are rebuilt from this many days of a brand's posts, up to the day's end.
CASCADE_DAYS = 7
#: Most posts of one brand read for one run; the newest are the ones a cut would lose.
MAX_POSTS = 100_000
#: Most writes of one cascade document, each after the one before met a copy another run
#: wrote since it was read (an earlier or the same day's run: a later day's copy is kept).
WRITE_ROUNDS = 3


@dataclass
class SpreadReport:
    """Documents written per kind (``accounts``, ``cascades``) and the refused ones.

    ``posts``: stored posts whose ``cascade`` field this run changed (set, or moved);
    ``cleared``: those whose field it set to null (in no cascade any more); ``kept``: cascade
    documents the run built but left as stored, a run for a later day having written them
    (they count posts from after this day's end, which this run did not read), whether found
    so by the run's read or by the version conflict of its write (written since that read).
    """

    written: dict[str, int] = field(default_factory=lambda: {"accounts": 0, "cascades": 0})
    errors: list[str] = field(default_factory=list)
    posts: int = 0
    cleared: int = 0
    kept: int = 0


def window(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of the posts a run for ``day`` rebuilds: :data:`CASCADE_DAYS` days up to
    the day's end (Asia/Shanghai)."""
    end = datetime(day.year, day.month, day.day, tzinfo=DEFAULT_TZ) + timedelta(days=1)
    return end - timedelta(days=CASCADE_DAYS), end


def day_documents(
    es: Any,
    prefix: str,
    brand: str,
    day: date,
    *,
    max_posts: int = MAX_POSTS,
    where: dict[str, set[str]] | None = None,
    cascades: bool = True,
) -> dict[str, Any]:
    """``{"accounts", "cascades", "posts", "carrying", "stored", "whole"}`` of ``brand`` for
    ``day`` (Asia/Shanghai); with ``cascades`` false the accounts alone (the others empty: no
    cascade document is read).

    ``posts``: ``{"id", "size", "cascade"}`` of every post in those cascades (the size of its
    cascade, to choose between two brands' views); ``carrying``: ``{"id", "cascade",
    "brands"}`` of the window's posts stored with a ``cascade`` (the ones a run may clear);
    ``stored``: the ``cascade`` (None for none) of every post read, one per stored copy, to
    send only what changes; ``whole``: the window was read whole (not cut at ``max_posts``).
    ``where`` gets the indices the posts were read from (see
    :func:`~koubei.pipeline.index.post_reads.scan_posts`).
    """
    from koubei.pipeline.index.cascade_reads import cascades_ending
    from koubei.pipeline.index.post_reads import fetch_posts

    since, end = window(day)
    # One read of the window: with the index-only `cascade`, taken out before the records
    # are used as Documents (the posts that carry one are those a run may clear).
    posts = fetch_posts(es, prefix, brand=brand, start=since, end=end, max_docs=max_posts,
                        where=where, keep=("cascade",))  # fmt: skip
    stored: dict[str, list[Any]] = {}
    carrying = [
        {"id": r["id"], "brands": r.get("brands"), "cascade": r["cascade"]}
        for r in posts
        if r.get("cascade")  # a null one is none (not indexed: `exists` does not match it)
    ]
    posts = _take_cascades(posts, stored)
    whole = len(posts) < max_posts
    if not whole:
        # Oldest first: the cut lost the newest posts, so the day's figures are incomplete.
        log.warning("spread documents built from the oldest posts only", brand=brand,
                    day=day.isoformat(), max_posts=max_posts)  # fmt: skip
    start = end - timedelta(days=1)
    of_day = [r for r in posts if (t := parse_time(r.get("created_at"))) and start <= t < end]
    accounts = accounts_for_period(of_day, brand=brand, day=day.isoformat())
    if not cascades:
        return {"accounts": accounts, "cascades": [], "posts": [], "carrying": [], "stored": {},
                "whole": whole}  # fmt: skip
    known = cascades_ending(es, prefix, brand, since, end)
    G = _whole_cascades(es, prefix, brand, posts, end, max_posts, where, known, stored)
    return {
        "accounts": accounts,
        "cascades": cascade_documents(G, brand=brand),
        "posts": [{"id": p, "size": n, "cascade": c} for p, n, c in post_cascades(G)],
        "carrying": carrying if whole else [],
        "stored": stored,
        "whole": whole,
    }


def _take_cascades(
    records: list[dict[str, Any]], stored: dict[str, list[Any]]
) -> list[dict[str, Any]]:
    """``records`` as Document records: each one's stored ``cascade`` (None when it has none)
    is taken out of it into ``stored[id]``, one entry per copy read."""
    for record in records:
        stored.setdefault(str(record["id"]), []).append(record.pop("cascade", None))
    return records


def _whole_cascades(
    es: Any,
    prefix: str,
    brand: str,
    posts: list[dict[str, Any]],
    end: datetime,
    max_posts: int,
    where: dict[str, set[str]] | None = None,
    known: list[str] | None = None,
    stored: dict[str, list[Any]] | None = None,
) -> Any:
    """The cascades of ``posts``, each with its posts from before the window too, and those of
    the roots ``known`` (the brand's cascade documents ending in the window) rebuilt whole.

    A cascade whose root is older than the window would otherwise be built from its recent
    reposts alone (the root a placeholder) and, under the same id, overwrite the whole
    cascade written on an earlier day with that fragment. A known root no post of the window
    leads to any more (its recent reposts moved) would keep the document that counts them.
    ``stored`` gets the older posts' stored ``cascade`` (:func:`_take_cascades`).
    """
    from koubei.pipeline.index.cascade_reads import cascade_posts

    G = build_cascades(posts)
    missing = {
        str(root)
        for root in cascade_roots(G)
        if G.out_degree(root) > 0 and G.nodes[root].get("placeholder")
    }
    # A known root crawled in the window is in G with everything after it already.
    missing |= {r for r in known or () if r not in G or G.nodes[r].get("placeholder")}
    if not missing:
        return G
    older = cascade_posts(es, prefix, missing, brand=brand, end=end, max_docs=max_posts,
                          where=where, keep=("cascade",))  # fmt: skip
    older = _take_cascades(older, {} if stored is None else stored)
    # A post in both lists counts once (build_cascades keeps one copy per id).
    return build_cascades(posts + older)


def index_day(es: Any, prefix: str, brands: list[str], day: date) -> SpreadReport:
    """Build and index the spread documents of every brand in ``brands`` for ``day``.

    Idempotent: the same posts give the same documents under the same ids; a brand's accounts
    of the day that a re-run no longer ranks are removed (see ``write_documents``), and so is
    any other document of the brand for a root it writes (the copy an earlier release kept
    under the root's id alone, which the brand written last took over) or whose last post is in
    the days rebuilt (a cascade that dissolved). Then the ``cascade`` field of every post in
    those cascades, and of the posts of those days that left every cascade (see the module's
    description). A post is sent only when its ``cascade`` changes (set, moved, or cleared).
    A cascade a run for a later day wrote, and its posts' field, are left as they are, also
    when that run wrote it after this one read it (a conditional write, :func:`_write_cascades`).
    An index with no active primary shard (red) is said in ``errors`` naming it: a red cascades
    index leaves the cascades and the posts' field as they are and the accounts are written, a
    red accounts index or posts month has its documents reported refused
    (:mod:`~koubei.pipeline.index.derived`).
    """
    from koubei.pipeline.index.cascade_reads import CascadesUnread, cascades_of_roots
    from koubei.pipeline.index.derived import Refusals, update_posts, write_documents
    from koubei.pipeline.index.templates import ensure_ready

    unreachable = ensure_ready(es, prefix)
    if unreachable is not None:
        raise unreachable
    report = SpreadReport()
    red = _cascades_red(es, prefix, report)  # then the accounts alone
    refused = Refusals()  # every brand's and round's, said once per index and reason at the end
    where: dict[str, set[str]] = {}
    placed: dict[str, dict[str, Any]] = {}  # post id -> its biggest cascade's {"size", "cascade"}
    carrying: dict[str, dict[str, Any]] = {}  # post id -> {"cascade", "brands"} as stored
    stored: dict[str, list[Any]] = {}  # post id -> its stored cascade, one per copy read
    cut: set[str] = set()  # brands whose window was not read whole
    rooted: dict[str, set[str]] = {}  # post id -> the roots this run puts it under, any brand's
    newer: set[tuple[str, str]] = set()  # (brand, root) of the documents a later day's run wrote
    end = window(day)[1]
    for brand in brands:
        try:
            docs = day_documents(es, prefix, brand, day, where=where, cascades=not red)
        except CascadesUnread as exc:  # red since the check: as if it had found it so
            red = _cascades_unread(exc.index, report)
            docs = day_documents(es, prefix, brand, day, where=where, cascades=False)
        for post in docs["posts"]:
            rooted.setdefault(post["id"], set()).add(post["cascade"]["root_id"])
            if post["size"] > placed.get(post["id"], {"size": 0})["size"]:
                placed[post["id"]] = post
        carrying.update((post["id"], post) for post in docs["carrying"])
        for post, values in docs["stored"].items():
            stored.setdefault(post, []).extend(values)
        if not docs["whole"]:
            cut.add(brand)
        # The brand's all-platform ranking of the day (the documents accounts_for_period makes).
        one_day = {
            "bool": {
                "filter": [{"term": {"brand": brand}}, {"term": {"day": day.isoformat()}}],
                "must_not": [{"exists": {"field": "platform"}}],
            }
        }
        written = write_documents(es, prefix, "accounts", docs["accounts"], replace=one_day)
        report.written["accounts"] += written.written
        refused.update(written.refused)
        report.errors += written.unsearched
        if red:
            continue
        # One read per brand, of the stored documents of the roots this run built or its posts
        # are stored under: the brand's (each written over only as read) and any brand's that
        # count a post from the day's end on (left alone). A later day's run writing after this
        # read is met by the conditional write (_write_cascades).
        seen = {d["root_id"] for d in docs["cascades"]} | _stored_roots(docs["stored"].values())
        try:
            read = cascades_of_roots(es, prefix, seen, brand=brand, end=end) if seen else []
        except CascadesUnread as exc:
            red = _cascades_unread(exc.index, report)
            continue
        newer |= {(c.brand, c.root_id) for c in read if _later(c.last_at, end)}
        built = docs["cascades"]
        docs["cascades"] = [d for d in built if (brand, d["root_id"]) not in newer]
        report.kept += len(built) - len(docs["cascades"])
        roots = [d["root_id"] for d in docs["cascades"]]
        replaced = _cascades_replaced(brand, roots, window(day) if docs["whole"] else None)
        versions = {c.id: (c.seq_no, c.primary_term) for c in read}
        try:
            overtaken = _write_cascades(es, prefix, docs["cascades"], versions, replaced, end,
                                        report, refused)  # fmt: skip
        except CascadesUnread as exc:  # its re-read of the documents met changed
            red = _cascades_unread(exc.index, report)
            continue
        report.kept += len(overtaken)
        newer |= {(brand, root) for root in overtaken}
    # A post of a cascade a later day's run wrote keeps what that run gave it: this run saw
    # the cascade cut at the day's end, so its size (the choice between two brands' cascades)
    # is smaller, and the post is in it or not as that run saw it. Not conditional, unlike the
    # cascade documents: a run for a later day that writes its cascades after this run wrote
    # its own (so no conflict here) and its posts before this run's updates below still has
    # them overwritten, until the next daily run covering them. Making them conditional would
    # take each post's _seq_no from the scans that read it, in the concrete index read, while
    # the update goes to the month's name (an index reindexed in between answers 409 for every
    # post), and a 409 from the crawl writer's upserts (retry_on_conflict absorbs them now)
    # would need a read of the post to tell from a later run's placement: not cheap here.
    if red:  # no post's cascade either: those documents place them (the check's promise)
        placed, carrying = {}, {}
    later = {root for _brand, root in newer}
    held = {post for post, roots in rooted.items() if roots & later}
    held |= {post for post, values in stored.items() if _stored_roots([values]) & later}
    # Only the posts whose value changes: a re-run over the same posts sends nothing.
    changed = {
        post: {"cascade": value["cascade"]}
        for post, value in placed.items()
        if post not in held
        and (post not in stored or any(old != value["cascade"] for old in stored[post]))
    }
    updated = update_posts(es, changed, where)
    report.posts = updated.written
    carrying = {post: value for post, value in carrying.items() if post not in held}
    left = _left_every_cascade(es, prefix, carrying, placed, cut, end)
    if not red:
        left = sorted({*left, *_left_every_brand(es, prefix, day, where)})
    # null, not a removed key: a partial update cannot remove one (no painless); a null field
    # is not indexed, so neither `exists` nor a term on cascade.* matches the post any more.
    cleared = update_posts(es, {p: {"cascade": None} for p in left}, where)
    report.cleared = cleared.written
    report.errors += refused.lines()
    posts = Refusals()
    posts.update(updated.refused)
    posts.update(cleared.refused)
    report.errors += posts.lines("cascade field of {n} post{s}")
    report.errors = list(dict.fromkeys(report.errors))  # a search failed alike for each brand
    return report


def _cascades_red(es: Any, prefix: str, report: SpreadReport) -> bool:
    """Whether the cascades index has no active primary shard (red), said in ``errors`` naming
    it: no cascade document can be read or written, so none is, nor any post's ``cascade``
    (placed by those documents). Before, the run's first read of it (503 all shards failed)
    raised a bare ``ApiError(503, 'search_phase_execution_exception')`` naming no index, before
    any brand's accounts were written."""
    from koubei.pipeline.index.allocation import index_states
    from koubei.pipeline.index.templates import kind_index

    index = kind_index(prefix, "cascades")
    states = index_states(es, index).values()
    if not any(status == "open" and health == "red" for status, health in states):
        return False
    return _cascades_unread(index, report)


def _cascades_unread(index: str, report: SpreadReport) -> bool:
    """Say in ``errors`` that the cascades ``index`` has no active primary (red): the run's
    check found it so, or a read of it after the check (:class:`~koubei.pipeline.index.
    cascade_reads.CascadesUnread`; it raised out of the run, naming no index). From then on
    no cascade document is read or written, nor any post's ``cascade``; the accounts are.
    A brand's written before it went red are counted in ``written``."""
    from koubei.pipeline.index.answers import NO_PRIMARY

    log.error("cascade documents not read nor written, nor the posts' cascade field",
              index=index, reason=NO_PRIMARY)  # fmt: skip
    written = report.written["cascades"]
    what = (
        f"went red during the run: {written} cascade documents written before it, no other"
        if written
        else "no cascade document written"
    )
    report.errors.append(f"{index}: {what}, nor any post's cascade field: {NO_PRIMARY}")
    return True


def _write_cascades(
    es: Any,
    prefix: str,
    docs: list[dict[str, Any]],
    read: dict[str, tuple[int, int]],
    replace: dict[str, Any] | None,
    end: datetime,
    report: SpreadReport,
    refused: Refusals,
) -> list[str]:
    """Write a brand's cascade documents ``docs`` over the copies ``read`` and no others; the
    roots of those left as a run for a later day wrote them after that read.

    A write that meets a copy written since (a version conflict) reads it again (real-time):
    whose last post is at or after ``end`` (a later day's run's) is kept, any other is written
    over in turn (a run for the same or an earlier day wrote it: this run's copy is no older),
    up to :data:`WRITE_ROUNDS` writes; one still changing then is reported in ``errors``.
    Refused documents are added to ``refused`` (a :class:`~koubei.pipeline.index.derived.
    Refusals`, said once per index and reason by the caller).
    """
    from koubei.pipeline.index.cascade_reads import cascades_by_id
    from koubei.pipeline.index.derived import write_documents

    overtaken: list[str] = []
    pending = docs
    for _round in range(WRITE_ROUNDS):
        written = write_documents(es, prefix, "cascades", pending, replace=replace, read=read)
        report.written["cascades"] += written.written
        refused.update(written.refused)
        report.errors += written.unsearched
        if not written.conflicts:
            return overtaken
        replace = None  # the first write removed what these replace (not the conflicting ids)
        now = {c.id: c for c in cascades_by_id(es, prefix, written.conflicts)}
        later = {i for i, c in now.items() if _later(c.last_at, end)}
        by_id = {str(d["id"]): d for d in pending}
        overtaken += [by_id[i]["root_id"] for i in sorted(later)]
        log.info("cascade documents written since read", ids=sorted(written.conflicts),
                 kept=sorted(later))  # fmt: skip
        pending = [by_id[i] for i in written.conflicts if i not in later]
        read = {i: (c.seq_no, c.primary_term) for i, c in now.items()}
        if not pending:
            return overtaken
    report.errors += [
        f"cascade {d['id']}: written by another run on each of {WRITE_ROUNDS} tries, not indexed"
        for d in pending
    ]
    return overtaken


def _later(last_at: str | None, end: datetime) -> bool:
    """A stored cascade's last post (``last_at``) is at or after ``end``: a run for a later day
    than the one ending at ``end`` wrote it."""
    at = parse_time(last_at)
    return at is not None and at >= end


def _stored_roots(copies: Iterable[list[Any]]) -> set[str]:
    """The roots named by the stored ``cascade`` of posts (each a list of its copies' values)."""
    return {str(c["root_id"]) for values in copies for c in values if c and c.get("root_id")}


def _cascades_replaced(
    brand: str, roots: list[str], rebuilt: tuple[datetime, datetime] | None
) -> dict[str, Any] | None:
    """The brand's cascade documents a run's documents replace (``write_documents``): those of
    the roots written, and, when the window was read whole (``rebuilt``), every one whose last
    post is in it. A cascade ending there that the run did not write no longer exists: its
    posts there were read and its root's posts looked up (``day_documents``). Older ones stay.
    """
    should: list[dict[str, Any]] = [{"terms": {"root_id": roots}}] if roots else []
    if rebuilt is not None:
        start, end = rebuilt
        should.append({"range": {"last_at": {"gte": start.isoformat(), "lt": end.isoformat()}}})
    if not should:
        return None
    return {"bool": {"filter": [{"term": {"brand": brand}}], "should": should,
                     "minimum_should_match": 1}}  # fmt: skip


def _left_every_cascade(
    es: Any,
    prefix: str,
    carrying: dict[str, dict[str, Any]],
    placed: dict[str, dict[str, Any]],
    cut: set[str],
    end: datetime,
) -> list[str]:
    """Posts of the windows read that carry a ``cascade`` no brand's run gave them this time.

    Not one naming a brand whose window was cut (its run may have missed the cascade), nor a
    root whose cascade has posts from ``end`` on: a run for an earlier day sees only the start
    of it. A repost is after the post it came through, so its cascade is all before ``end``.
    """
    from koubei.pipeline.index.cascade_reads import roots_going_on

    left = {
        post: stored
        for post, stored in carrying.items()
        if post not in placed and not set(stored.get("brands") or ()) & cut
    }
    roots = [post for post, stored in left.items() if stored["cascade"].get("root_id") == post]
    going_on = roots_going_on(es, prefix, roots, end) if roots else set()
    return sorted(post for post in left if post not in going_on)


def _left_every_brand(
    es: Any, prefix: str, day: date, where: dict[str, set[str]] | None = None
) -> list[str]:
    """Posts of the days a run for ``day`` rebuilds stored with a ``cascade`` but under no
    brand (``brands`` empty: landed again after ``brands.yaml`` changed, or an edit naming no
    brand any more, ``BaseSpider.build``'s ``off_brands``).

    No brand's run reads them (each reads its brand's posts), so none places them or finds
    them carrying a cascade: they kept the field for good, listed by ``cascade.root_id`` of a
    brand's cascade that no longer counts them. Not held for a later day's run either, as a
    brand's post is (:func:`index_day`): no run of any day places a post of no brand.
    ``where`` gets the indices they were read from, for the update."""
    from koubei.pipeline.index.post_reads import scan_posts
    from koubei.pipeline.index.queries import post_filters

    start, end = window(day)
    query = {
        "bool": {
            "filter": [{"exists": {"field": "cascade"}}, *post_filters(start=start, end=end)],
            # an empty list is not indexed: `exists` does not match it, nor a missing field
            "must_not": [{"exists": {"field": "brands"}}],
        }
    }
    posts = scan_posts(es, prefix, query, max_docs=MAX_POSTS, where=where)
    return [str(post["id"]) for post in posts]
