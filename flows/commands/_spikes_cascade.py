"""``cascade_growth`` in ``koubei spikes backtest --brand``'s weekly replay, as the live cycle
fired it.

The live cycle (:func:`koubei.flows.detect.detect_brand`) reads the brand's posts of the
``POSTS_WINDOW`` before its end ``t`` (``fetch_posts``: the oldest 10,000), builds their
negative cascades (:func:`~koubei.flows.detect.negative_cascades`) and adds every cascade
detector's detections to the count detectors' pages as they are: the paging policy does not
see them. ``run_detection`` keeps those still active (:func:`~koubei.flows.detect.active_pages`)
and the incident store pages a detection whose onset is later than any it saw (its watermark,
``records.unseen``) and that is fresh (active within ``resolve_after`` bins: an old episode
seen late pages nobody). This module replays that at every cycle end from one read of the
span's posts, causally: at ``t`` only the posts before ``t``, of the window before it.

A cycle whose window holds no post that can join a cascade
(:func:`koubei.analysis.spread.links.can_join`: a parent or root other than itself, or a
repost's ``//@`` chain, read by the same rule ``build_cascades`` links posts by) has no repost
events: its cascade series is all zeros, and the detector fires on that only with options that
fire on nothing (checked once, on the empty series; if it does, every cycle is evaluated).
Each cycle builds only the posts of its window a cascade of two or more can hold
(:func:`~koubei.analysis.spread.links.cascade_members`: those that can join one and the posts
they name); the others are cascades of one post, which hold no repost event. Evaluating
only the cycles whose *last bin* holds a repost would not do: a window sliding on drops its
oldest reposts, which lowers the reference rate and the cumulative depth and reach the
conditions compare against, and so can fire at a bin of the window with no new repost.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# One read of the replayed span's posts (and the window before its first cycle), the cap the
# daily spread run reads a brand's posts under (analysis/spread/daily.py, MAX_POSTS)
SPAN_MAX_POSTS = 100_000
# What the live cycle reads per window: fetch_posts' default max_docs, oldest first
WINDOW_MAX_POSTS = 10_000


@dataclass
class CascadePages:
    """The cascade detections the live cycle would have paged, in time order (each with
    ``details.seen_at``, the cycle end that first saw it), the detectors replayed, and notes
    (``kind``, ``text``) as the backtest's others."""

    pages: list[Any] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)


def replay_brand(
    es: Any,
    prefix: str,
    brand: str,
    detectors: list[Any],
    cycle_ends: list[datetime],
    interval: int,
    *,
    max_posts: int = SPAN_MAX_POSTS,
) -> CascadePages:
    """Read the brand's posts from the window before the first of ``cycle_ends`` to the last
    once (at most ``max_posts``; more is said in a note and the replay stops at the last post
    read), and replay the cascade detectors of ``detectors`` at each cycle end."""
    from koubei.analysis.spread.cascade import parse_time
    from koubei.flows.detect import POSTS_WINDOW
    from koubei.pipeline.index.post_reads import fetch_posts

    cascading = [d for d in detectors if d.input_kind == "cascade"]
    if not cascading or not cycle_ends:
        return CascadePages()
    out = CascadePages(names=[d.name for d in cascading])
    start, end = cycle_ends[0] - POSTS_WINDOW, cycle_ends[-1]
    records = fetch_posts(es, prefix, brand=brand, start=start, end=end, max_docs=max_posts + 1)
    if len(records) > max_posts:
        records = records[:max_posts]
        last = parse_time(records[-1].get("created_at")) or start
        # oldest first: every post before the last one read is in, so the cycles ending by
        # then are replayed whole, the later ones not at all
        cycle_ends = [t for t in cycle_ends if t <= last]
        text = (
            f"{brand}'s posts from {start:%Y-%m-%d %H:%M} hold more than {max_posts:,}: "
            f"{', '.join(out.names)} replayed up to {last:%Y-%m-%d %H:%M} only (the "
            f"{max_posts:,} oldest); give a shorter --since or an earlier --end for the rest"
        )
        out.notes.append({"kind": "cascade_capped", "text": text})
    out.pages = replay(records, brand, cascading, cycle_ends, interval)
    return out


def replay(
    records: list[dict[str, Any]],
    brand: str,
    detectors: list[Any],
    cycle_ends: list[datetime],
    interval: int,
) -> list[Any]:
    """The detections of the cascade ``detectors`` the live cycle would have paged at
    ``cycle_ends``, from ``records`` (the brand's posts, any order)."""
    from koubei.analysis.alerts.incidents import DEFAULT_RESOLVE_AFTER
    from koubei.analysis.alerts.records import last_active
    from koubei.analysis.detectors.cascade import cascade_series
    from koubei.analysis.spread.cascade import parse_time
    from koubei.analysis.spread.links import can_join, cascade_members
    from koubei.flows.detect import POSTS_WINDOW, active_pages, negative_cascades

    # as fetch_posts returns a window: by created_at, then id
    timed = []
    for record in records:
        if (moment := parse_time(record.get("created_at"))) is not None:
            timed.append((moment.timestamp(), str(record.get("id") or ""), record))
    timed.sort(key=lambda x: (x[0], x[1]))
    times = [t for t, _, _ in timed]
    ordered = [r for _, _, r in timed]
    joins = [0]  # joins[i]: posts among the first i that can join a cascade
    for record in ordered:
        joins.append(joins[-1] + can_join(record))
    # the posts a cascade can hold; the others are cascades of one post, which hold no repost
    # event (built or not, the series is the same)
    members = cascade_members(ordered)
    held = [str(r.get("id")) in members for r in ordered]
    if not cycle_ends:
        return []
    first = cycle_ends[0]
    empty = cascade_series([], first - POSTS_WINDOW, first, interval, key=brand)
    quiet_fires = any(d.detect(empty) for d in detectors)
    grace = interval * DEFAULT_RESOLVE_AFTER
    seen = float("-inf")  # the incident store's watermark: the latest onset seen
    pages: list[Any] = []
    for end in cycle_ends:
        at = end.timestamp()
        lo = bisect_left(times, (end - POSTS_WINDOW).timestamp())
        hi = min(bisect_left(times, at), lo + WINDOW_MAX_POSTS)
        if lo == hi or (joins[hi] == joins[lo] and not quiet_fires):
            continue  # detect_brand reads no cascade of no posts; no repost: nothing fires
        window = [r for r, keep in zip(ordered[lo:hi], held[lo:hi], strict=True) if keep]
        growth = negative_cascades(window, brand, end, interval)
        found = [d for det in detectors for d in det.detect(growth)]
        new = [d for d in active_pages(found, end, interval) if d.timestamp.timestamp() > seen]
        if not new:
            continue
        seen = max(d.timestamp.timestamp() for d in new)
        for detection in sorted(new, key=lambda d: d.timestamp):
            if at - min(at, last_active(detection.to_dict(), interval)) < grace:
                detection.details["seen_at"] = end.isoformat()
                pages.append(detection)
    return pages
