"""Which posts a record names above it in a cascade: the one rule cascades are linked by.

:func:`koubei.analysis.spread.cascade.build_cascades` puts a post under another through these
fields and no others (:func:`post_links` reads them for it):

* ``parent_id`` as the platform stated it (:func:`stated_parent`: the root when the record says
  its platform named no parent, ``extra.parent_from_platform: false``), else ``root_id``: the
  post's parent, never the post itself;
* for a repost (``relation`` or ``kind`` ``"repost"``) that names no parent but its root, the
  ``//@name:`` chain (:func:`chain_hops`: ``extra.repost_chain``, else the text): a hop is the
  root, a post of the same cascade (one that names that root, so it can join it too) or a
  placeholder for an uncrawled one;
* ``extra.thread_root``: the top comment an uncrawled parent hangs from.

So the posts a cascade of more than one post can hold are those that :func:`can_join` one and
the ids they name (:func:`named_ids`), :func:`cascade_members`; every other post is a cascade
of its own, with no repost in it. ``koubei spikes backtest --brand`` builds its weekly replay of
``cascade_growth`` from those alone (:mod:`koubei.flows.commands._spikes_cascade`): a new link
field goes here, or the replay and the live cycle part ways.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from koubei.analysis.spread.chains import record_chain

__all__ = [
    "Links",
    "can_join",
    "cascade_key",
    "cascade_members",
    "chain_hops",
    "named_ids",
    "post_links",
    "stated_parent",
]


class Links(NamedTuple):
    """What a record with id ``node`` names: its ``parent`` (None if it names none but
    itself), the ``root`` of its cascade (itself when it names none), the top comment of its
    thread (``thread_root``, None unless it is another post), the ``relation`` of its edge, and
    whether it is a ``repost``."""

    parent: str | None
    root: str
    thread_root: str | None
    relation: str
    repost: bool


def stated_parent(record: dict[str, Any]) -> Any:
    """``parent_id`` as the platform stated it: the root for a repost whose record says its
    platform named no parent (``extra.parent_from_platform: false``).

    Such a ``parent_id`` other than the root was a guess from the ``//@`` chain by an older
    landing step, written into landing files and documents indexed before the cascade build
    became the one place a chain is resolved: the chain it came from is still in the record,
    and trusting the guess put a repost under the wrong one of two posts by the same account.

    Examples
    --------
    >>> guessed = {"parent_id": "w:b1", "root_id": "w:1", "extra": {"parent_from_platform": False}}
    >>> stated_parent(guessed), stated_parent({**guessed, "extra": {}})
    ('w:1', 'w:b1')
    """
    parent = record.get("parent_id")
    extra = record.get("extra")
    if parent and isinstance(extra, dict) and extra.get("parent_from_platform") is False:
        return record.get("root_id") or parent
    return parent


def cascade_key(record: dict[str, Any], node: str) -> str:
    """The root of the cascade the record with id ``node`` names (``root_id``, else
    ``parent_id``), else ``node``: where its chain hops are looked up and its drops counted.

    Examples
    --------
    >>> cascade_key({"parent_id": "w:2"}, "w:3"), cascade_key({}, "w:3")
    ('w:2', 'w:3')
    """
    return str(record.get("root_id") or record.get("parent_id") or node)


def post_links(record: dict[str, Any], node: str) -> Links:
    """The :class:`Links` of the record with id ``node``.

    Examples
    --------
    >>> post_links({"parent_id": "w:2", "root_id": "w:1", "relation": "reply"}, "w:3")
    Links(parent='w:2', root='w:1', thread_root=None, relation='reply', repost=False)
    >>> post_links({"root_id": "w:3", "kind": "repost"}, "w:3")
    Links(parent=None, root='w:3', thread_root=None, relation='repost', repost=True)
    """
    parent: str | None = None
    for value in (stated_parent(record), record.get("root_id")):
        if value and str(value) != node:
            parent = str(value)
            break
    kind = record.get("kind")
    relation = record.get("relation") or ("repost" if kind == "repost" else "reply")
    extra = record.get("extra")
    top = extra.get("thread_root") if isinstance(extra, dict) else None
    thread_root = top if isinstance(top, str) and top and top not in (node, parent) else None
    return Links(
        parent=parent,
        # root_id, else the parent (a parent_id other than the post), else the post: the
        # same as cascade_key's root_id, else parent_id, else the post
        root=cascade_key(record, node),
        thread_root=thread_root,
        relation=relation,
        repost=relation == "repost" or kind == "repost",
    )


def chain_hops(record: dict[str, Any], links: Links) -> list[str]:
    """The ``//@`` hops (nearest first) the build places ``record`` by: those of a repost that
    names no parent but its root (the platform's ``retweeted_status``), else none.

    Examples
    --------
    >>> rec = {"parent_id": "w:1", "root_id": "w:1", "relation": "repost", "text_raw": "嗯//@B: 哦"}
    >>> chain_hops(rec, post_links(rec, "w:3"))
    ['B']
    >>> reply = {**rec, "relation": "reply"}
    >>> chain_hops(reply, post_links(reply, "w:3"))
    []
    """
    if links.repost and links.parent in (None, links.root):
        return record_chain(record)
    return []


def _node(record: dict[str, Any]) -> str | None:
    node = record.get("id")
    return None if node is None or node == "" else str(node)


def can_join(record: dict[str, Any]) -> bool:
    """Whether the build can put ``record`` under another post: it has an id and names a parent
    (or root) other than itself, or is a repost whose ``//@`` chain the build reads.

    Every post the build gives a parent passes; one that passes may still stay a root (a
    ``//@`` chain of only its own name, a cycle refused at its edge).

    Examples
    --------
    >>> can_join({"id": "w:2", "root_id": "w:1"}), can_join({"id": "w:1", "root_id": "w:1"})
    (True, False)
    >>> can_join({"id": "w:2", "kind": "repost", "text_raw": "转发//@A: 原文"})
    True
    >>> can_join({"id": "w:2", "relation": "reply"}), can_join({"root_id": "w:1"})
    (False, False)
    """
    node = _node(record)
    return node is not None and _joins(record, post_links(record, node))


def _joins(record: dict[str, Any], links: Links) -> bool:
    return links.parent is not None or bool(chain_hops(record, links))


def named_ids(record: dict[str, Any]) -> set[str]:
    """The ids of other posts ``record`` names, which the build can put it (or the placeholder
    of its uncrawled parent) under: its parent, its cascade's root, its thread's top comment.

    Examples
    --------
    >>> sorted(named_ids({"id": "c", "parent_id": "b", "root_id": "a",
    ...                   "extra": {"thread_root": "t"}}))
    ['a', 'b', 't']
    """
    node = _node(record) or ""
    return _named(post_links(record, node), node)


def _named(links: Links, node: str) -> set[str]:
    named = {links.root, *(v for v in (links.parent, links.thread_root) if v is not None)}
    named.discard(node)
    return named


def cascade_members(records: Iterable[dict[str, Any]]) -> set[str]:
    """The ids of the posts of ``records`` a cascade of more than one post can hold: those that
    :func:`can_join` one and the ids they name (:func:`named_ids`), each record's links read
    once.

    A chain hop is a post of the same cascade, which names its root and so can join it too;
    any other post is a cascade of its own whether it is built or not.

    Examples
    --------
    >>> recs = [{"id": "a"}, {"id": "b", "parent_id": "a"}, {"id": "c"}]
    >>> sorted(cascade_members(recs))
    ['a', 'b']
    """
    members: set[str] = set()
    for record in records:
        node = _node(record)
        if node is None:
            continue
        links = post_links(record, node)
        if _joins(record, links):
            members.add(node)
            members |= _named(links, node)
    return members
