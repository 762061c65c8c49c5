"""The process stage on a Dask cluster, through Prefect's Dask task runner (prefect-dask).

Cleaning, sentiment, aspects and MinHash signatures are per record, so batches of records go
out as Prefect tasks to the cluster's workers (each loads the sentiment model once; the run's
aspect lexicon, a few kB, goes with each batch, so no worker reads a config directory); the flow
takes the results back in input order and assigns the near-duplicate clusters itself, as the
local runner does, so both give the same documents. The cluster is a ``LocalCluster`` of
``workers`` processes started for the run, or any running scheduler given by its address
(``tcp://host:8786``); its workers must see the same ``$KOUBEI_HOME`` only if they run the
other tasks of the flow too (this stage sends records, not paths). A worker must score as the
flow does: with the same model version and under the same scoring rules (the flow's
``rules_version`` goes with each batch; a worker on another koubei release fails it).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from prefect import task

from koubei.errors import KoubeiError
from koubei.pipeline.aspects import AspectLexicon
from koubei.pipeline.enrich import Enriched, batch_failed, enrich_chunk
from koubei.pipeline.sentiment import SentimentModel, load_model, rules

DEFAULT_BATCH = 2000
# A cluster left without any worker this long (the only worker killed, none started): the run
# stops, its landing files pending, instead of waiting for one for ever under the pipeline lock
# (every later process tick then skipped, so no alert went out). A nanny brings a killed worker
# of a LocalCluster back in seconds; a cluster whose workers take longer to come (an autoscaling
# one starting them on demand) sets the variable (see no_workers_window).
NO_WORKERS_ENV = "KOUBEI_DASK_NO_WORKERS_S"
NO_WORKERS_S = 120.0
POLL_S = 2.0
# The models a worker loaded, by file (None: the shipped one); see worker_model.
_models: dict[str | None, SentimentModel] = {}


# tcp:// (Dask's default, also implied by a bare host:port) or tls://, a host or [IPv6], a port.
_ADDRESS = re.compile(r"^(?:(?:tcp|tls)://)?(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):(\d{1,5})$")


class DaskUnavailable(KoubeiError):
    """The scheduler address is malformed, nothing accepts connections there, the cluster has
    had no worker too long, or ``KOUBEI_DASK_NO_WORKERS_S`` is no number of seconds."""


def no_workers_window(environ: Mapping[str, str] = os.environ) -> float:
    """How long a Dask cluster may be without any worker before the run stops, in seconds:
    ``$KOUBEI_DASK_NO_WORKERS_S``, else :data:`NO_WORKERS_S` (2 minutes).

    Read as ``KOUBEI_REDIS_IDLE_S`` is, and checked before any work (``koubei run --dask``'s
    preflight, the process flow's cycle): a value that is no number above 0 (``0`` stopped a
    run before its workers could take a batch, ``nan`` or ``inf`` waited for ever) is refused.

    Raises
    ------
    DaskUnavailable
        Naming the variable and its value.
    """
    value = environ.get(NO_WORKERS_ENV, str(NO_WORKERS_S))
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise DaskUnavailable(
            f"{NO_WORKERS_ENV}={value!r}: expected seconds a Dask cluster may be without any "
            "worker before the run stops (a number above 0, like 600; default 120)"
        )
    return seconds


def check_scheduler(address: str, timeout: float = 5.0) -> None:
    """Before the run processes anything: ``address`` is a Dask scheduler's and it is listening.

    Without this a malformed address (``foo``) failed deep in the task runner's start with a
    traceback, and an address where nothing listens after a 30 s connect timeout, both after
    the crawl.

    Raises
    ------
    DaskUnavailable
        Naming the address and what to do.
    """
    match = _ADDRESS.match(address.strip())
    if not match or not 0 < int(match.group(2)) < 65536:
        raise DaskUnavailable(
            f"Dask scheduler address {address!r} is not like tcp://host:8786 "
            "(or 'local' for a LocalCluster started for the run)"
        )
    host, port = match.group(1).strip("[]"), int(match.group(2))
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise DaskUnavailable(
            f"Dask scheduler {address}: nothing answers there ({exc.strerror or exc}); start "
            "`dask scheduler` and its workers, or use 'local' for a LocalCluster"
        ) from None


def dask_task_runner(address: str | None = None, workers: int = 2) -> Any:
    """A Dask task runner: on the scheduler at ``address``, else a LocalCluster of ``workers``
    single-threaded processes (the per-record work holds the GIL, so processes, not threads)."""
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    # The run's own cluster listens on loopback only, its dashboard on a free port: Dask's
    # default (":8787", every interface) exposed it beyond the machine, and a second run at once
    # (a manual `koubei run --dask` during a scheduled one) found 8787 taken and warned.
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "host": "127.0.0.1",
            "dashboard_address": "127.0.0.1:0",
        }
    )


def worker_model(path: str | None = None, version: str | None = None) -> SentimentModel:
    """The worker's sentiment model from ``path`` (the shipped one if None), loaded on its
    first batch and kept for the next ones; loaded again when the flow scores with another
    ``version`` than the one kept.

    A plain module function, so that Dask sends it by reference and its ``_models`` is the
    worker's own module global. Kept in the task, whose name in this module is the Prefect
    task and not the function, cloudpickle sent the function by value with a fresh copy of its
    globals each time: every batch loaded the model again.

    The version check is for a long-lived cluster (``--dask tcp://...``): a source's model
    refreshed in place (``koubei sentiment adapt --source NAME --out`` the same file, as
    sources.yaml says to) left every worker with the old one kept, and every later run failed
    each batch of that source as "worker scores with model <old>" until the workers restarted.
    """
    kept = _models.get(path)
    if kept is None or (version is not None and kept.version != version):
        _models[path] = load_model(Path(path) if path else None)
    return _models[path]


@task(retries=1, retry_delay_seconds=1)
def enrich_batch(
    records: list[dict[str, Any]],
    model_version: str,
    lexicon: AspectLexicon,
    model_path: str | None = None,
    rules_version: str | None = None,
) -> Enriched:
    """Enrich one batch on a worker; the worker's model must be the flow's (a worker that
    cannot see the flow's model file, or sees another version of it, fails the batch), and so
    must its scoring rules (``rules_version``, the flow's :func:`rules.rules_version`; None
    skips the check). The aspects are tagged with ``lexicon``, the flow's own, sent with the
    batch.

    The rules are the worker's koubei's (its lexicons, glosses, no-opinion rules): a remote
    worker (``--dask tcp://...``) left on another release scored with them, and its posts
    recorded its ``rules_version``, beside the flow's posts under the flow's; nothing refused
    it, and the negative share moved with the worker a batch landed on."""
    model = worker_model(model_path, model_version)
    if model.version != model_version:
        raise ValueError(
            f"worker scores with model {model.version} from {model_path or 'the shipped default'}"
            f", the flow with {model_version}"
        )
    own_rules = rules.rules_version()  # the module's: this worker's koubei, not the flow's
    if rules_version is not None and own_rules != rules_version:
        raise ValueError(
            f"worker scores under rules {own_rules}, the flow under {rules_version}: the "
            "worker runs another koubei (other lexicons, glosses or no-opinion rules); "
            "install the flow's release on it"
        )
    return enrich_chunk(records, model, lexicon)


class DaskEnricher:
    """The enricher interface of ``pipeline.enrich.Enricher``, with the batches as Prefect tasks
    on the flow's task runner (submitted all at once, collected in order). ``model_path`` is
    the file ``model`` came from, for the workers to load (the shipped model if None);
    ``lexicon`` goes to the workers with each batch."""

    def __init__(
        self,
        model: SentimentModel,
        lexicon: AspectLexicon,
        batch_size: int = DEFAULT_BATCH,
        model_path: Path | None = None,
        no_workers_s: float = NO_WORKERS_S,
    ) -> None:
        self.model = model
        self.lexicon = lexicon
        self.batch_size = batch_size
        self.model_path = str(model_path) if model_path else None
        self.no_workers_s = no_workers_s
        # The flow's scoring rules, which each worker's must be (enrich_batch).
        self.rules_version = rules.rules_version()

    def __enter__(self) -> DaskEnricher:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def iter_enriched(
        self, records: list[dict[str, Any]], on_progress: Callable[[int], Any] | None = None
    ) -> Iterator[Enriched]:
        batches = [
            records[i : i + self.batch_size] for i in range(0, len(records), self.batch_size)
        ]
        futures = [
            enrich_batch.submit(
                batch, self.model.version, self.lexicon, self.model_path, self.rules_version
            )
            for batch in batches
        ]
        start = 0
        for batch, future in zip(batches, futures, strict=True):
            self._wait_with_workers(future)
            try:
                enriched = future.result()
            except Exception as exc:
                raise batch_failed(records, start, batch, "on the Dask cluster", exc) from exc
            start += len(batch)
            if on_progress:
                on_progress(len(batch))
            yield enriched

    def _wait_with_workers(self, future: Any) -> None:
        """Until ``future`` is done; :class:`DaskUnavailable` once the cluster has had no
        worker for ``no_workers_s`` seconds (Dask would wait for one for ever)."""
        from prefect.context import FlowRunContext

        wrapped = future.wrapped_future
        context = FlowRunContext.get()
        assert context is not None, "Dask batches are submitted inside the Dask flow"
        runner: Any = context.task_runner
        client = runner.client  # the DaskTaskRunner's: a future alone finds no default client
        alone_since = None
        while True:
            with contextlib.suppress(Exception):  # its own failure is the caller's to read
                wrapped.result(timeout=POLL_S)
            if wrapped.done():
                return
            if len(client.nthreads()) > 0:
                alone_since = None
                continue
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since >= self.no_workers_s:
                raise DaskUnavailable(
                    f"Dask scheduler {client.scheduler.address}: no worker for "
                    f"{self.no_workers_s:g}s, so nothing could run; the landing files not "
                    "processed stay pending: start `dask worker` for it, or use 'local'"
                )


def process_on_dask(
    address: str | None = None,
    workers: int = 2,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
    models: Mapping[str, Path] | None = None,
    *,
    lexicon: AspectLexicon,
    no_workers_s: float | None = None,
) -> list[dict[str, Any]]:
    """Process every pending landing file with the per-record work on Dask; the reports.

    Runs as a subflow whose task runner is the Dask cluster, so the calling flow keeps its own.
    ``progress`` shows the same bar as the local runner, advanced as each batch comes back.
    ``models``: each source's own sentiment model file, as ``process_pending_files`` takes it
    (the workers load it by its path, so a remote cluster must see the same file there).
    ``lexicon``: the run's aspect lexicon, sent to the workers with the records.
    ``no_workers_s``: how long the cluster may be without any worker before the run stops
    (default :func:`no_workers_window`, ``$KOUBEI_DASK_NO_WORKERS_S`` or 2 minutes).
    """
    from prefect import flow

    window = no_workers_window() if no_workers_s is None else no_workers_s
    if address:
        check_scheduler(address)

    @flow(name="koubei-process-dask", task_runner=dask_task_runner(address, workers))
    def process_dask() -> list[dict[str, Any]]:
        from dataclasses import asdict

        from koubei.flows.monitor import log_progress
        from koubei.pipeline import ledger
        from koubei.pipeline.process import process_pending_files

        pending = ledger.pending_landing()
        reports = process_pending_files(
            pending,
            lexicon=lexicon,
            progress=progress,
            models=models,
            make_enricher=lambda model, file, aspects: DaskEnricher(
                model, aspects, batch_size, file, window
            ),
        )
        return [asdict(r) for r in log_progress(reports, len(pending))]

    return process_dask()
