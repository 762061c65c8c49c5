"""Building cascade graphs (who reposted, replied to or quoted whom) from document records.

The graph is a forest: nodes are posts (document ids), an edge ``parent -> child`` says the child
reposted, replied to or quoted the parent. Every node has at most one parent, so each weakly
connected component is a tree rooted at the node without a parent; the measures rely on that.

Where the platform gives only the root (Weibo's ``retweeted_status``), the intermediate hops
are rebuilt from the ``//@name:`` chain, here and nowhere else (the crawl lands the chain and
the platform's own parent, never a parent guessed from the chain): a hop resolves to the
latest post by an author of that name in the same cascade at or before the repost's time
(parent and child often share a second) whose own chain is the rest of the repost's chain,
else to that author's latest post, else to an untimed post of that author whose chain matches,
else to that author's earliest later post whose chain matches and whose words are the ones the
chain quotes (relative and date-only times, ``1小时前`` or ``11-20``, can put a repost before
its parent), or to a placeholder hop node if that repost was never crawled. Matching the chain
keeps an account that posted twice in a cascade from taking a repost under the wrong one of
its posts: in the same second that could be the repost's own descendant, a cycle that cut a
branch off the cascade.
A parent that was never crawled becomes a placeholder node, under the top comment of the reply's
thread (``extra.thread_root``) when the record names one, else under the root. The lookups that
resolve a hop, and the state of the build, are :mod:`koubei.analysis.spread.forest`; which
fields name a post's parent, root, thread and chain is :mod:`koubei.analysis.spread.links`, the
one rule the backtest's replay of ``cascade_growth`` reads too.

The result does not depend on the order of the records: every record is known before any edge is
drawn (so a parent listed after its child is never mistaken for an uncrawled one), duplicates of
an id keep one canonical copy, and edges are linked in (time, id) order. What is refused is
counted by reason in ``G.graph["dropped"]`` (and per cascade in ``G.graph["dropped_by_root"]``)
and logged: ``no_id`` records (no ``id`` to make a node of), ``duplicate`` copies,
``self_loop`` parents, ``into_root`` edges (a cascade's root made the child of its own
descendant; the node is marked ``cycle_broken``), ``cycle`` for other parent cycles (the
node whose edge closed the loop goes under its cascade's root instead), and
``second_parent`` (a node already given another parent).

Mentions are account-level interactions, not post hops; they are in the interaction graph of
:mod:`koubei.analysis.spread.accounts` and kept here only as the node attribute ``mentions``.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import networkx as nx

from koubei.analysis.spread.chains import (
    is_deleted_notice,
    parse_chain,
    record_chain,
    record_text,
)
from koubei.analysis.spread.forest import UNTIMED, Forest
from koubei.analysis.spread.links import cascade_key, chain_hops, post_links, stated_parent
from koubei.crawlers.textutil import parse_count
from koubei.crawlers.timeparse import TimeParseError, parse_iso
from koubei.timeutil import DEFAULT_TZ

__all__ = [
    "DROP_REASONS",
    "build_cascades",
    "canonical_records",
    "hop_placeholder_id",
    "parse_time",
    "time_of_day",
]

log = logging.getLogger(__name__)

DROP_REASONS = ("no_id", "duplicate", "self_loop", "into_root", "cycle", "second_parent")


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from a record's ``created_at`` (ISO string or datetime), else None.

    Reads with the project's one time parser (:func:`koubei.crawlers.timeparse.parse_iso`); a
    value it cannot read counts as unknown rather than stopping the analysis, and so does one
    that is no date in Asia/Shanghai, where the measures and pictures show times
    (``9999-12-31T23:00:00Z`` is year 10000 there: an OverflowError traceback out of
    ``koubei spread --file``).

    Examples
    --------
    >>> parse_time("2026-11-25T10:00:00+08:00").hour
    10
    >>> parse_time(None) is None, parse_time("9999-12-31T23:00:00Z") is None
    (True, True)
    """
    if value is None or value == "":
        return None
    try:
        parsed = parse_iso(value)
        parsed.astimezone(DEFAULT_TZ)
    except (TimeParseError, OverflowError):
        return None
    return parsed


