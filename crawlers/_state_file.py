"""The crawl state file's shape (:mod:`koubei.crawlers.state`): reading its JSON and checking
each part, so a file cut short, edited by hand or written by something else is refused as a
whole (:meth:`CrawlState._load` moves it aside) instead of failing a crawl half-way.

The leading ``_`` marks it as the state's own: everything else reads the state through
:class:`koubei.crawlers.state.CrawlState`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

__all__ = ["empty", "parse_state"]


def empty() -> dict[str, Any]:
    return {
        "watermarks": {},
        "seen": [],
        "counts": {},
        "missing": {},
        "validators": {},
        "feeds": {},
    }


def parse_state(raw: bytes) -> dict[str, Any]:
    """``{"watermarks": {key: ISO time}, "seen": [id, ...], "counts": {key: int}, "missing":
    {id: [ISO time, runs] or [ISO time, runs, "robots"]}, "validators": {id: [ETag,
    Last-Modified, fingerprint, created_at, time_precision, brands digest, [brand, ...] or
    null]}, "feeds": {feed URL: [ETag,
    Last-Modified, brands digest, [read mark, ...], [sitemap URL, ...]]}}`` from a state
    file's bytes (``counts``, ``missing``, ``validators`` and ``feeds`` may be missing: files
    written before they were kept; a validators entry of three, written before the time landed
    was kept, or of five, before the brands were).

    Raises
    ------
    ValueError
        Not UTF-8 JSON of that shape, or a watermark that is not an ISO time.
    """
    try:
        data = json.loads(raw.decode("utf-8"))
    except RecursionError:  # nested deeper than Python reads: it escaped the move aside
        raise ValueError("JSON nested too deep") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    marks, seen = data.get("watermarks", {}), data.get("seen", [])
    if not isinstance(marks, dict) or not all(isinstance(v, str) for v in marks.values()):
        raise ValueError("'watermarks' is not an object of ISO times")
    for value in marks.values():
        if datetime.fromisoformat(value).tzinfo is None:  # a bad value names itself
            raise ValueError(f"watermark {value!r} has no UTC offset")
    if not isinstance(seen, list) or not all(isinstance(v, str) for v in seen):
        raise ValueError("'seen' is not a list of ids")
    counts = data.get("counts", {})
    if not isinstance(counts, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()
    ):
        raise ValueError("'counts' is not an object of counts (whole numbers, 0 or more)")
    missing = data.get("missing", {})
    if not isinstance(missing, dict) or not all(_missing_entry(v) for v in missing.values()):
        raise ValueError("'missing' is not an object of [ISO time, runs(, \"robots\")] lists")
    validators = data.get("validators", {})
    if not isinstance(validators, dict) or not all(
        _validators_entry(v) for v in validators.values()
    ):
        raise ValueError("'validators' is not an object of [ETag, Last-Modified, text, ...] lists")
    feeds = data.get("feeds", {})
    if not isinstance(feeds, dict) or not all(_feed_entry(v) for v in feeds.values()):
        raise ValueError("'feeds' is not an object of [ETag, Last-Modified, ...] lists")
    return {
        "watermarks": dict(marks),
        "seen": seen,
        "counts": counts,
        "missing": missing,
        "validators": validators,
        "feeds": feeds,
    }


def _feed_entry(value: Any) -> bool:
    """Whether ``value`` is a saved feeds entry: three strings and two lists of strings."""
    if not (isinstance(value, list) and len(value) == 5):
        return False
    lists = value[3:]
    return all(isinstance(part, list) for part in lists) and all(
        isinstance(part, str) for part in value[:3] + lists[0] + lists[1]
    )


def _missing_entry(value: Any) -> bool:
    """Whether ``value`` is a ``[first 404 as an ISO time with an offset, runs]`` pair, or that
    and ``"robots"`` (a page robots.txt refused, ``CrawlState.note_refused``)."""
    if not (isinstance(value, list) and len(value) in (2, 3) and isinstance(value[0], str)):
        return False
    if len(value) == 3 and value[2] != "robots":
        return False
    runs = value[1]
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        return False
    try:
        first = datetime.fromisoformat(value[0])
    except ValueError:
        return False
    # its next ask is a day after it at most: year 9999 raised OverflowError in every crawl
    return first.tzinfo is not None and first.year < 9999


def _validators_entry(value: Any) -> bool:
    """Whether ``value`` is a saved validators entry (:func:`_validators`)."""
    if not isinstance(value, list) or len(value) not in (3, 5, 7):
        return False
    brands = value[6] if len(value) == 7 else None
    return all(isinstance(part, str) for part in value[:6]) and (
        brands is None or (isinstance(brands, list) and all(isinstance(b, str) for b in brands))
    )
