"""Everything an alert or report carries about how an incident spread, JSON-ready.

:func:`incident_evidence` is the one call the alert stage and ``koubei spread`` make: it builds
the cascades of an incident's records and answers the on-call questions — where it started,
how big and how fast, which way it travelled, who carried it, whether it looks paid, what
people complain about — and optionally draws the pictures.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import networkx as nx

from koubei.analysis.spread.accounts import key_accounts
from koubei.analysis.spread.cascade import build_cascades, canonical_records
from koubei.analysis.spread.coordination import coordination, organic
from koubei.analysis.spread.measures import cascade_roots, cascade_summary, main_paths
from koubei.analysis.spread.source import rank_rumor
from koubei.analysis.spread.themes import themes
from koubei.analysis.spread.virality import bfs_order, tree_index

__all__ = ["cascade_documents", "incident_evidence", "path_names", "post_cascades", "source_of"]

UNCRAWLED = "(未抓取)"


def source_of(G: nx.DiGraph, root: Hashable) -> dict[str, Any]:
    """The post that started the cascade below ``root``.

    The root itself when it was crawled; otherwise (never crawled, or crawled as the notice a
    deleted post leaves) an estimate
    among the cascade's crawled posts, flagged with ``root_missing`` and ``estimated_by``.
    Only a crawled post with no crawled post above it can be first (a repost comes after what
    it reposts, whatever the clocks say), so the estimate is one of those: the one whose branch
    holds the earliest time (``"earliest"``; ties: nearer the root, then id), or, when no
    crawled post has a time, the first of them by rumor centrality of the crawled posts
    (``"rumor"``, :func:`koubei.analysis.spread.source.rank_rumor`).

    Examples
    --------
    >>> G = nx.DiGraph([("r", "a"), ("a", "b")])
    >>> nx.set_node_attributes(G, {"r": True, "a": False, "b": False}, "placeholder")
    >>> nx.set_node_attributes(G, {"a": 5.0, "b": 9.0}, "ts")
    >>> source_of(G, "r")["id"]
    'a'
    """
    attrs = G.nodes[root]
    node: Hashable = root
    extra: dict[str, Any] = {"root_missing": False, "estimated_by": None}
    if attrs.get("placeholder") or attrs.get("deleted"):
        # A root crawled as the deletion notice (the platform's ``retweeted_status`` of a
        # deleted post) says nothing of who started it: estimated as if never crawled.
        estimate = _first_crawled(G, root)
        if estimate is not None:
            node, method = estimate
            extra = {"root_missing": True, "estimated_by": method}
    data = G.nodes[node]
    created = data.get("created_at")
    return {
        "id": node,
        "author": data.get("author"),
        "author_id": data.get("author_id"),
        "followers": data.get("followers"),
        "text": (data.get("text") or "")[:500],
        "url": data.get("url"),
        "platform": data.get("platform"),
        "time": created.isoformat() if isinstance(created, datetime) else None,
        **extra,
    }


def _first_crawled(G: nx.DiGraph, root: Hashable) -> tuple[Hashable, str] | None:
    """The source estimate of :func:`source_of` below an uncrawled ``root`` and its method."""
    index = tree_index(G, root)
    order, parent, depth = index.order, index.parent, index.depth
    nodes = G._node
    crawled = [not (nodes[n].get("placeholder") or nodes[n].get("deleted")) for n in order]
    # The earliest time in each branch, children folded into their parents.
    first: list[float | None] = [
        nodes[n].get("ts") if crawled[i] else None for i, n in enumerate(order)
    ]
    for i in range(len(order) - 1, 0, -1):
        up, t, above = parent[i], first[i], first[parent[i]]
        if t is not None and (above is None or t < above):
            first[up] = t
    covered = [False] * len(order)  # a crawled post above it
    for i in range(1, len(order)):
        covered[i] = covered[parent[i]] or crawled[parent[i]]
    tops = [i for i in range(len(order)) if crawled[i] and not covered[i]]
    if not tops:
        return None
    timed = [i for i in tops if first[i] is not None]
    if timed:
        best = min(timed, key=lambda i: (first[i], depth[i], str(order[i])))
        return order[best], "earliest"
    candidates = {order[i] for i in tops}
    pool = [n for i, n in enumerate(order) if crawled[i]]
    for node in rank_rumor(G, pool):
        if node in candidates:
            return node, "rumor"
    best = min(tops, key=lambda i: (-index.size[i], str(order[i])))
    return order[best], "rumor"


# What incident_evidence does, in order, for its ``on_stage`` (pictures only when asked).
STAGES = ("cascades", "themes", "key accounts", "pictures")


def _no_stage(name: str) -> None:
    pass


def path_names(G: nx.DiGraph, path: list[Hashable]) -> list[str]:
    """Author names along a path of post ids (``(未抓取)`` for unknown authors)."""
    return [G.nodes[n].get("author") or UNCRAWLED for n in path]


def incident_evidence(
    records: list[dict[str, Any]],
    *,
    picture_dir: Path | None = None,
    top: int = 5,
    now: datetime | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Spread evidence of an incident's records (Document dicts), JSON-ready.

    Parameters
    ----------
    records : list of dict
        The incident's posts, reposts and comments, in any order; duplicate copies of a post
        count once (the copy :func:`~koubei.analysis.spread.cascade.build_cascades` keeps).
    picture_dir : Path, optional
        Where to write ``cascade-<root>.png`` and ``timeline.png``; no pictures when None.
    top : int
        How many key accounts and themes to return.
    now : datetime, optional
        The moment growth is judged at (default: the last post), so an alert can tell a
        cascade that went quiet from one still accelerating.
    on_stage : callable, optional
        Called with each stage's name (:data:`STAGES`) as it begins: 100k posts take about
        20 s, most of it in the cascades and key accounts, and a person waiting sees which.

    Returns
    -------
    dict
        ``source``, ``summary``, ``spread_path`` (main paths as author-name lists),
        ``spread_path_ids``, ``key_accounts``, ``coordination``, ``themes``, ``pictures``
        and ``cascades`` (how many cascades of two or more posts the incident has).

    Examples
    --------
    >>> incident_evidence([])["summary"]["size"]
    0
    """
    stage = on_stage or _no_stage
    stage("cascades")
    G = build_cascades(records)
    roots = cascade_roots(G)
    stage("themes")
    # One copy per post in a fixed order: themes and coordination depend on their input order.
    posts = canonical_records(records)
    coordinated = coordination(posts)
    evidence: dict[str, Any] = {
        "posts": len(posts),
        "cascades": sum(1 for r in roots if G.out_degree(r) > 0),
        "coordination": _coordination_summary(coordinated),
        "themes": themes(organic(posts, coordinated), max_themes=top),
        "pictures": {},
    }
    if not roots:
        evidence.update(
            source=None,
            summary={"size": 0},
            spread_path=[],
            spread_path_ids=[],
            key_accounts=[],
        )
        return evidence
    main = roots[0]
    stage("key accounts")
    paths = main_paths(G, main, k=3)
    evidence.update(
        source=source_of(G, main),
        summary=cascade_summary(G, main, now=now.timestamp() if now else None),
        spread_path=[path_names(G, p) for p in paths],
        spread_path_ids=paths,
        key_accounts=key_accounts(G, top=top),
    )
    if picture_dir is not None:
        from koubei.analysis.spread.pictures import cascade_png, timeline_png

        stage("pictures")
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(main))
        evidence["pictures"] = {
            "cascade": str(cascade_png(G, main, picture_dir / f"cascade-{safe}.png")),
            "timeline": str(timeline_png(posts, picture_dir / "timeline.png")),
        }
    return evidence