def time_of_day(record: dict[str, Any]) -> datetime | None:
    """A record's instant for ordering and timing: :func:`parse_time` of ``created_at``, None
    when it is unknown or only a date (``time_precision: "day"``: ``11-20``, ``3天前``).

    A date is kept as the post's date (``created_at``) but is no time of day: its midnight
    made it the source and first post of cascades that began hours later, placed it before
    its parent, and made posts of one day a burst of one second.

    Examples
    --------
    >>> time_of_day({"created_at": "2026-11-20T10:12:00+08:00"}).minute
    12
    >>> time_of_day({"created_at": "2026-11-20T00:00:00+08:00", "time_precision": "day"})
    """
    if record.get("time_precision") == "day":
        return None
    return parse_time(record.get("created_at"))


def hop_placeholder_id(root: str, name: str) -> str:
    """Id of the placeholder for an uncrawled repost by ``name`` in the cascade of ``root``."""
    return f"~hop:{root}:{name}"


def _node_attrs(record: dict[str, Any], created: datetime | None, ts: float) -> dict[str, Any]:
    author = record.get("author") or {}
    sentiment = record.get("sentiment") or {}
    followers = author.get("followers")
    if type(followers) is not int:  # "1.2万" as the page shows it, a float, junk: 0 if unknown
        followers = parse_count(followers) or 0
    name = author.get("name")
    text = record_text(record)
    return {
        "placeholder": False,
        "deleted": is_deleted_notice(text),
        # As text: a file may hold an all-digit name as a number, and chains name it as text.
        "author": None if name is None else str(name),
        "author_id": author.get("id"),
        "followers": max(followers, 0),
        "verified": bool(author.get("verified")),
        "created_at": created,
        "ts": ts if created and ts != UNTIMED else None,
        "sentiment": sentiment.get("label"),
        "text": text,
        "platform": record.get("platform"),
        "kind": record.get("kind"),
        "url": record.get("url"),
        "dup_cluster": record.get("dup_cluster"),
        "mentions": record.get("mentions") or [],
    }


@contextmanager
def _gc_paused() -> Iterator[None]:
    # Building makes millions of small acyclic containers while the records are alive; the
    # cyclic collector would re-scan that growing heap over and over (it nearly doubled build
    # time at 500k posts). Reference counting still frees everything.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_cascades(records: Iterable[dict[str, Any]]) -> nx.DiGraph:
    """Build the cascade forest of ``records`` (Document JSON dicts).

    Parameters
    ----------
    records : iterable of dict
        ``koubei.model.Document`` records, in any order; only ``id`` is required. Of several
        copies of one ``id`` one is kept by content (see ``_better_copy``), never by order.

    Returns
    -------
    networkx.DiGraph
        Edges ``parent -> child`` with attributes ``relation`` (repost/reply/quote),
        ``inferred`` (True when rebuilt from a ``//@`` chain) and ``created_at`` (the child's
        time). Nodes carry ``author``, ``author_id``, ``followers`` (an int: ``"1.2万"`` as
        pages write it is 12000, unknown or junk is 0), ``verified``,
        ``created_at`` (aware datetime or None), ``ts`` (epoch seconds, None when unknown or
        only a date, ``time_precision: "day"``; such a post sorts as untimed), ``sentiment``
        (label or None), ``text``, ``platform``, ``kind``, ``url``, ``dup_cluster``,
        ``mentions``, ``deleted`` (the text is the notice a deleted or hidden post leaves,
        ``抱歉，此微博已被作者删除``) and ``placeholder`` (True for posts that were referenced
        but not crawled;
        an uncrawled ``//@`` hop has its name and, when that name's crawled posts in the
        cascade are all one account's, that ``author_id``).
        ``G.graph["dropped"]`` counts refused records and edges by reason (every reason of
        ``DROP_REASONS``, zeros included); ``G.graph["dropped_by_root"]`` splits them by the
        cascade (root id) the record named.

    Examples
    --------
    >>> recs = [
    ...     {"id": "w:3", "author": {"name": "C"}, "parent_id": "w:1", "root_id": "w:1",
    ...      "relation": "repost", "created_at": "2026-01-01T10:05:00+08:00",
    ...      "text_raw": "天哪//@B: 转发//@A: 鲜牧的奶变质了"},
    ...     {"id": "w:2", "author": {"name": "B"}, "parent_id": "w:1", "root_id": "w:1",
    ...      "relation": "repost", "created_at": "2026-01-01T10:05:00+08:00",
    ...      "text_raw": "转发//@A: 鲜牧的奶变质了"},
    ...     {"id": "w:1", "author": {"name": "A"}, "created_at": "2026-01-01T10:00:00+08:00",
    ...      "text_raw": "鲜牧的奶变质了"},
    ... ]
    >>> G = build_cascades(recs)
    >>> sorted(G.edges())
    [('w:1', 'w:2'), ('w:2', 'w:3')]
    >>> G.edges["w:2", "w:3"]["inferred"], G.graph["dropped"]["duplicate"]
    (True, 0)
    """
    with _gc_paused():
        return _build(records)


