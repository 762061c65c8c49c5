"""Per-record enrichment (clean → sentiment → aspects → MinHash signature), on one core or several.

Every step here is a pure function of one record, so records can be enriched anywhere and in any
order; ``Enricher`` spreads a batch over this process and ``workers - 1`` helper processes and
hands the results back in input order. What spans records (near-duplicate clusters) stays with the
caller.

How the cores are shared (measured in BENCHMARKS.md, "Processing stage on two cores"):

- This process works too. The first helper in a process needs ~2 s to start (a fork server that
  imports this module and loads jieba's dictionary and the model), and the batch does not wait
  for it: this process enriches chunks from the start, and a helper is handed chunks only once
  it has reported ready. Later helpers fork from the loaded fork server in milliseconds.
- Helpers start on the first batch big enough to be worth it and are kept for later batches (one
  ``Enricher`` per run, not per landing file).
- Chunks are small and each ready helper holds at most two, so at the end of a batch this process
  waits for at most two small chunks.
- The MinHash signature is computed with the rest, leaving only the LSH lookup sequential.

``Enricher.iter_chunks`` runs any such per-chunk function the same way: ``koubei sentiment
rescore`` shares its re-scoring between the same helpers (``pipeline/rescore.py``).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, ProcessPoolExecutor, wait
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from koubei.errors import KoubeiError
from koubei.jsonl import JsonlError
from koubei.log import get_logger
from koubei.pipeline.aspects import AspectLexicon, tag_aspects
from koubei.pipeline.clean import clean_record
from koubei.pipeline.dedup import Signature, record_text, signature
from koubei.pipeline.sentiment import SentimentModel, load_model
from koubei.stopping import when_gone

log = get_logger(__name__)

Record = dict[str, Any]
Enriched = tuple[list[Record], list[Signature]]
Done = TypeVar("Done")
#: The work on one chunk, here or in a helper: a module-level function (helpers get it by name).
ChunkTask = Callable[[list[Record], SentimentModel, AspectLexicon], Done]

# Records per task: ~0.1 s of work, small enough that the end-of-batch wait is short and large
# enough that the per-task cost (pickling, queueing) is a few percent.
CHUNK = 100
# Helpers start only for a batch at least this big: the first start-up costs ~2 s of CPU.
PARALLEL_MIN_RECORDS = 2000
# Landing records are ~0.3-1 kB, so files this big hold about PARALLEL_MIN_RECORDS records.
PREWARM_MIN_BYTES = 1_000_000
TASKS_PER_HELPER = 2
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"

_helper_model: SentimentModel | None = None
_helper_lexicon: AspectLexicon | None = None


class BatchFailed(KoubeiError):
    """A batch of records failed to be enriched: a chunk here or in a helper process
    (:class:`Enricher`), or a batch on a Dask cluster after the task's retries. The landing file
    they came from is left pending and named in the run's errors, and the other files are
    processed: one file's failing batch (a worker that cannot load its source's model, a record
    that crashes it) failed the whole run, every file after it unprocessed, with nothing
    naming the file."""


def batch_failed(
    records: list[Record], start: int, batch: list[Record], where: str, error: Exception
) -> BatchFailed:
    """The :class:`BatchFailed` for ``batch``, the records of ``records`` from position
    ``start``, that failed ``where`` ("in this process", "on the Dask cluster"): named by their
    positions and ids, with the error, as every enricher reports it."""
    return BatchFailed(
        f"records {start + 1}-{start + len(batch)} of {len(records)} (ids "
        f"{batch[0].get('id')} to {batch[-1].get('id')}) failed {where}: "
        f"{type(error).__name__}: {error}"
    )


def file_left_as_it_was(path: Path, error: BatchFailed | JsonlError, what: str) -> str:
    """The error a run names ``path`` by when its records could not be read
    (:class:`~koubei.jsonl.JsonlError`, which names the file and line) or enriched
    (:class:`BatchFailed`, which names the records: the file is put first), logged as ``what``
    ("landing file not processed"). The one handling of ``koubei process`` and ``koubei
    sentiment rescore``: nothing is written for the file, and the run goes on with the others."""
    named = str(error) if isinstance(error, JsonlError) else f"{path}: {error}"
    log.error(what, file=str(path), error=named)
    return named


def enrich(record: Record, model: SentimentModel, lexicon: AspectLexicon) -> Record:
    """clean → sentiment → aspects for one record (pure; no cross-record state).

    ``lexicon``: the run's aspect lexicon, from the config directory in use
    (:func:`koubei.pipeline.aspects.aspects_file`)."""
    return score_cleaned(clean_record(record), model, lexicon)


def score_cleaned(record: Record, model: SentimentModel, lexicon: AspectLexicon) -> Record:
    """sentiment → aspects for a cleaned record (in place): all that depends on the model, so
    ``koubei sentiment rescore`` redoes exactly this part on processed records."""
    return tag_aspects(model.score_record(record), model, lexicon)


def enrich_chunk(records: list[Record], model: SentimentModel, lexicon: AspectLexicon) -> Enriched:
    """``enrich`` each record, with the MinHash signature of its cleaned text beside it."""
    enriched = [enrich(record, model, lexicon) for record in records]
    return enriched, [signature(record_text(record)) for record in enriched]


def _helper_context() -> multiprocessing.context.BaseContext:
    # forkserver, not fork: flows run tasks in threads, and forking a threaded process can copy a
    # held lock into the child. The fork server starts once per process with the tokenizer, the
    # model and the lazily built tables loaded, so a helper forked from it starts in ms.
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        context.set_forkserver_preload([__name__, "koubei.pipeline.enrich_preload"])
    return context


def prewarm(pending_bytes: int | None = None) -> None:
    """Start loading the fork server now, in the background, so that helpers are ready by the
    time the first big batch arrives; call it before reading the landing files.

    With ``pending_bytes`` (the size of the files about to be processed) only when that is enough
    for helpers to be used.
    """
    if pending_bytes is not None and pending_bytes < PREWARM_MIN_BYTES:
        return
    if START_METHOD == "forkserver":
        _helper_context()
        multiprocessing.forkserver.ensure_running()


def _init_helper(model_path: str | None, lexicon: AspectLexicon, owner: int) -> None:
    global _helper_model, _helper_lexicon
    # A helper waits on a task queue whose write end it holds itself: it would never learn that
    # its owner was killed, and would keep the fork server (whose "alive" pipe each helper holds
    # open) waiting with it, ~350 MB on two cores per killed run.
    when_gone(owner, lambda: os._exit(1))
    # Already imported in a fork server (the helper inherits it); imported here otherwise, so that
    # a helper reporting ready has its tables loaded.
    from koubei.pipeline import enrich_preload

    shipped = enrich_preload.SHIPPED_MODEL
    _helper_model = load_model(Path(model_path)) if model_path else shipped
    # The lexicon comes by value (pickled once per helper), so a helper tags with the run's own
    # lexicon whatever config directory, or none, its fork server saw.
    _helper_lexicon = lexicon
    lexicon.matcher()  # built now, so a helper reporting ready has it


def _helper_ready() -> str:
    assert _helper_model is not None, "helper not initialised"
    return _helper_model.version


def _helper_run(task: ChunkTask[Done], records: list[Record]) -> Done:
    assert _helper_model is not None and _helper_lexicon is not None, "helper not initialised"
    return task(records, _helper_model, _helper_lexicon)


class Enricher:
    """Enriches batches on this process plus ``workers - 1`` helper processes.

    Use as a context manager (or call ``close``) so the helpers are shut down. ``model_path`` is
    the file ``model`` came from, for the helpers to load (the shipped model if None);
    ``lexicon`` is the run's aspect lexicon, handed to the helpers as it is.
    """

    def __init__(
        self,
        model: SentimentModel,
        lexicon: AspectLexicon,
        *,
        workers: int = 1,
        model_path: Path | None = None,
        parallel_min: int = PARALLEL_MIN_RECORDS,
        chunk: int = CHUNK,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.model = model
        self.lexicon = lexicon
        self.workers = workers
        self.model_path = model_path
        self.parallel_min = parallel_min
        self.chunk = chunk
        self._pool: ProcessPoolExecutor | None = None
        self._starter: threading.Thread | None = None
        self._start_error: BaseException | None = None
        # Appended to by the starter thread, read by the enriching one (list ops are atomic).
        self._starting: list[Future[str]] = []
        self._ready = 0
        self._helpers_failed = False
        # Chunks enriched by this process and by the helpers (for logs, tests and benchmarks).
        self.chunks_here = 0
        self.chunks_by_helpers = 0

    def __enter__(self) -> Enricher:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self.chunks_by_helpers:
            log.info(
                "enrichment shared between processes",
                chunks_here=self.chunks_here,
                chunks_by_helpers=self.chunks_by_helpers,
            )
        if self._starter is not None:
            self._starter.join()
            self._starter = None
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._starting, self._ready = [], 0

    def start(self, wait_ready: bool = False) -> None:
        """Start the helpers now rather than on the first big batch (a service warming up).

        With ``wait_ready`` block until they have loaded the model.
        """
        if self.workers > 1:
            self._start_helpers()
            if wait_ready:
                if self._starter is not None:
                    self._starter.join()
                wait(list(self._starting))
                self._helpers_ready()

    def _start_helpers(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._helpers_failed:
            pool = ProcessPoolExecutor(
                self.workers - 1,
                mp_context=_helper_context(),
                initializer=_init_helper,
                initargs=(
                    str(self.model_path) if self.model_path else None,
                    self.lexicon,
                    os.getpid(),
                ),
            )
            self._pool = pool
            # Starting a helper blocks until the fork server has loaded (~2 s the first time in
            # a process); a thread waits for that while this process goes on enriching.
            self._starter = threading.Thread(
                target=self._submit_ready_checks, args=(pool,), name="enrich-start", daemon=True
            )
            self._starter.start()
        return self._pool

    def _submit_ready_checks(self, pool: ProcessPoolExecutor) -> None:
        try:
            for _ in range(self.workers - 1):
                self._starting.append(pool.submit(_helper_ready))
        except RuntimeError:  # shut down meanwhile (the batch ended, or a helper died)
            pass
        except BaseException as exc:
            self._start_error = exc

    def _helpers_ready(self) -> int:
        if self._start_error is not None:
            self._abandon_helpers(self._start_error)
            return 0
        for future in [f for f in self._starting if f.done()]:
            self._starting.remove(future)
            try:
                version = future.result()
            except BrokenExecutor as exc:
                self._abandon_helpers(exc)
                return 0
            if version != self.model.version:
                raise ValueError(
                    f"a helper process loaded sentiment model {version} from "
                    f"{self.model_path or 'the shipped default'}, but this process scores with "
                    f"{self.model.version}: pass the model's file as model_path"
                )
            self._ready += 1
        return self._ready

    def _abandon_helpers(self, cause: BaseException) -> None:
        """A helper died (killed, out of memory, failed to start): go on in this process."""
        if self._pool is not None:
            log.warning("enrichment helpers failed; continuing on one core", error=repr(cause))
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool, self._starting, self._ready = None, [], 0
        self._start_error = None
        self._helpers_failed = True

    def enrich(
        self, records: list[Record], on_progress: Callable[[int], Any] | None = None
    ) -> Enriched:
        """Enriched records and their signatures, in input order (see ``iter_enriched``)."""
        enriched: Enriched = ([], [])
        for part, signatures in self.iter_enriched(records, on_progress):
            enriched[0].extend(part)
            enriched[1].extend(signatures)
        return enriched

    def iter_enriched(
        self, records: list[Record], on_progress: Callable[[int], Any] | None = None
    ) -> Iterator[Enriched]:
        """Enriched chunks with their signatures, in input order, each as soon as it and all
        before it are done (so the caller's sequential work overlaps the helpers' work).

        ``on_progress(n)`` is called as each chunk of ``n`` records is done.
        """
        return self.iter_chunks(records, enrich_chunk, on_progress)

    def iter_chunks(
        self,
        records: list[Record],
        task: ChunkTask[Done],
        on_progress: Callable[[int], Any] | None = None,
    ) -> Iterator[Done]:
        """``task(chunk, model, lexicon)`` of each chunk of ``records``, in input order, shared
        with the helpers as ``iter_enriched`` shares enrichment (which is this with
        ``enrich_chunk``). ``task`` is a module-level function: helpers get it by name, with
        the chunk pickled, and its result comes back pickled (a copy, not the records given).

        A chunk whose ``task`` raises, here or in a helper, ends the batch with
        :class:`BatchFailed` naming its records, as a failed Dask batch does: the caller leaves
        the batch's file pending and goes on with the others (a helper that dies is not a
        failure: its chunks are done here)."""
        chunks = [records[i : i + self.chunk] for i in range(0, len(records), self.chunk)]
        results: dict[int, Done] = {}
        pending = deque(range(len(chunks)))
        in_flight: dict[Future[Done], int] = {}
        next_out = 0
        share = self.workers > 1 and (self._pool is not None or len(records) >= self.parallel_min)
        pool = self._start_helpers() if share else None

        def collect(futures: set[Future[Done]]) -> None:
            for future in futures:
                number = in_flight.pop(future)
                try:
                    results[number] = future.result()
                except BrokenExecutor as exc:
                    self._abandon_helpers(exc)
                    pending.appendleft(number)  # this process does it next
                    continue
                except Exception as exc:  # the task's own failure, raised in the helper
                    where = "in a helper process"
                    first = number * self.chunk
                    raise batch_failed(records, first, chunks[number], where, exc) from exc
                self.chunks_by_helpers += 1
                if on_progress:
                    on_progress(len(chunks[number]))

        try:
            while next_out < len(chunks):
                if pool is not None and self._pool is pool:
                    allowance = TASKS_PER_HELPER * self._helpers_ready()
                    while len(in_flight) < allowance and pending:
                        number = pending.popleft()
                        in_flight[pool.submit(_helper_run, task, chunks[number])] = number
                collect({f for f in in_flight if f.done()})
                if next_out in results:
                    yield results.pop(next_out)
                    next_out += 1
                elif pending:
                    number = pending.popleft()
                    try:
                        results[number] = task(chunks[number], self.model, self.lexicon)
                    except Exception as exc:
                        where = "in this process"
                        raise batch_failed(
                            records, number * self.chunk, chunks[number], where, exc
                        ) from exc
                    self.chunks_here += 1
                    if on_progress:
                        on_progress(len(chunks[number]))
                else:
                    finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    collect(finished)
        finally:
            for future in in_flight:
                future.cancel()
