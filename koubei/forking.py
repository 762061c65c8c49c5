"""Forked child processes that start now and give their results when asked for.

Scoring, cleaning and loading the config are pure Python, so threads do not help; processes do.
Workers are forked (they start in milliseconds and inherit the imports, the model and the
work), ignore Ctrl-C (the command's own process stops them, without a traceback from each),
and run under ``concurrent.futures``: a worker that dies (the OOM killer, a stray ``kill``)
raises ``BrokenProcessPool`` in the command instead of leaving it waiting for ever, as a
``multiprocessing.Pool`` did (it started another worker and waited on).

Apart from the sentiment package (``pipeline/sentiment/parallel.py`` scores with these): importing
that imports the model's modules (0.1 s), and ``koubei sentiment score`` forks the child loading
brands.yaml before it does, so that the two overlap.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from koubei.stopping import exit_on_sigterm, when_gone

__all__ = ["fork_pool", "forked_calls", "quiet_worker"]

Part = TypeVar("Part")
Result = TypeVar("Result")

#: What ``forked_calls``' workers run, and on what: set before the fork and inherited, so
#: neither the function's shared arguments (a model) nor the parts (texts) are pickled.
_forked_call: tuple[Callable[..., Any], tuple[Any, ...], Sequence[Any]] | None = None


#: The signals held while a pool starts its workers (``forked_calls``).
_STOPPING = {signal.SIGINT, signal.SIGTERM}


def quiet_worker() -> None:
    # Ctrl-C reaches the whole process group: the command stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A SIGTERM ends a worker as it did before the fork (the command's own process unwinds)
    if signal.getsignal(signal.SIGTERM) is exit_on_sigterm:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)  # held by the fork (forked_calls)


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
        pool = fork_pool(len(parts), initializer=quiet_worker)
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


def _run_forked(index: int) -> Any:
    assert _forked_call is not None, "not a forked_calls worker"
    function, shared, parts = _forked_call
    return function(*shared, parts[index])
