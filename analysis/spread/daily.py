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

The posts of those cascades get their place in it too, as the field ``cascade`` of the stored
post (``root_id``, the chain-resolved ``parent_id``, ``depth``, ``via``;
:func:`~koubei.analysis.spread.evidence.post_cascades`): the platform's ``parent_id`` of a
Weibo repost is the root, so without it Kibana can neither filter a cascade's posts nor say
whom a repost came through. Rewritten on every run, so a post that moved under another parent
as more of its chain was crawled takes the new one; a run that finds the same values changes
nothing. A post in cascades of two brands takes its place in the bigger one (the one that saw
more of it; a tie goes to the brand listed first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from koubei.analysis.spread.accounts import accounts_for_period
from koubei.analysis.spread.cascade import build_cascades, parse_time
from koubei.analysis.spread.evidence import cascade_documents, post_cascades
from koubei.analysis.spread.measures import cascade_roots
from koubei.log import get_logger
from koubei.timeutil import DEFAULT_TZ

__all__ = ["CASCADE_DAYS", "SpreadReport", "day_documents", "index_day"]

log = get_logger(__name__)

#: Cascades are rebuilt from this many days of a brand's posts, up to the day's end.
CASCADE_DAYS = 7
#: Most posts of one brand read for one run; the newest are the ones a cut would lose.
MAX_POSTS = 100_000


@dataclass
class SpreadReport:
    """Documents written per kind (``accounts``, ``cascades``) and the refused ones.

    ``posts``: stored posts whose ``cascade`` field this run changed (set, or moved).
    """

    written: dict[str, int] = field(default_factory=lambda: {"accounts": 0, "cascades": 0})
    errors: list[str] = field(default_factory=list)
    posts: int = 0


def day_documents(
    es: Any,
    prefix: str,
    brand: str,
    day: date,
    *,
    max_posts: int = MAX_POSTS,
    where: dict[str, set[str]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``{"accounts": [...], "cascades": [...], "posts": [...]}`` of ``brand`` for ``day``
    (Asia/Shanghai).

    ``posts``: ``{"id", "size", "cascade"}`` of every post in those cascades (the size of its
    cascade, to choose between two brands' views); ``where`` gets the indices they were read
    from (see :func:`~koubei.pipeline.index.queries.scan_posts`).
    """
    from koubei.pipeline.index.queries import fetch_posts

    start = datetime(day.year, day.month, day.day, tzinfo=DEFAULT_TZ)
    end = start + timedelta(days=1)
    posts = fetch_posts(
        es, prefix, brand=brand, start=end - timedelta(days=CASCADE_DAYS), end=end,
        max_docs=max_posts, where=where,
    )  # fmt: skip
    if len(posts) >= max_posts:
        # Oldest first: the cut lost the newest posts, so the day's figures are incomplete.
        log.warning("spread documents built from the oldest posts only", brand=brand,
                    day=day.isoformat(), max_posts=max_posts)  # fmt: skip
    of_day = [r for r in posts if (t := parse_time(r.get("created_at"))) and start <= t < end]
    G = _whole_cascades(es, prefix, brand, posts, end, max_posts, where)
    return {
        "accounts": accounts_for_period(of_day, brand=brand, day=day.isoformat()),
        "cascades": cascade_documents(G, brand=brand),
        "posts": [{"id": p, "size": n, "cascade": c} for p, n, c in post_cascades(G)],
    }


def _whole_cascades(
    es: Any,
    prefix: str,
    brand: str,
    posts: list[dict[str, Any]],
    end: datetime,
    max_posts: int,
    where: dict[str, set[str]] | None = None,
) -> Any:
    """The cascades of ``posts``, each with its posts from before the window too.

    A cascade whose root is older than the window would otherwise be built from its recent
    reposts alone (the root a placeholder) and, under the same id, overwrite the whole
    cascade written on an earlier day with that fragment.
    """
    from koubei.pipeline.index.queries import post_filters, scan_posts

    G = build_cascades(posts)
    missing = [
        str(root)
        for root in cascade_roots(G)
        if G.out_degree(root) > 0 and G.nodes[root].get("placeholder")
    ]
    if not missing:
        return G
    query = {
        "bool": {
            "filter": post_filters(brand=brand, end=end),
            "should": [{"terms": {field: missing}} for field in ("id", "root_id")],
            "minimum_should_match": 1,
        }
    }
    # A post in both lists counts once (build_cascades keeps one copy per id).
    older = scan_posts(es, prefix, query, max_docs=max_posts, where=where)
    return build_cascades(posts + older)


def index_day(es: Any, prefix: str, brands: list[str], day: date) -> SpreadReport:
    """Build and index the spread documents of every brand in ``brands`` for ``day``.

    Idempotent: the same posts give the same documents under the same ids; a brand's accounts
    of the day that a re-run no longer ranks are removed (see ``write_documents``), and so is
    any other document of the brand for a root it writes: the copy an earlier release kept
    under the root's id alone (which the brand written last took over). Then the ``cascade``
    field of every post in those cascades (see the module's description).
    """
    from koubei.pipeline.index.derived import update_posts, write_documents
    from koubei.pipeline.index.templates import ensure_ready

    unreachable = ensure_ready(es, prefix)
    if unreachable is not None:
        raise unreachable
    report = SpreadReport()
    where: dict[str, set[str]] = {}
    placed: dict[str, dict[str, Any]] = {}  # post id -> its biggest cascade's {"size", "cascade"}
    for brand in brands:
        docs = day_documents(es, prefix, brand, day, where=where)
        for post in docs["posts"]:
            if post["size"] > placed.get(post["id"], {"size": 0})["size"]:
                placed[post["id"]] = post
        # The brand's all-platform ranking of the day (the documents accounts_for_period makes).
        one_day = {
            "bool": {
                "filter": [{"term": {"brand": brand}}, {"term": {"day": day.isoformat()}}],
                "must_not": [{"exists": {"field": "platform"}}],
            }
        }
        # Only the roots written: the other cascades of the brand (older days) stay.
        roots = [d["root_id"] for d in docs["cascades"]]
        same_roots = {
            "bool": {"filter": [{"term": {"brand": brand}}, {"terms": {"root_id": roots}}]}
        }
        for kind, replace in (("accounts", one_day), ("cascades", same_roots if roots else None)):
            written = write_documents(es, prefix, kind, docs[kind], replace=replace)
            report.written[kind] += written.written
            report.errors += written.errors
    updated = update_posts(es, {p: {"cascade": v["cascade"]} for p, v in placed.items()}, where)
    report.posts = updated.written
    report.errors += [f"cascade of post {error}" for error in updated.errors]
    return report
