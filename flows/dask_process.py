"""The process stage on a Dask cluster, through Prefect's Dask task runner (prefect-dask).

Cleaning, sentiment, aspects and MinHash signatures are per record, so batches of records go
out as Prefect tasks to the cluster's workers (each loads the sentiment model once); the flow
takes the results back in input order and assigns the near-duplicate clusters itself, as the
local runner does, so both give the same documents. The cluster is a ``LocalCluster`` of
``workers`` processes started for the run, or any running scheduler given by its address
(``tcp://host:8786``); its workers must see the same ``$KOUBEI_HOME`` only if they run the
other tasks of the flow too (this stage sends records, not paths).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterator
from typing import Any

from prefect import task

from koubei.errors import KoubeiError
from koubei.pipeline.enrich import Enriched, enrich_chunk
from koubei.pipeline.sentiment import SentimentModel, load_model

DEFAULT_BATCH = 2000
_model: SentimentModel | None = None


# tcp:// (Dask's default, also implied by a bare host:port) or tls://, a host or [IPv6], a port.
_ADDRESS = re.compile(r"^(?:(?:tcp|tls)://)?(\[[0-9a-fA-F:.]+\]|[^\s:/\[\]]+):(\d{1,5})$")


class DaskUnavailable(KoubeiError):
    """The scheduler address is malformed, or nothing accepts connections there."""


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
    return DaskTaskRunner(
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True}
    )


def worker_model() -> SentimentModel:
    """The worker's sentiment model, loaded on its first batch and kept for the next ones.

    A plain module function, so that Dask sends it by reference and its ``_model`` is the
    worker's own module global. Kept in the task, whose name in this module is the Prefect
    task and not the function, cloudpickle sent the function by value with a fresh copy of its
    globals each time: every batch loaded the model again.
    """
    global _model
    if _model is None:
        _model = load_model()
    return _model


@task(retries=1, retry_delay_seconds=1)
def enrich_batch(records: list[dict[str, Any]], model_version: str) -> Enriched:
    """Enrich one batch on a worker; the worker's model must be the flow's."""
    model = worker_model()
    if model.version != model_version:
        raise ValueError(f"worker scores with model {model.version}, the flow with {model_version}")
    return enrich_chunk(records, model)


class DaskEnricher:
    """The enricher interface of ``pipeline.enrich.Enricher``, with the batches as Prefect tasks
    on the flow's task runner (submitted all at once, collected in order)."""

    def __init__(self, model: SentimentModel, batch_size: int = DEFAULT_BATCH) -> None:
        self.model = model
        self.batch_size = batch_size

    def iter_enriched(
        self, records: list[dict[str, Any]], on_progress: Callable[[int], Any] | None = None
    ) -> Iterator[Enriched]:
        batches = [
            records[i : i + self.batch_size] for i in range(0, len(records), self.batch_size)
        ]
        futures = [enrich_batch.submit(batch, self.model.version) for batch in batches]
        for batch, future in zip(batches, futures, strict=True):
            enriched = future.result()
            if on_progress:
                on_progress(len(batch))
            yield enriched


def process_on_dask(
    address: str | None = None,
    workers: int = 2,
    batch_size: int = DEFAULT_BATCH,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Process every pending landing file with the per-record work on Dask; the reports.

    Runs as a subflow whose task runner is the Dask cluster, so the calling flow keeps its own.
    ``progress`` shows the same bar as the local runner, advanced as each batch comes back.
    """
    from prefect import flow

    if address:
        check_scheduler(address)

    @flow(name="koubei-process-dask", task_runner=dask_task_runner(address, workers))
    def process_dask() -> list[dict[str, Any]]:
        from dataclasses import asdict

        from koubei.flows.monitor import log_progress
        from koubei.pipeline import ledger
        from koubei.pipeline.process import process_pending_files

        enricher = DaskEnricher(load_model(), batch_size)
        pending = ledger.pending_landing()
        reports = process_pending_files(pending, enricher=enricher, progress=progress)
        return [asdict(r) for r in log_progress(reports, len(pending))]

    return process_dask()
