"""Per-source incremental state: a watermark and a bounded set of seen ids.

Kept in ``$KOUBEI_HOME/crawl-state/<source>.json`` and written atomically at the end of a crawl
(only then: a crawl that dies half-way re-fetches, it never skips; nor after a crawl that lost a
page, which would otherwise skip that page's items for good). A spider stops paging a
newest-first listing once a whole page is at or below the watermark or already seen.
"""

from __future__ import annotations

import fcntl
import json
from collections import OrderedDict
from datetime import datetime
from pathlib import Path

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
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.watermarks = dict(data.get("watermarks", {}))
            self._seen = OrderedDict.fromkeys(data.get("seen", []))
            self._seen_before = frozenset(self._seen)

    def watermark(self, key: str) -> datetime | None:
        """The newest ``created_at`` stored for ``key`` by a previous run."""
        value = self.watermarks.get(key)
        return datetime.fromisoformat(value) if value else None

    def seen(self, doc_id: str) -> bool:
        """Landed by an earlier run."""
        return doc_id in self._seen_before

    def is_known(self, key: str, doc_id: str, created_at: datetime) -> bool:
        """Seen before, or not newer than the previous run's watermark for ``key``."""
        mark = self.watermark(key)
        return self.seen(doc_id) or (mark is not None and created_at <= mark)

    def record(self, key: str, doc_id: str, created_at: datetime) -> None:
        """Note an item of this run; the watermark moves at :meth:`save`."""
        self._seen[doc_id] = None
        self._seen.move_to_end(doc_id)
        current = self._new_marks.get(key)
        if current is None or created_at > current:
            self._new_marks[key] = created_at

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Workers sharing one run (KOUBEI_SCHEDULER=redis) each save this file: merge with what
        # is on disk under a lock, so one worker never drops another's watermarks and ids.
        with open(self.path.with_name(self.path.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._merge_saved()
            for key, mark in self._new_marks.items():
                old = self.watermark(key)
                if old is None or mark > old:
                    self.watermarks[key] = mark.isoformat()
            while len(self._seen) > MAX_SEEN:
                self._seen.popitem(last=False)
            data = {"source": self.source, "watermarks": self.watermarks, "seen": list(self._seen)}
            with atomic_write(self.path) as handle:
                json.dump(data, handle, ensure_ascii=False)

    def _merge_saved(self) -> None:
        """Take in what others saved since this state was loaded (newer marks, more ids)."""
        if not self.path.exists():
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        for key, value in data.get("watermarks", {}).items():
            mine = self.watermark(key)
            if mine is None or datetime.fromisoformat(value) > mine:
                self.watermarks[key] = value
        merged = OrderedDict.fromkeys(data.get("seen", []))
        for doc_id in self._seen:  # ours after theirs: ours are the newest
            merged[doc_id] = None
            merged.move_to_end(doc_id)
        self._seen = merged
