"""Idempotent streaming bulk indexing of Document records, with spool and dead letters.

Upsert without scripts (the local node has no painless): every document is first sent as a
``create``. A new document is stored with ``first_seen = last_seen = crawled_at``; one that
already exists answers 409 and is sent again as an ``update`` whose ``doc`` carries everything
but ``first_seen`` (so engagement counts, sentiment and ``last_seen`` move, ``first_seen``
stays) and whose ``upsert`` is the full document (in case it vanished in between). A fresh load
therefore costs what a plain bulk index costs; only re-crawled documents take a second round.

Failures never crash the batch:

* 429 and 5xx per item, and timeouts/connection errors per request, are retried with
  exponential backoff;
* per-document rejections (mapping conflict, oversized field) go to the dead-letter file;
* when retries run out (cluster down or overloaded) the unacknowledged documents and everything
  not yet read from the input are spooled to disk; :func:`replay_spool` sends them later.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout
from elasticsearch import ApiError, AuthenticationException, AuthorizationException, Elasticsearch

from koubei.log import get_logger
from koubei.pipeline.index import spool as spool_mod
from koubei.pipeline.index.client import ESConfigError, auth_error
from koubei.pipeline.index.documents import IndexReport, prepare, strip_index_fields
from koubei.pipeline.index.spool import replay_spool
from koubei.pipeline.index.templates import ensure_templates

__all__ = [
    "ClusterUnavailableError",
    "IndexReport",
    "index_records",
    "prepare",
    "replay_spool",
    "strip_index_fields",
]

log = get_logger(__name__)

RETRY_STATUS = frozenset({429, 502, 503, 504})
_ensured: set[tuple[int, str]] = set()


class ClusterUnavailableError(ESConfigError):
    """Retries ran out and spooling was switched off (``spool=False``)."""


class _Unreachable(Exception):
    """Retries ran out; carries the entries that were not acknowledged."""

    def __init__(self, pending: list[_Entry], cause: BaseException | str) -> None:
        super().__init__(str(cause))
        self.pending = pending


@dataclass
class _Entry:
    record: dict[str, Any]
    index: str
    source: dict[str, Any]
    body: bytes
    op: str = "create"


def _blocked(result: dict[str, Any]) -> bool:
    """A write block (a migration is copying this index): wait for it like for a 429."""
    error = result.get("error")
    return isinstance(error, dict) and error.get("type") == "cluster_block_exception"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode()


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
    ) -> None:
        self.es = es
        self.prefix = prefix
        self.chunk_size = chunk_size
        self.max_chunk_bytes = max_chunk_bytes
        self.max_retries = max_retries
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.refresh = refresh
        self.report = IndexReport()
        self.dead = spool_mod.DeadLetters(prefix)
        self.held: _Entry | None = None
        self.in_flight = in_flight
        self.lock = threading.Lock()

    # -- input -> chunks ------------------------------------------------------------------------

    def chunks(self, records: Iterator[dict[str, Any]]) -> Iterator[list[_Entry]]:
        chunk: list[_Entry] = []
        size = 0
        for record in records:
            self.report.sent += 1
            try:
                index, source = prepare(record, self.prefix)
                entry = _Entry(record, index, source, _dumps(source))
                if not record.get("id"):
                    raise KeyError("id")  # no id, no idempotent upsert
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                with self.lock:  # bulk threads write dead letters too
                    self.dead.add(record, reason=f"unindexable record: {exc!r}", status=None)
                continue
            if chunk and (
                len(chunk) >= self.chunk_size or size + len(entry.body) > self.max_chunk_bytes
            ):
                # The entry that overflowed is already read from the input: hold it where
                # _spool can find it, or an outage while its predecessor is sent would lose it.
                self.held = entry
                yield chunk
                self.held = None
                chunk, size = [], 0
            chunk.append(entry)
            size += len(entry.body) + 100
        if chunk:
            yield chunk

    # -- one chunk ------------------------------------------------------------------------------

    def _operations(self, entries: list[_Entry]) -> list[bytes]:
        lines: list[bytes] = []
        for entry in entries:
            meta = {"_index": entry.index, "_id": entry.record["id"]}
            if entry.op == "create":
                lines.append(_dumps({"create": meta}))
                lines.append(entry.body)
            else:
                meta["retry_on_conflict"] = 3
                doc = {k: v for k, v in entry.source.items() if k != "first_seen"}
                lines.append(_dumps({"update": meta}))
                lines.append(_dumps({"doc": doc, "upsert": entry.source}))
        return lines

    def _backoff(self, attempt: int) -> None:
        with self.lock:
            self.report.retries += 1
        time.sleep(min(self.max_backoff, self.initial_backoff * 2 ** (attempt - 1)))

    def _bulk(self, entries: list[_Entry]) -> list[dict[str, Any]]:
        """One bulk request, retried on timeouts, connection errors and whole-request 429/5xx."""
        operations = self._operations(entries)
        attempt = 0
        while True:
            try:
                response = self.es.bulk(
                    operations=operations,  # type: ignore[arg-type]  # pre-serialized lines
                    refresh=self.refresh,
                    filter_path="items.*.status,items.*.result,items.*.error",
                )
                return list(response["items"])
            except (AuthenticationException, AuthorizationException):
                raise
            except (TransportConnectionError, ConnectionTimeout) as exc:
                cause: BaseException = exc
            except ApiError as exc:
                if exc.meta.status not in RETRY_STATUS:
                    raise
                cause = exc
            attempt += 1
            if attempt > self.max_retries:
                raise _Unreachable(entries, cause)
            log.warning("bulk request failed, retrying", attempt=attempt, error=str(cause))
            self._backoff(attempt)

    def send(self, chunk: list[_Entry]) -> None:
        pending = chunk
        attempt = 0
        while pending:
            try:
                items = self._bulk(pending)
            except ApiError as exc:
                if exc.meta.status != 413:
                    raise
                self._split_oversized(pending)
                return
            next_round: list[_Entry] = []
            throttled = False
            created = updated = 0
            for entry, item in zip(pending, items, strict=True):
                result = next(iter(item.values()))
                status = int(result.get("status", 0))
                if status in (200, 201):
                    if result.get("result") == "created":
                        created += 1
                    else:
                        updated += 1
                elif status == 409 and entry.op == "create":
                    entry.op = "update"  # exists already: a re-crawl, update in the next round
                    next_round.append(entry)
                elif status in RETRY_STATUS or status == 409 or _blocked(result):
                    throttled = True
                    next_round.append(entry)
                else:
                    error = result.get("error") or {}
                    reason = error.get("reason") if isinstance(error, dict) else str(error)
                    with self.lock:
                        self.dead.add(
                            entry.record, reason=str(reason), status=status, error=error or None
                        )
            with self.lock:
                self.report.created += created
                self.report.updated += updated
            if throttled:
                attempt += 1
                if attempt > self.max_retries:
                    raise _Unreachable(next_round, "cluster kept rejecting with 429/5xx")
                self._backoff(attempt)
            pending = next_round

    def _split_oversized(self, pending: list[_Entry]) -> None:
        """HTTP 413: halve the request until the one document that is too big stands alone."""
        if len(pending) == 1:
            with self.lock:
                reason = "document larger than the cluster's http.max_content_length"
                self.dead.add(pending[0].record, status=413, reason=reason)
            return
        middle = len(pending) // 2
        self.send(pending[:middle])
        self.send(pending[middle:])

    # -- the run --------------------------------------------------------------------------------

    def run(self, records: Iterable[dict[str, Any]], *, spool: bool, progress: bool) -> IndexReport:
        started = time.perf_counter()
        iterator = iter(records)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(unit="doc", desc=f"index {self.prefix}")
        chunks = self.chunks(iterator)
        # Up to `in_flight` bulk requests run at once, so the cluster indexes one chunk while
        # the next is prepared and serialized here. Memory stays bounded by in_flight chunks.
        pool = ThreadPoolExecutor(max_workers=self.in_flight, thread_name_prefix="bulk")
        running: deque[tuple[list[_Entry], Future[None]]] = deque()
        unsent: list[_Entry] = []
        failure: BaseException | None = None

        def settle() -> None:
            nonlocal failure
            chunk, future = running.popleft()
            try:
                future.result()
            except _Unreachable as exc:
                unsent.extend(exc.pending)
                failure = failure or exc
            except (AuthenticationException, AuthorizationException) as exc:
                unsent.extend(chunk)
                failure = failure or exc
            else:
                if bar is not None:
                    bar.update(len(chunk))

        try:
            for chunk in chunks:
                running.append((chunk, pool.submit(self.send, chunk)))
                while running and (len(running) >= self.in_flight or running[0][1].done()):
                    settle()
                if failure is not None:
                    break
            while running:
                settle()
            if isinstance(failure, AuthenticationException | AuthorizationException):
                # Credentials revoked mid-run: keep the documents, then fail clearly.
                self._spool(_Unreachable(unsent, failure), iterator)
                error = auth_error(self.es, failure)
                raise type(error)(
                    f"{error}; {self.report.spooled} documents spooled for `koubei index replay`"
                ) from None
            if failure is not None:
                if not spool:
                    raise ClusterUnavailableError(f"Elasticsearch unavailable: {failure}")
                self._spool(_Unreachable(unsent, failure), iterator)
        finally:
            pool.shutdown(wait=True)
            if bar is not None:
                bar.close()
            self.dead.close()
        self.report.failed = self.dead.count
        self.report.dead_letter = self.dead.path
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _spool(self, exc: _Unreachable, rest: Iterator[dict[str, Any]]) -> None:
        def remaining() -> Iterator[dict[str, Any]]:
            for entry in exc.pending:
                yield entry.record
            if self.held is not None:
                yield self.held.record
                self.held = None
            for record in rest:
                self.report.sent += 1
                yield record

        path, count = spool_mod.write_spool(self.prefix, remaining())
        self.report.spooled += count
        if path is not None:
            self.report.spool_files.append(path)
        log.warning("Elasticsearch unavailable; documents spooled", count=count, path=str(path),
                    error=str(exc))  # fmt: skip


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
        Bounds of one bulk request.
    max_retries, initial_backoff, max_backoff
        Retry policy for 429/5xx and timeouts; once exhausted the rest is spooled.
    spool
        Spool on exhaustion (default); with ``False`` the error propagates instead.
    refresh
        Refresh after each bulk request (tests; slow).
    ensure
        Install the templates first (once per client and prefix in this process).
    in_flight
        Bulk requests sent concurrently (1 = strictly sequential).

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
    )
    key = (id(es), prefix)
    if ensure and key not in _ensured:
        try:
            ensure_templates(es, prefix)
            _ensured.add(key)
        except (AuthenticationException, AuthorizationException) as exc:
            raise auth_error(es, exc) from None
        except (TransportConnectionError, ConnectionTimeout) as exc:
            if not spool:
                raise ClusterUnavailableError(f"Elasticsearch unavailable: {exc}") from exc
            writer._spool(_Unreachable([], exc), iter(records))
            return writer.report
    return writer.run(records, spool=spool, progress=progress)
