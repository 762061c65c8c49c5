"""Idempotent streaming bulk indexing of Document records, with spool and dead letters.

Built on :func:`elasticsearch.helpers.streaming_bulk`, which chunks and serializes the actions
and yields one result per document. Upsert without scripts (the local node has no painless):
every document is first sent as a ``create``. A new document is stored with ``first_seen =
last_seen = crawled_at`` (the indexing time if it has none); one that already exists answers
409 and is sent again as an ``update`` whose ``doc`` carries everything but ``first_seen`` (so
engagement counts, sentiment and ``last_seen`` move, ``first_seen`` stays) and whose ``upsert``
is the full document (in case it vanished in between). An edit (a page its site changed,
``extra.edited_at``) found stored is sent instead as an ``index`` of its whole source, keeping
the stored ``first_seen`` and ``cascade``, conditional on the copy read: a partial update merges
objects key by key, and ``extra`` keys the old version had stayed
(:mod:`koubei.pipeline.index.entries`). A fresh load costs what a plain bulk index costs. A
record from an older crawl than the stored copy (``last_seen``; an old file loaded again, an
old spool replayed after a newer crawl) is not sent: the newer counts and sentiment stay.

One retry layer, here: the client is used with ``max_retries=0`` and ``streaming_bulk`` with
its own retries off, so a retry is counted once and backs off once. Every answer falls in one
of three classes:

* **the document's fault** (HTTP 400 mapping/parsing errors, :data:`answers.DOCUMENT_FAULTS`; a
  document too big for the cluster's ``http.max_content_length`` or its indexing-pressure
  limit even alone, a record without id or date): dead-lettered with the reason; retrying
  would fail forever;
* **retryable** (429, 5xx, a write block, connection errors and timeouts): sent again with
  exponential backoff; once a document has used its ``max_retries`` the cluster counts as
  unavailable and everything not acknowledged — the chunks in flight and the unread input —
  is spooled for :func:`replay_spool`;
* **anything else that is not the document's fault** (401/403, any other 400 — a closed index,
  a month's alias without a write index, the shard limit —, an unknown error, a whole bulk
  request refused): spooled, never dead-lettered. Credentials rejected stop the run with one
  clear error after spooling.

A whole-request 413 halves the chunk byte limit and sends the chunk again.

**One document per ``_id`` across the months.** The month of ``created_at`` picks the index,
but a re-crawl can move ``created_at`` into another month (a date shown without its time first,
midnight in Shanghai being the previous month in UTC; a relative ``3天前`` resolved on each crawl).
Before a batch is sent, one ``ids`` search on the read alias finds which of its ids are already
stored, and those are updated where they are: the month a post was first stored in keeps it,
its fields (``created_at`` too) take the latest crawl's values. Ids sent earlier in the same run,
which a search may not see yet (``refresh_interval``), are remembered for the same purpose. The
lookup, and the rule that an older crawl is not sent, are :mod:`koubei.pipeline.index.stored`;
where each document goes and which are held, :mod:`koubei.pipeline.index.placement`.
A month the operator closed (archived) answers no search, nor one whose shard is unassigned (the
cluster red): a post not found elsewhere whose time lies within ``stored.MOVE_WINDOW`` of such a
month may be stored there, so it is spooled, as a write into that month is, until the month
answers again (the replay then updates it in place); the other posts are indexed. A new month
is created before its first write, waiting a few seconds for its primary shard: the posts of
one whose primary cannot be allocated (a disk over the high watermark) are spooled saying why,
and no refresh waits for a red month (:mod:`koubei.pipeline.index.allocation`). A month that
goes red mid-run is answered per item within ``allocation.BULK_TIMEOUT`` (a bulk ``timeout``):
its posts are held and spooled saying so, the other months' posts in the chunk are indexed.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch
from elasticsearch.helpers import streaming_bulk

from koubei.log import get_logger
from koubei.pipeline.index import spool as spool_mod
from koubei.pipeline.index.allocation import BULK_TIMEOUT
from koubei.pipeline.index.answers import (
    disk_block,
    disk_block_cause,
    documents_fault,
    error_reason,
    error_type,
    item_answer,
    over_pressure_limit,
    retryable,
    unavailable_shard,
)
from koubei.pipeline.index.client import ESConfigError, auth_error
from koubei.pipeline.index.documents import (
    IndexReport,
    prepare,
    strip_index_fields,
    unindexable,
)
from koubei.pipeline.index.entries import Entry, entry_of, expand
from koubei.pipeline.index.placement import Placement
from koubei.pipeline.index.spool import replay_spool
from koubei.pipeline.index.stored import LOOKUP_BATCH, LookupIncomplete
from koubei.pipeline.index.templates import ensure_ready

__all__ = [
    "ClusterUnavailableError",
    "IndexReport",
    "index_records",
    "prepare",
    "replay_spool",
    "strip_index_fields",
]

log = get_logger(__name__)

MIN_CHUNK_BYTES = 16 * 1024
# Why posts whose writes answered 503 unavailable_shards_exception are sent again.
STARTED = "the month was starting: its primary was waited for, and is active now"
NOT_ACTIVE = (
    f"its primary shard was not active within the bulk timeout ({BULK_TIMEOUT}) on any try "
    "(starting, or moving between nodes); `koubei index replay` sends them"
)


class ClusterUnavailableError(ESConfigError):
    """Retries ran out and spooling was switched off (``spool=False``)."""


# The key of the documents over the node's indexing-pressure limit in ``_Round.oversized`` (the
# others are keyed by ``id()`` of their request, never 0), and their dead letters' reason.
_PRESSURE = 0
PRESSURE_REASON = (
    "document too big for the node's indexing pressure limit even alone (429 "
    "es_rejected_execution_exception; indexing_pressure.memory.limit, 10 % of the heap)"
)


class _Refused(Exception):
    """A per-document 401/403: the credentials may not write this index."""

    def __init__(self, status: int, index: str, reason: str) -> None:
        super().__init__(f"HTTP {status} writing {index}: {reason}")


@dataclass
class _Round:
    """What one ``streaming_bulk`` pass left to do."""

    again: list[Entry] = field(default_factory=list)  # send in the next round
    throttled: bool = False  # some answers were 429/5xx/blocked: back off first
    failure: BaseException | None = None  # a transport error interrupted the pass
    # too big, per request (413), or for the node's indexing pressure (key _PRESSURE)
    oversized: dict[int, list[Entry]] = field(default_factory=dict)
    unanswering: list[Entry] = field(default_factory=list)  # their month's primary not active
    # why those of `unanswering` not held are sent again (their month was starting), by month
    resent: dict[str, str] = field(default_factory=dict)
    input_done: bool = False


class _Writer:
    def __init__(
        self,
        es: Elasticsearch,
        prefix: str,
        *,
        chunk_size: int,
        max_chunk_bytes: int,
        max_retries: int,
        initial_backoff: float,
        max_backoff: float,
        refresh: bool,
        in_flight: int = 2,
        source: str | None = None,
    ) -> None:
        # The writer is the one retry layer: the transport must not retry underneath it.
        self.es = es.options(max_retries=0)
        self.prefix = prefix
        self.chunk_size = chunk_size
        self.max_chunk_bytes = max_chunk_bytes
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.refresh = refresh
        self.in_flight = max(1, in_flight)
        self.report = IndexReport()
        self.dead = spool_mod.DeadLetters(prefix, source)
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.failure: BaseException | None = None
        self.unsent: list[Entry] = []  # to spool at the end, in no particular order
        self.input: Iterator[dict[str, Any]] = iter(())
        self.place = Placement(self.es, prefix, self.lock)  # where entries go, which are held
        self.bar: Any = None  # tqdm, advanced per acknowledged document

    # -- input ----------------------------------------------------------------------------------

    def next_entry(self) -> Entry | None:
        """The next indexable record of the shared input (lanes pull from it in turn)."""
        with self.lock:
            for record in self.input:
                self.report.sent += 1
                try:
                    return entry_of(record, self.prefix)
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    self.dead.add(record, reason=unindexable(record, exc), status=None)
            return None

    # -- one lane: streaming_bulk passes until the input is done ---------------------------------

    def lane(self) -> None:
        queue: list[Entry] = []
        while True:
            if self.stopped.is_set():
                self._give_up(queue, None)
                return
            outcome = self._pass(queue)
            queue = outcome.again
            for key, entries in outcome.oversized.items():
                if len(entries) == 1:  # alone and still too big: the document's fault
                    reason = "document larger than the cluster's http.max_content_length"
                    if key == _PRESSURE:
                        reason = PRESSURE_REASON
                    self._dead(entries[0], status=429 if key == _PRESSURE else 413, reason=reason)
                else:
                    with self.lock:
                        size = sum(len(e.body) for e in entries)
                        self.max_chunk_bytes = max(
                            MIN_CHUNK_BYTES, min(self.max_chunk_bytes, size // 2)
                        )
                    queue.extend(entries)
            if outcome.unanswering:
                queue.extend(self._unanswering(outcome))
            exhausted = [e for e in queue if e.tries > self.max_retries]
            if exhausted:
                said = next((e.cause for e in exhausted if e.cause), None)
                cause = outcome.failure or said or "cluster kept answering 429/5xx"
                self._give_up(queue, cause)
                return
            if not queue and outcome.input_done:
                return
            if outcome.failure is not None or outcome.throttled or outcome.resent:
                attempt = max(e.tries for e in queue)
                if outcome.failure is not None or outcome.throttled:
                    cause = str(outcome.failure or "429/5xx")
                    log.warning("bulk request failed, retrying", attempt=attempt,
                                documents=len(queue), error=cause)  # fmt: skip
                for index, why in sorted(outcome.resent.items()):
                    # Not the load's doing: logged as "429/5xx" before, which pointed at it.
                    log.warning("documents sent again: their month's primary shard was not "
                                "active within the bulk timeout", index=index, reason=why,
                                documents=sum(e.index == index for e in outcome.unanswering),
                                attempt=attempt)  # fmt: skip
                with self.lock:
                    self.report.retries += 1
                time.sleep(min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1)))

    def _fresh_batch(self, outcome: _Round) -> list[Entry]:
        """Up to one lookup batch of fresh entries (fewer when the input ends)."""
        batch: list[Entry] = []
        while len(batch) < min(self.chunk_size, LOOKUP_BATCH):
            fresh = self.next_entry()
            if fresh is None:
                outcome.input_done = True
                break
            batch.append(fresh)
        return batch

    def _unanswering(self, outcome: _Round) -> list[Entry]:
        """Spool the entries whose month's primary is still not active (gone red since their
        lookup), held saying why (:meth:`Placement.hold_red`); return the others, to retry.
        The cluster not answering why retries them all, as a failed lookup does."""
        why = STARTED
        try:
            self.place.hold_red(outcome.unanswering)
        except (TransportError, ApiError) as exc:
            log.debug("asking why a month's primary is not active failed", error=str(exc))
            why = f"asking the cluster why failed ({exc})"
        again = [entry for entry in outcome.unanswering if not entry.held]
        with self.lock:
            self.unsent.extend(entry for entry in outcome.unanswering if entry.held)
            for entry in again:
                entry.tries += 1
                # Said if its retries run out: not "kept answering 429/5xx".
                entry.cause = f"Elasticsearch did not write to {entry.index}: {NOT_ACTIVE}"
                outcome.resent[entry.index] = why
        return again

    def _drop_older(self, batch: list[Entry], sent: deque[Entry]) -> list[Entry]:
        """``batch`` without the entries whose stored copy is from a later crawl, nor those
        held for a closed month (kept for the spool).

        Re-loading an old file, or replaying an old spool after a newer crawl was indexed, used
        to put the old counts, sentiment and ``last_seen`` back over the newer ones. Such an
        entry is acknowledged as it stands (counted as updated: the post is stored, newer).
        """
        newer = [entry for entry in batch if not entry.older and not entry.held]
        if len(newer) == len(batch):
            return batch
        for _ in batch:  # the batch was appended last: no answer has been read for it yet
            sent.pop()
        sent.extend(newer)
        held = [entry for entry in batch if entry.held]
        older = len(batch) - len(newer) - len(held)
        with self.lock:
            self.unsent.extend(held)
            self.report.updated += older
            if self.bar is not None:
                self.bar.update(older)
        if older:
            log.info("stored copies from a later crawl kept", documents=older)
        if held:
            log.warning("documents that may be stored in a closed or unanswering month, or for "
                        "a month that cannot be allocated, spooled until it answers",
                        documents=len(held), closed=sorted(self.place.closed or ()),
                        unallocated=sorted(self.place.months.refused))  # fmt: skip
        return newer

    def _pass(self, first: list[Entry]) -> _Round:
        outcome = _Round()
        sent: deque[Entry] = deque()  # pulled into a chunk, no answer yet

        def actions() -> Iterator[dict[str, Any]]:
            batch = list(first)
            while True:
                if batch:
                    sent.extend(batch)
                    self.place.locate(batch)
                    self.place.allocate(batch)
                    batch = self._drop_older(batch, sent)
                    for entry in batch:
                        yield entry.action()
                # Stop pulling fresh input when enough needs a second round (conflicts,
                # retries) or the node said the requests are too big: the next pass sends
                # those first.
                if outcome.input_done or self.stopped.is_set():
                    return
                if len(outcome.again) >= self.chunk_size or outcome.oversized:
                    return
                batch = self._fresh_batch(outcome)

        try:
            for ok, item in streaming_bulk(
                self.es,
                actions(),
                chunk_size=self.chunk_size,
                max_chunk_bytes=self.max_chunk_bytes,
                expand_action_callback=expand,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=0,
                refresh=self.refresh,
                timeout=BULK_TIMEOUT,  # a red month's items answer 503 before the client gives up
                filter_path="items.*.status,items.*.result,items.*.error",
            ):
                self._answer(sent.popleft(), ok, item, outcome)
        except (TransportError, ApiError, LookupIncomplete) as exc:  # connection, TLS; lookup
            if isinstance(exc, ApiError) and exc.status_code in (401, 403):
                self._give_up(list(sent), exc)
                return outcome
            outcome.failure = exc
            for entry in sent:
                entry.tries += 1
            outcome.again.extend(sent)
        return outcome

    def _answer(self, entry: Entry, ok: bool, item: dict[str, Any], outcome: _Round) -> None:
        result = item_answer(item)
        if ok:
            with self.lock:
                if result.get("result") == "created":
                    self.report.created += 1
                else:
                    self.report.updated += 1
                if self.bar is not None:
                    self.bar.update(1)
            return
        status = int(result.get("status") or 500)
        error = result.get("error")
        whole_request = result.get("exception")  # the bulk request itself was refused
        if status == 409 and entry.op == "create":
            entry.op = "update"  # exists already: a re-crawl, update in the next round
            outcome.again.append(entry)
        elif status == 409 and entry.op == "index":
            # An edit sent whole over a stored copy written since it was read (the daily
            # spread run's cascade, another worker): read it again, then send it over that.
            entry.relocate()
            entry.tries += 1
            outcome.again.append(entry)
        elif status == 413 and whole_request is not None:
            outcome.oversized.setdefault(id(whole_request), []).append(entry)
        elif over_pressure_limit(status, error):
            # Over the node's indexing-pressure limit: refused however often it is sent (was
            # retried, then spooled, and spooled again by every replay). The bytes may be its
            # shard request's, so once it is sent again in a smaller request (as a 413's
            # request is split); refused again, or refused alone, it is dead-lettered.
            if entry.pressured:
                self._dead(entry, status=status, reason=PRESSURE_REASON, error=error)
            else:
                entry.pressured = True
                outcome.oversized.setdefault(_PRESSURE, []).append(entry)
        elif status in (401, 403) and error_type(error) != "cluster_block_exception":
            reason = error_reason(error)
            self._give_up([entry], whole_request or _Refused(status, entry.index, reason))
        elif unavailable_shard(status, error):
            outcome.unanswering.append(entry)  # red, or starting: asked after the pass
        elif retryable(status, error) or status == 409:
            # A full disk's block is retried as any write block, but if it outlasts the retries
            # the spool notice must say so: "kept answering 429/5xx" pointed at the load.
            entry.cause = disk_block_cause(entry.index) if disk_block(error) else None
            entry.tries += 1
            outcome.throttled = True
            outcome.again.append(entry)
        elif status == 400 and whole_request is None and documents_fault(error):
            self._dead(entry, status=status, reason=error_reason(error), error=error or None)
        else:
            # Not the document's fault and not worth waiting for (e.g. an index that cannot be
            # created): keep the document for a replay instead of dropping or dead-lettering it.
            log.warning("document refused, spooled", id=entry.record["id"], status=status,
                        error=str(error)[:300])  # fmt: skip
            with self.lock:
                self.unsent.append(entry)

    def _dead(self, entry: Entry, *, status: int | None, reason: str, error: Any = None) -> None:
        with self.lock:
            self.dead.add(entry.record, reason=reason, status=status, error=error)

    def _give_up(self, entries: list[Entry], cause: BaseException | str | None) -> None:
        with self.lock:
            self.unsent.extend(entries)
            if cause is not None and self.failure is None:
                self.failure = cause if isinstance(cause, BaseException) else RuntimeError(cause)
        self.stopped.set()

    # -- the run --------------------------------------------------------------------------------

    def run(self, records: Iterable[dict[str, Any]], *, spool: bool, progress: bool) -> IndexReport:
        started = time.perf_counter()
        self.input = iter(records)
        try:
            # The lookup search sees refreshed documents only: make a run that ended a moment
            # ago (``index load`` twice, a replay right after a load) visible to it. Not the
            # red months: a refresh naming one waited out the client's timeout, every run.
            self.place.months.start()
        except (TransportError, ApiError) as exc:
            # The bulk requests meet the same trouble and spool or fail clearly.
            log.debug("refresh before indexing failed", error=str(exc))
        if progress:
            from tqdm import tqdm

            self.bar = tqdm(unit="doc", desc=f"index {self.prefix}")
        # `in_flight` lanes, each a streaming_bulk over the shared input: the node indexes one
        # chunk while the next is prepared and serialized here. Memory: one chunk per lane.
        try:
            with ThreadPoolExecutor(self.in_flight, thread_name_prefix="bulk") as pool:
                lanes = [pool.submit(self.lane) for _ in range(self.in_flight)]
                crash: BaseException | None = None
                for lane in lanes:
                    try:
                        lane.result()
                    except BaseException as exc:  # a bug: keep the documents, then raise
                        self._give_up([], exc)
                        crash = crash or exc
            failure = self.failure
            self.report.unavailable = failure is not None
            if failure is not None or self.unsent:
                if failure is not None and not spool and crash is None:
                    raise ClusterUnavailableError(f"Elasticsearch unavailable: {failure}")
                self._spool(failure)
            if crash is not None:
                raise crash
            # Credentials refused mid-run: the documents are kept, then fail clearly, saying
            # (``SpooledAuthError.report``) that every document is accounted for.
            if isinstance(failure, _Refused):
                raise spool_mod.SpooledAuthError(
                    f"Elasticsearch refused the configured credentials: {failure}; "
                    f"{self.report.spooled} documents spooled for `koubei index replay`",
                    self.report,
                )
            if isinstance(failure, AuthenticationException | AuthorizationException):
                error = auth_error(self.es, failure)
                raise spool_mod.SpooledAuthError(
                    f"{error}; {self.report.spooled} documents spooled for `koubei index replay`",
                    self.report,
                ) from None
        finally:
            if self.bar is not None:
                self.bar.close()
            self.dead.close()
            self.report.failed = self.dead.count
            if self.dead.path is not None:
                self.report.dead_letters.append(self.dead.path)
            self.report.seconds = time.perf_counter() - started
        return self.report

    def _spool(self, cause: BaseException | str | None) -> None:
        def remaining() -> Iterator[dict[str, Any]]:
            for entry in self.unsent:
                yield entry.record
            for record in self.input:
                self.report.sent += 1
                yield record

        for entry in self.unsent:
            if entry.cause and entry.cause not in self.report.causes:
                self.report.causes.append(entry.cause)
        path, count = spool_mod.write_spool(self.prefix, remaining())
        self.unsent = []
        self.report.spooled += count
        if path is not None:
            self.report.spool_files.append(path)
        log.warning("documents spooled for `koubei index replay`", count=count,
                    path=str(path), error=str(cause))  # fmt: skip


def index_records(
    es: Elasticsearch,
    records: Iterable[dict[str, Any]],
    *,
    prefix: str,
    progress: bool = False,
    chunk_size: int = 1000,
    max_chunk_bytes: int = 8 * 1024 * 1024,
    max_retries: int = 5,
    initial_backoff: float = 0.5,
    max_backoff: float = 30.0,
    spool: bool = True,
    refresh: bool = False,
    ensure: bool = True,
    in_flight: int = 2,
    source: str | None = None,
) -> IndexReport:
    """Index Document records idempotently into ``<prefix>-posts-YYYY.MM``.

    Parameters
    ----------
    records
        ``koubei.model.Document`` JSON dicts; ``_id = record["id"]``, the month of
        ``created_at`` picks the index. Consumed lazily, so a file of any size streams.
    prefix
        Index prefix (``koubei.pipeline.index.client.index_prefix()``).
    progress
        Show a tqdm bar on stderr.
    chunk_size, max_chunk_bytes
        Bounds of one bulk request (a 413 lowers the byte bound for the rest of the run).
    max_retries, initial_backoff, max_backoff
        The one retry policy (429/5xx, timeouts, connection errors); once a document has
        used it up, everything not acknowledged is spooled.
    spool
        Spool on exhaustion (default); with ``False`` the error propagates instead.
    refresh
        Refresh after each bulk request (tests; slow).
    ensure
        Install the templates first (once per client and prefix in this process).
    in_flight
        Bulk requests sent concurrently (1 = strictly sequential).
    source
        The file the records come from, named on each of their dead letters.

    Returns
    -------
    IndexReport
        Counts; ``created + updated + failed + spooled == sent``.
    """
    writer = _Writer(
        es,
        prefix,
        chunk_size=chunk_size,
        max_chunk_bytes=max_chunk_bytes,
        max_retries=max_retries,
        initial_backoff=initial_backoff,
        max_backoff=max_backoff,
        refresh=refresh,
        in_flight=in_flight,
        source=source,
    )
    unreachable = ensure_ready(es, prefix) if ensure else None
    if unreachable is not None:
        if not spool:
            raise ClusterUnavailableError(
                f"Elasticsearch unavailable: {unreachable}"
            ) from unreachable
        writer.input = iter(records)
        writer._spool(unreachable)
        writer.report.unavailable = True
        return writer.report
    return writer.run(records, spool=spool, progress=progress)
