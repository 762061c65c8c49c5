"""Where each document of a writer run goes, and which are held for a month that answers not.

The month of ``created_at`` picks a new document's index, but a document already stored is
updated in the month that holds it (:mod:`koubei.pipeline.index.stored` looks it up), and one
sent earlier in the run, which a search may not see yet, goes where it went. A post that may be
stored in a month no search sees (closed by the operator, or red: its primary unassigned) is
held for the spool, as a write into that month would be; so is one for a new month whose
primary cannot be allocated, and one whose month went red after its lookup (its write answered
503 ``unavailable_shards_exception``). Each says why. :class:`Placement` keeps what one run
learned (:class:`~koubei.pipeline.index.allocation.RunAllocations` its months' primaries); its
lanes share it under the writer's lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from elasticsearch import Elasticsearch

from koubei.log import get_logger
from koubei.pipeline.index.allocation import RunAllocations
from koubei.pipeline.index.entries import KEPT_ON_EDIT, Entry, edited
from koubei.pipeline.index.stored import (
    closed_months,
    from_older_crawl,
    near_closed,
    stored_copies,
)

__all__ = ["RECENT_PLACEMENTS", "Placement"]

log = get_logger(__name__)

# Ids of this run remembered with their index, for a second copy a search cannot see yet.
RECENT_PLACEMENTS = 100_000


class Placement:
    """The months of one writer run: where its entries go, which are held and why."""

    def __init__(self, es: Elasticsearch, prefix: str, lock: threading.Lock) -> None:
        self.es = es
        self.prefix = prefix
        self.lock = lock  # the writer's: entries and these sets are shared by its lanes
        self.placed: OrderedDict[str, str] = OrderedDict()  # _id -> index, recent sends
        self.closed: set[tuple[int, int]] | None = None  # (year, month) of closed months
        self.months = RunAllocations(es, prefix)  # which exist, which are red and why
        self.held_ids: set[str] = set()  # ids of this run spooled for a closed month

    def locate(self, entries: list[Entry]) -> None:
        """Point every entry whose ``_id`` is already stored (or sent this run) at that index.

        One ``ids`` search on the read alias per batch (:func:`stored_copies`). A search error
        propagates: the entries are in ``sent`` by then, so the pass retries them like a failed
        bulk request.
        """
        todo = [entry for entry in entries if not entry.located]
        if not todo:
            return
        ids = list(dict.fromkeys(entry.doc_id for entry in todo))
        stored, seen, unanswered = stored_copies(self.es, self.prefix, ids)
        if unanswered and self.months.settle(unanswered):  # some were only starting: ask again
            stored, seen, unanswered = stored_copies(self.es, self.prefix, ids)
        closed = self.closed_months() | unanswered
        self.months.explain(unanswered)  # why they are red, for the cause
        with self.lock:
            for entry in todo:
                homes = stored.get(entry.doc_id, set())
                created = entry.source.get("created_at")
                if not homes and (entry.doc_id in self.held_ids or near_closed(created, closed)):
                    entry.held = True  # maybe stored where no search looks: not created here
                    near = {month for month in unanswered if near_closed(created, {month})}
                    if near:  # not the operator's own doing
                        entry.cause = self.months.red_cause(near)
                    self.held_ids.add(entry.doc_id)
                    entry.located = True
                    continue
                if homes:
                    entry.op = "update"
                    latest = seen.get(entry.doc_id)
                    entry.older = from_older_crawl(entry.source.get("last_seen"), latest)
                    if entry.index not in homes:
                        entry.index = min(homes)
                elif entry.doc_id in self.placed:  # sent this run, maybe not searchable yet
                    entry.index = self.placed[entry.doc_id]
                self.placed[entry.doc_id] = entry.index
                self.placed.move_to_end(entry.doc_id)
                if len(self.placed) > RECENT_PLACEMENTS:
                    self.placed.popitem(last=False)
                entry.located = True
        self.replace_edits(todo)

    def replace_edits(self, entries: list[Entry]) -> None:
        """Have each edit (:func:`edited`) found stored sent whole over its stored copy
        (:meth:`Entry.replace`), read by one realtime ``mget`` (a search may not see a write
        of the last second); one not found (gone since) stays an update, whose upsert stores
        it. An error propagates like the lookup's."""
        edits = [e for e in entries if e.op == "update" and not (e.older or e.held)]
        edits = [e for e in edits if edited(e.record)]
        if not edits:
            return
        docs = [{"_index": e.index, "_id": e.doc_id, "_source": list(KEPT_ON_EDIT)} for e in edits]
        answer = self.es.mget(docs=docs)
        with self.lock:
            for entry, doc in zip(edits, answer["docs"], strict=True):
                if doc.get("found"):
                    entry.replace(doc.get("_source") or {}, doc["_seq_no"], doc["_primary_term"])

    def closed_months(self) -> set[tuple[int, int]]:
        """The closed months behind the read alias (:func:`closed_months`), asked once a run;
        an error propagates like the lookup's: the pass retries, then spools."""
        if self.closed is None:
            self.closed = closed_months(self.es, self.prefix, self.months.states)
        return self.closed

    def allocate(self, entries: list[Entry]) -> None:
        """Create the months ``entries`` open, once a run each, and hold the entries of a new
        month whose primary shard cannot be allocated (spooled, saying why).

        A bulk request into such a month (red from its creation: a disk over the high
        watermark) waited for its primary past the client's 30 s timeout, each try, and the
        run spooled everything saying "Connection timed out". An error creating propagates
        like the lookup's: the pass retries, then spools.
        """
        refused = self.months.create({e.index for e in entries if e.op == "create" and not e.held})
        if not refused:
            return
        with self.lock:
            for entry in entries:
                cause = refused.get(entry.index)
                if cause is not None and entry.op == "create" and not entry.held:
                    entry.held, entry.cause = True, cause
                    self.held_ids.add(entry.doc_id)

    def hold_red(self, entries: list[Entry]) -> None:
        """Hold those of ``entries`` whose month's primary is still not active, saying why: the
        node answered their writes 503 ``unavailable_shards_exception`` (the month gone red
        since their lookup; :meth:`RunAllocations.unanswering` waits for one still starting).
        Their ids are held for the rest of the run, as at the lookup."""
        red = self.months.unanswering({entry.index for entry in entries})
        if not red:
            return
        with self.lock:
            for entry in entries:
                if entry.index in red:
                    entry.held, entry.cause = True, red[entry.index]
                    self.held_ids.add(entry.doc_id)
        log.warning("documents for a month whose primary shard is not active spooled until it "
                    "answers", documents=sum(e.held for e in entries),
                    indices=sorted(red))  # fmt: skip
