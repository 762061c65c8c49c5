"""Per-source incremental state: a watermark, a bounded set of seen ids and of last counts.

Kept in ``$KOUBEI_HOME/crawl-state/<source>.json`` and written atomically at the end of a crawl
(only then: a crawl that dies half-way re-fetches, it never skips; nor after a crawl that lost a
page, which would otherwise skip that page's items for good). A spider stops paging a
newest-first listing once a whole page is at or below the watermark or already seen. The counts
are what a counter of an item was at the last complete crawl (a Weibo comment's reply count): an
item seen before is read again when its count grew since (its new replies), not when it did not.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Any

from koubei import paths
from koubei.atomicfile import atomic_write

MAX_SEEN = 200_000  # bounded so the file stays small; oldest ids are forgotten first


class CrawlState:
    """Watermarks (per target key, e.g. a keyword or product id) and seen ids of one source."""

    def __init__(self, source: str, path: Path | None = None) -> None:
        self.source = source
        self.path = path or paths.state_dir("crawl-state") / f"{source}.json"
        self.watermarks: dict[str, str] = {}
        self._seen: OrderedDict[str, None] = OrderedDict()
        # Only what earlier runs saw decides "known": within a run, keyword searches overlap and
        # one keyword's page must not stop another keyword's paging (the pipeline de-duplicates).
        self._seen_before: frozenset[str] = frozenset()
        self._new_marks: dict[str, datetime] = {}
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._new_counts: dict[str, int] = {}
        #: Why the saved state could not be read (it was moved aside), or "".
        self.unreadable = ""
        data = self._load()
        self.watermarks = data["watermarks"]
        self._seen = OrderedDict.fromkeys(data["seen"])
        self._seen_before = frozenset(self._seen)
        self._counts = OrderedDict(data["counts"])

    def _load(self) -> dict[str, Any]:
        """The saved state, checked; a file that cannot be read as one is moved aside.

        A state file cut short (a full disk, a copy interrupted), edited by hand or written by
        something else used to stop every crawl of the source at its first line, for good.
        It is kept beside as ``<source>.json.unreadable-<pid>`` for a look, and the crawl
        starts without state: it re-reads its targets up to ``max_pages`` (the landed records
        keep their ids, so later stages update them in place).
        """
        try:
            return _parse_state(self.path.read_bytes())
        except FileNotFoundError:
            return {"watermarks": {}, "seen": [], "counts": {}}
        except (OSError, ValueError) as exc:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{os.getpid()}")
            try:
                os.replace(self.path, aside)
            except OSError:
                aside = self.path
            self.unreadable = f"{self.path}: {exc}; kept as {aside.name}, crawling without state"
            return {"watermarks": {}, "seen": [], "counts": {}}

    def watermark(self, key: str) -> datetime | None:
        """The newest ``created_at`` stored for ``key`` by a previous run."""
        value = self.watermarks.get(key)
        return datetime.fromisoformat(value) if value else None

    def seen(self, doc_id: str) -> bool:
        """Landed by an earlier run, or read by one (:meth:`mark_read`)."""
        return doc_id in self._seen_before

    def is_known(self, key: str, doc_id: str, created_at: datetime) -> bool:
        """Seen before, or not newer than the previous run's watermark for ``key``."""
        mark = self.watermark(key)
        return self.seen(doc_id) or (mark is not None and created_at <= mark)

    def record(self, key: str, doc_id: str, created_at: datetime) -> None:
        """Note an item of this run; the watermark moves at :meth:`save`."""
        self.mark_read(doc_id)
        current = self._new_marks.get(key)
        if current is None or created_at > current:
            self._new_marks[key] = created_at

    def mark_read(self, doc_id: str) -> None:
        """Note an item this run read but did not land (a page dated nowhere, off the brands or
        without text): :meth:`seen` by the next runs, the watermark unmoved. For entries a
        feed gives no date, which nothing else tells apart from new ones."""
        self._seen[doc_id] = None
        self._seen.move_to_end(doc_id)

    def last_count(self, key: str) -> int | None:
        """The count noted for ``key`` (e.g. ``replies:<doc id>``) by a previous complete run,
        or None when none was (a new item, or a state written before counts were kept)."""
        return self._counts.get(key)

    def note_count(self, key: str, count: int) -> None:
        """Note a count read by this run; saved with the rest at :meth:`save`."""
        self._new_counts[key] = count

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Workers sharing one run (KOUBEI_SCHEDULER=redis) each save this file: merge with what
        # is on disk under a lock, so one worker never drops another's watermarks, ids and counts.
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._merge_saved()
            for key, mark in self._new_marks.items():
                old = self.watermark(key)
                if old is None or mark > old:
                    self.watermarks[key] = mark.isoformat()
            while len(self._seen) > MAX_SEEN:
                self._seen.popitem(last=False)
            for key, count in self._new_counts.items():  # this run's reading is the newest
                self._counts[key] = count
                self._counts.move_to_end(key)
            while len(self._counts) > MAX_SEEN:
                self._counts.popitem(last=False)
            data = {
                "source": self.source,
                "watermarks": self.watermarks,
                "seen": list(self._seen),
                "counts": dict(self._counts),
            }
            with atomic_write(self.path) as handle:
                json.dump(data, handle, ensure_ascii=False)

    def _merge_saved(self) -> None:
        """Take in what others saved since this state was loaded (newer marks, more ids, their
        counts; this run's counts go over them in :meth:`save`)."""
        try:
            data = _parse_state(self.path.read_bytes())
        except (OSError, ValueError):  # gone, or damaged since it was loaded: ours replaces it
            return
        for key, value in data["watermarks"].items():
            mine = self.watermark(key)
            if mine is None or datetime.fromisoformat(value) > mine:
                self.watermarks[key] = value
        merged = OrderedDict.fromkeys(data["seen"])
        for doc_id in self._seen:  # ours after theirs: ours are the newest
            merged[doc_id] = None
            merged.move_to_end(doc_id)
        self._seen = merged
        self._counts.update(data["counts"])  # saved after this state was loaded: newer


def _parse_state(raw: bytes) -> dict[str, Any]:
    """``{"watermarks": {key: ISO time}, "seen": [id, ...], "counts": {key: int}}`` from a state
    file's bytes (``counts`` may be missing: files written before counts were kept).

    Raises
    ------
    ValueError
        Not UTF-8 JSON of that shape, or a watermark that is not an ISO time.
    """
    data = json.loads(raw.decode("utf-8"))
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
    return {"watermarks": dict(marks), "seen": seen, "counts": counts}