def _coordination_summary(report: dict[str, Any]) -> dict[str, Any]:
    # Alerts carry the verdict and the groups; the full id list stays for analysts' filters.
    return {
        "verdict": report["verdict"],
        "coordinated_share": report["coordinated_share"],
        "groups": report["groups"][:5],
        "coordinated_ids": report["coordinated_ids"],
    }


def cascade_documents(
    G: nx.DiGraph, *, brand: str | None = None, min_size: int = 2, top_accounts: int = 5
) -> list[dict[str, Any]]:
    """Documents for the ``<prefix>-cascades`` index: one per cascade of ``min_size``+ posts.

    Fields follow ``config/es/cascades.json``. ``id`` is ``<brand>:<root id>`` (the root's id
    alone without a brand), so re-runs overwrite, and a cascade that names two brands is a
    document in each brand's view: each built from that brand's posts, neither overwriting the
    other. ``root_id`` is the root's id either way.

    Examples
    --------
    >>> G = nx.DiGraph([("r", "a"), ("a", "b"), ("x", "y")])
    >>> nx.set_node_attributes(G, {"r": "A", "a": "B", "b": "C"}, "author")
    >>> [(d["root_id"], d["size"], d["depth"]) for d in cascade_documents(G, min_size=3)]
    [('r', 3, 2)]
    >>> [d["id"] for d in cascade_documents(G, brand="鲜牧")]
    ['鲜牧:r', '鲜牧:x']
    """
    from koubei.analysis.spread.accounts import account_key

    docs = []
    for root in cascade_roots(G):
        summary = cascade_summary(G, root)
        if summary["size"] < min_size:
            break
        tree = G.subgraph(bfs_order(G, root))
        ranked = key_accounts(tree, top=top_accounts) if top_accounts else []
        attrs = G.nodes[root]
        docs.append(
            {
                "id": f"{brand}:{root}" if brand else str(root),
                "@timestamp": summary["first_post"],
                "root_id": str(root),
                "brand": brand,
                "platform": (summary["platforms"] or [None])[0],
                "platforms": summary["platforms"],
                "root_author_id": account_key(attrs),
                "started_at": summary["first_post"],
                "last_at": summary["last_post"],
                "size": summary["size"],
                "depth": summary["depth"],
                "breadth": summary["max_breadth"],
                "structural_virality": summary["structural_virality"],
                "negative_share": summary["negative_share"],
                "top_accounts": [row["account"] for row in ranked],
                "growth": summary["growth"],
            }
        )
    return docs