def _better_copy(new: dict[str, Any], kept: dict[str, Any]) -> bool:
    """Whether ``new`` should replace ``kept`` among copies of one id, independent of order.

    A copy whose platform named its immediate parent beats one naming only the root (a parent
    an older landing step guessed from the chain counts as the root); then the newest
    crawl; then the earliest ``created_at`` (a re-crawl resolving a relative time later can
    only drift late); the final key only makes the choice total.
    """
    a, b = _copy_rank(new), _copy_rank(kept)
    if a != b:
        return a > b
    # Instants, not strings: "10:30+08:00" is earlier than "03:00Z" though it sorts first.
    ca, cb = _created_key(new), _created_key(kept)
    if ca != cb:
        return ca < cb
    return repr(sorted(new.items())) > repr(sorted(kept.items()))


def _copy_rank(record: dict[str, Any]) -> tuple[bool, float, str, str]:
    parent = stated_parent(record)
    specific = bool(parent) and parent != record.get("root_id")
    crawled = parse_time(record.get("crawled_at"))  # newest crawl wins; unknown is oldest
    stamp = crawled.timestamp() if crawled is not None else float("-inf")
    return (specific, stamp, str(record.get("crawled_at") or ""), str(parent or ""))


def _created_key(record: dict[str, Any]) -> tuple[float, str]:
    created = parse_time(record.get("created_at"))  # earliest wins; unknown after every time
    stamp = created.timestamp() if created is not None else float("inf")
    return (stamp, str(record.get("created_at") or ""))


