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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from koubei.analysis.spread.accounts import accounts_for_period
from koubei.analysis.spread.cascade import build_cascades, parse_time
from koubei.analysis.spread.evidence import cascade_documents
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
    """Documents written per kind (``accounts``, ``cascades``) and the refused ones."""

    written: dict[str, int] = field(default_factory=lambda: {"accounts": 0, "cascades": 0})
    errors: list[str] = field(default_factory=list)


def day_documents(
    es: Any, prefix: str, brand: str, day: date, *, max_posts: int = MAX_POSTS
) -> dict[str, list[dict[str, Any]]]:
    """``{"accounts": [...], "cascades": [...]}`` of ``brand`` for ``day`` (Asia/Shanghai)."""
    from koubei.pipeline.index.queries import fetch_posts

    start = datetime(day.year, day.month, day.day, tzinfo=DEFAULT_TZ)
    end = start + timedelta(days=1)
    posts = fetch_posts(
        es, prefix, brand=brand, start=end - timedelta(days=CASCADE_DAYS), end=end,
        max_docs=max_posts,
    )  # fmt: skip
    if len(posts) >= max_posts:
        # Oldest first: the cut lost the newest posts, so the day's figures are incomplete.
        log.warning("spread documents built from the oldest posts only", brand=brand,
                    day=day.isoformat(), max_posts=max_posts)  # fmt: skip
    of_day = [r for r in posts if (t := parse_time(r.get("created_at"))) and start <= t < end]
    return {
        "accounts": accounts_for_period(of_day, brand=brand, day=day.isoformat()),
        "cascades": cascade_documents(
            _whole_cascades(es, prefix, brand, posts, end, max_posts), brand=brand
        ),
    }


def _whole_cascades(
    es: Any, prefix: str, brand: str, posts: list[dict[str, Any]], end: datetime, max_posts: int
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
    return build_cascades(posts + scan_posts(es, prefix, query, max_docs=max_posts))


def index_day(es: Any, prefix: str, brands: list[str], day: date) -> SpreadReport:
    """Build and index the spread documents of every brand in ``brands`` for ``day``.

    Idempotent: the same posts give the same documents under the same ids; a brand's accounts
    of the day that a re-run no longer ranks are removed (see ``write_documents``), and so is
    any other document of the brand for a root it writes: the copy an earlier release kept
    under the root's id alone (which the brand written last took over).
    """
    from koubei.pipeline.index.derived import write_documents
    from koubei.pipeline.index.templates import ensure_ready

    unreachable = ensure_ready(es, prefix)
    if unreachable is not None:
        raise unreachable
    report = SpreadReport()
    for brand in brands:
        docs = day_documents(es, prefix, brand, day)
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
    return report