def post_cascades(G: nx.DiGraph, *, min_size: int = 2) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """``(post id, cascade size, cascade object)`` of every crawled post in a cascade of
    ``min_size``+ posts (the cascades :func:`cascade_documents` writes), biggest cascade first.

    The object is the posts template's ``cascade`` field: ``root_id`` (the cascade's root,
    as its ``<prefix>-cascades`` documents name it), ``parent_id`` (the post it came through,
    its ``//@`` chain resolved; a placeholder id for a hop never crawled, None for the root),
    ``depth`` and ``via`` (the parent's author name; an uncrawled hop's name is known too).
    Placeholders are not stored posts and get none.

    Examples
    --------
    >>> G = nx.DiGraph([("r", "a"), ("a", "b")])
    >>> nx.set_node_attributes(G, {"r": "A", "a": "B", "b": "C"}, "author")
    >>> [(p, c["parent_id"], c["depth"], c["via"]) for p, _size, c in post_cascades(G)]
    [('r', None, 0, None), ('a', 'r', 1, 'A'), ('b', 'a', 2, 'B')]
    """
    for root in cascade_roots(G):
        index = tree_index(G, root)
        if len(index.order) < min_size:
            break
        for i, node in enumerate(index.order):
            if G.nodes[node].get("placeholder"):
                continue
            up = index.order[index.parent[i]] if index.parent[i] >= 0 else None
            cascade = {
                "root_id": str(root),
                "parent_id": None if up is None else str(up),
                "depth": index.depth[i],
                "via": None if up is None else G.nodes[up].get("author"),
            }
            yield str(node), len(index.order), cascade