def canonical_records(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One copy of each post, the copy :func:`build_cascades` keeps, in (time, id) order.

    What the other readers of an incident's records (themes, coordination, the timeline) take,
    so a re-crawled duplicate counts once and the input order cannot change their answer.
    Records without an ``id`` are left out, as ``build_cascades`` leaves them out.

    Examples
    --------
    >>> recs = [{"id": "b", "created_at": "2026-01-01T10:00:00+08:00"},
    ...         {"id": "a", "created_at": "2026-01-01T10:00:00+08:00"},
    ...         {"id": "b", "created_at": "2026-01-01T10:00:00+08:00", "crawled_at": "2026-01-02"},
    ...         {"text_raw": "no id"}]
    >>> [(r["id"], r.get("crawled_at")) for r in canonical_records(recs)]
    [('a', None), ('b', '2026-01-02')]
    """
    unique, _copies, _no_id = _unique(records)
    return [unique[node] for _key, node, _created in _timed(unique)]


def _unique(
    records: Iterable[dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], Counter[str], Counter[str]]:
    """The kept copy per id, extra copies per id, and id-less records per cascade key."""
    unique: dict[str, dict[str, Any]] = {}
    copies: Counter[str] = Counter()
    no_id: Counter[str] = Counter()
    for record in records:
        node = record.get("id")
        if node is None or node == "":
            no_id[cascade_key(record, "")] += 1
            continue
        node = str(node)
        kept = unique.get(node)
        if kept is None:
            unique[node] = record
            continue
        copies[node] += 1
        if _better_copy(record, kept):
            unique[node] = record
    return unique, copies, no_id


def _timed(unique: dict[str, dict[str, Any]]) -> list[tuple[float, str, datetime | None]]:
    """``(epoch seconds or inf, id, time)`` of every post, in (time, id) order."""
    timed: list[tuple[float, str, datetime | None]] = []
    for node, record in unique.items():
        created = parse_time(record.get("created_at"))  # kept on the node as its date
        instant = time_of_day(record)
        timed.append((instant.timestamp() if instant else UNTIMED, node, created))
    timed.sort(key=lambda row: (row[0], row[1]))
    return timed


def _build(records: Iterable[dict[str, Any]]) -> nx.DiGraph:
    forest = Forest()
    unique, copies, no_id = _unique(records)
    for node, extra in copies.items():  # counted under the kept copy's cascade
        forest.dropped.setdefault(cascade_key(unique[node], node), Counter())["duplicate"] += extra
    for cascade, count in no_id.items():
        forest.dropped.setdefault(cascade, Counter())["no_id"] += count
    timed = _timed(unique)

    # Every crawled record is a node before any edge is drawn.
    for key, node, created in timed:
        record = unique[node]
        forest.attrs[node] = _node_attrs(record, created, key)
        if record.get("root_id"):
            forest.roots.add(str(record["root_id"]))
            forest.root_of[node] = str(record["root_id"])
        author = forest.attrs[node]["author"]
        forest.index_post(cascade_key(record, node), node, author, key, record_chain(record))
    for key, node, created in timed:
        _attach(forest, node, unique[node], created, key)
    forest.link_all()
    forest.name_hop_accounts()

    G = nx.DiGraph()
    G.add_nodes_from(forest.attrs.items())
    G.add_edges_from((parent, child, forest.edge[child]) for child, parent in forest.parent.items())
    by_root = {root: _all_reasons(counts) for root, counts in forest.dropped.items()}
    total: Counter[str] = Counter()
    for counts in forest.dropped.values():
        total.update(counts)
    G.graph["dropped"] = _all_reasons(total)
    G.graph["dropped_by_root"] = by_root
    if total:
        log.info(
            "cascade build dropped %s",
            " ".join(f"{reason}={total[reason]}" for reason in DROP_REASONS),
        )
    return G


def _all_reasons(counts: Counter[str]) -> dict[str, int]:
    return {reason: counts.get(reason, 0) for reason in DROP_REASONS}


def _attach(
    forest: Forest, node: str, record: dict[str, Any], created: datetime | None, key: float
) -> None:
    # What the record names (parent, root, thread, chain) is read in links.py, the one rule
    # the backtest's replay of cascade_growth also reads (links.can_join, cascade_members).
    links = post_links(record, node)
    cascade = root = links.root
    declared = stated_parent(record)
    if declared is not None and str(declared) == node:
        forest.drop(cascade, "self_loop")
    parent, relation = links.parent, links.relation
    at = created.isoformat() if created else None
    hops = chain_hops(record, links)
    if hops:
        _attach_chain(forest, node, root, hops, relation, at, (key, node))
        return
    if parent is None:
        return
    if node in forest.roots and forest.root_of.get(parent) == node and _first(forest, node, parent):
        # A cascade's root naming one of its own reposts as parent: the root keeps its place.
        # Two posts naming each other as root (edits, deletions) keep the later one's edge.
        forest.attrs[node]["cycle_broken"] = True
        forest.drop(node, "into_root")
        return
    if parent not in forest.attrs:
        # An uncrawled parent hangs from the top comment of the thread the reply is in
        # (``extra.thread_root``, known though the answered reply is not), else from the root:
        # under the post, a reply's reply read as a second comment on it, one level too high.
        forest.ensure_placeholder(parent)
        above = links.thread_root or root
        if above != parent:
            forest.ensure_placeholder(above)
            forest.propose(above, parent, "reply", False, None, cascade)
        if above not in (root, parent) and forest.attrs[above]["placeholder"]:
            forest.ensure_placeholder(root)
            forest.propose(root, above, "reply", False, None, cascade)
    forest.propose(parent, node, relation, False, at, cascade)


def _first(forest: Forest, node: str, parent: str) -> bool:
    """Whether ``node`` stays a root against ``parent``, which names ``node`` as its root: yes,
    unless ``node`` itself names ``parent`` as root and comes after it in (time, id) order."""
    if forest.root_of.get(node) != parent:
        return True
    mine, theirs = forest.attrs[node]["ts"], forest.attrs[parent]["ts"]
    return (UNTIMED if mine is None else mine, node) < (
        UNTIMED if theirs is None else theirs,
        parent,
    )


def _hop_words(text: str | None, hops: list[str]) -> list[str]:
    """What the chain of ``text`` quotes of each of ``hops``, or empty strings where unknown."""
    parsed = parse_chain(text).hops
    if [hop.name for hop in parsed] != hops:
        return [""] * len(hops)
    return ["".join(hop.text.split()) for hop in parsed]


def _attach_chain(
    forest: Forest,
    node: str,
    root: str,
    hops: list[str],
    relation: str,
    at: str | None,
    key: tuple[float, str],
) -> None:
    """Propose ``node``'s parent from its chain hops (nearest first), inventing uncrawled hops.

    The nearest hop that resolves to a crawled post (or the root) is the parent: that post's
    own record says where it came from, so the walk stops there. Only runs of never-crawled
    hops are chained up one by one toward the root.
    """
    forest.ensure_placeholder(root)
    own_author = forest.attrs[node]["author"]
    tails = forest.chain_tails(hops)
    quoted: list[str] = []  # what the chain quotes of each hop, parsed when first asked

    def quote(index: int) -> Callable[[], str]:
        def words() -> str:
            if not quoted:
                quoted.extend(_hop_words(forest.attrs[node]["text"], hops))
            return quoted[index]

        return words

    chain: list[str] = []
    anchored = False
    for index, name in enumerate(hops):
        hop = forest.latest_by(root, name, key, node, tails[index + 1], quote(index))
        if hop is None:
            hop = forest.latest_by(root, name, key, node)
        if hop is None:
            # That account's post has no time (a timed repost cannot be placed after it), but
            # its chain says it is the hop: better than inventing an uncrawled one.
            hop = forest.untimed_by(root, name, node, tails[index + 1])
        if hop is None:
            # Its time is after the repost's (a relative or date-only time read at another
            # crawl), but its chain and the words the repost quotes say it is the hop.
            hop = forest.later_by(root, name, key, node, tails[index + 1], quote(index))
        if hop is None:
            if name == own_author:
                continue  # "//@me:" with no earlier post of mine: a self-repost, not a hop
            if forest.attrs[root].get("author") == name:
                hop = root
            else:
                hop = hop_placeholder_id(root, name)
                forest.ensure_placeholder(hop, author=name)
                forest.hops[hop] = (root, name)
        chain.append(hop)
        if hop == root or not forest.attrs[hop]["placeholder"] or hop in forest.proposed:
            anchored = True
            break
    upstream = chain.pop() if anchored else root
    for hop in reversed(chain):
        if hop != upstream:
            forest.propose(upstream, hop, relation, True, None, root)
            upstream = hop
    forest.propose(upstream, node, relation, upstream != root, at, root)
