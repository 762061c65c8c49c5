"""Scoring and reading on several cores: forked worker processes.

Scoring is pure Python, so threads do not help; processes do. Results come back in input order.
Workers are forked (they start in milliseconds and inherit the imports, the model and the
work), ignore Ctrl-C (the command's own process stops them, without a traceback from each),
and run under ``concurrent.futures``: a worker that dies (the OOM killer, a stray ``kill``)
raises ``BrokenProcessPool`` in the command instead of leaving it waiting for ever, as a
``multiprocessing.Pool`` did (it started another worker and waited on).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from koubei.pipeline.sentiment.model import SentimentModel, load_model
from koubei.stopping import exit_on_sigterm, when_gone

CHUNK = 500
#: Fewer texts than this are scored or read in one process whatever the count of processes
#: asked for: starting the others and sending their results back costs about what they save
#: (2,000 texts: 0.77-0.92 s with two processes, 0.89-0.91 s with one; 4,000: 1.10-1.15 s
#: against 1.44-1.45 s; BENCHMARKS.md).
PARALLEL_MIN_TEXTS = 4_000
#: Texts a process reads at the least: more processes than that leaves work for is no faster.
STRETCH_MIN_TEXTS = PARALLEL_MIN_TEXTS // 2

_worker_model: SentimentModel | None = None

Part = TypeVar("Part")
Result = TypeVar("Result")

#: What ``forked_calls``' workers run, and on what: set before the fork and inherited, so
#: neither the function's shared arguments (a model) nor the parts (texts) are pickled.
_forked_call: tuple[Callable[..., Any], tuple[Any, ...], Sequence[Any]] | None = None


#: The signals held while a pool starts its workers (``forked_calls``).
_STOPPING = {signal.SIGINT, signal.SIGTERM}


def _quiet_worker() -> None:
    # Ctrl-C reaches the whole process group: the command stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A SIGTERM ends a worker as it did before the fork (the command's own process unwinds)
    if signal.getsignal(signal.SIGTERM) is exit_on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)  # held by the fork (forked_calls)


def _init_worker(path: str | None) -> None:
    global _worker_model
    _quiet_worker()
    _worker_model = load_model(Path(path) if path else None)


def _score_chunk(texts: list[str]) -> list[tuple[float, str]]:
    assert _worker_model is not None, "worker not initialised"
    return _worker_model.score_many(texts)


def fork_pool(
    processes: int, initializer: Callable[..., object] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of forked workers that end with this process: killed (SIGKILL, the OOM killer),
    it left them for good, blocked on a pipe nobody reads any more (a worker holds both ends of
    its queue, so no end of file comes), each holding its memory."""
    return ProcessPoolExecutor(
        processes,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start_worker(
    owner: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...]
) -> None:
    when_gone(owner, lambda: os._exit(1))
    if initializer is not None:
        initializer(*initargs)


def score_parallel(
    texts: Sequence[str], processes: int = 2, model_path: Path | None = None, chunk: int = CHUNK
) -> list[tuple[float, str]]:
    """``SentimentModel.score`` for every text, spread over ``processes`` worker processes that
    each load the model from ``model_path`` and score chunks of ``chunk`` texts: the
    two-process figure of ``python -m bench sentiment`` (BENCHMARKS.md). ``koubei sentiment
    score --no-adapt`` reads a big file with :func:`forked_calls` instead, as adapting does.

    Parameters
    ----------
    texts : sequence of str
        Texts to score.
    processes : int
        Worker processes; 1 scores in this process.
    model_path : Path, optional
        Model file; the shipped default model if omitted.
    chunk : int
        Texts per task (large enough that inter-process traffic stays small).

    Returns
    -------
    list of (score, label)
        In the order of ``texts``.
    """
    if processes <= 1 or len(texts) <= chunk:
        return load_model(model_path).score_many(texts)
    chunks = [list(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    # the model loads once per worker
    initargs = (str(model_path) if model_path else None,)
    with fork_pool(processes, initializer=_init_worker, initargs=initargs) as pool:
        results = list(pool.map(_score_chunk, chunks))
    return [pair for part in results for pair in part]


def _run_forked(index: int) -> Any:
    assert _forked_call is not None, "not a forked_calls worker"
    function, shared, parts = _forked_call
    return function(*shared, parts[index])


@contextmanager
def forked_calls(
    function: Callable[..., Result], parts: Sequence[Part], *shared: Any
) -> Iterator[Callable[[], Iterator[Result]]]:
    """Start ``function(*shared, part)`` for every part, one forked process each, and yield a
    function giving their results in order, while this process does other work (its own part
    of the same job, say). ``shared`` (a model) and the parts are inherited by the fork, not
    pickled; each result is pickled back, so it should be compact (arrays and joined strings,
    not lists of small objects).

    A process that runs threads besides this one (a flow's task runner, a test runner) is not
    forked, since the child may inherit a lock another thread holds: the parts are then worked
    out here, one by one, as their results are asked for. Either way the results are the same.
    """
    global _forked_call
    if not parts or threading.active_count() > 1:
        yield lambda: (function(*shared, part) for part in parts)
        return
    _forked_call = (function, shared, parts)
    # Ctrl-C or a SIGTERM (``koubei.stopping.sigterm_unwinds``) waits while the pool starts its
    # workers: raised half-way through, it left a worker that the interpreter's exit then waited
    # on for ever.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        pool = fork_pool(len(parts), initializer=_quiet_worker)
        with pool:
            try:
                pending = [pool.submit(_run_forked, index) for index in range(len(parts))]
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)
            # each result let go of once given (a future keeps its value)
            yield lambda: (pending.pop(0).result() for _ in range(len(pending)))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        _forked_call = None


def stretches_for(texts: Sequence[str], processes: int) -> list[Sequence[str]]:
    """``texts`` cut in order into one stretch a process, of about as many characters each (a
    long text takes longer than a short one), and of ``STRETCH_MIN_TEXTS`` texts at the least;
    one stretch, all of them, for fewer than ``PARALLEL_MIN_TEXTS`` texts or one process."""
    count = min(processes, len(texts) // STRETCH_MIN_TEXTS)
    if count <= 1 or len(texts) < PARALLEL_MIN_TEXTS:
        return [texts]
    total = sum(map(len, texts)) or 1
    cuts, running, target = [0], 0, 1
    for i, text in enumerate(texts):
        running += len(text)
        if running * count >= total * target and target < count:
            cuts.append(i + 1)
            target += 1
    cuts.append(len(texts))
    return [texts[low:high] for low, high in pairwise(cuts) if high > low]
