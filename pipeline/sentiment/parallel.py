"""Scoring on several cores: worker processes each load the model once and score chunks.

Scoring is pure Python, so threads do not help; processes do. Results come back in input order.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any, TypeVar

from koubei.pipeline.sentiment.model import SentimentModel, load_model

CHUNK = 500
#: Fewer texts than this are scored or read in one process whatever the count of processes
#: asked for: starting the others and sending their results back would cost more than they
#: save (``koubei sentiment score``, ``adaptation``).
PARALLEL_MIN_TEXTS = 2_000

_worker_model: SentimentModel | None = None

Part = TypeVar("Part")
Result = TypeVar("Result")

#: What ``forked_calls``' workers run: set before the fork, inherited, never pickled.
_forked_call: tuple[Callable[..., Any], tuple[Any, ...]] | None = None


def _init_worker(path: str | None) -> None:
    global _worker_model
    _worker_model = load_model(Path(path) if path else None)


def _score_chunk(texts: list[str]) -> list[tuple[float, str]]:
    assert _worker_model is not None, "worker not initialised"
    return _worker_model.score_many(texts)


def score_parallel(
    texts: Sequence[str], processes: int = 2, model_path: Path | None = None, chunk: int = CHUNK
) -> list[tuple[float, str]]:
    """``SentimentModel.score`` for every text, spread over ``processes`` worker processes.

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
    # fork: workers start in milliseconds and inherit imports; the model loads once per worker.
    context = multiprocessing.get_context("fork")
    initargs = (str(model_path) if model_path else None,)
    with context.Pool(processes, initializer=_init_worker, initargs=initargs) as pool:
        results = pool.map(_score_chunk, chunks)
    return [pair for part in results for pair in part]


def _run_forked(part: Any) -> Any:
    assert _forked_call is not None, "not a forked_calls worker"
    function, shared = _forked_call
    return function(*shared, part)


@contextmanager
def forked_calls(
    function: Callable[..., Result], parts: Sequence[Part], *shared: Any
) -> Iterator[Callable[[], Iterator[Result]]]:
    """Start ``function(*shared, part)`` for every part, one forked process each, and yield a
    function giving their results in order, while this process does other work (its own part
    of the same job, say). ``shared`` (a model) is inherited by the fork, not pickled; each
    result is pickled back, so it should be compact (arrays and joined strings, not lists of
    small objects).

    A process that runs threads besides this one (a flow's task runner, a test runner) is not
    forked, since the child may inherit a lock another thread holds: the parts are then worked
    out here, one by one, as their results are asked for. Either way the results are the same.
    """
    global _forked_call
    if not parts or threading.active_count() > 1:
        yield lambda: (function(*shared, part) for part in parts)
        return
    _forked_call = (function, shared)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(len(parts)) as pool:
            pending = [pool.apply_async(_run_forked, (part,)) for part in parts]
            # each result let go of once given (an ApplyResult keeps its value)
            yield lambda: (pending.pop(0).get() for _ in range(len(pending)))
    finally:
        _forked_call = None


def stretches_for(texts: Sequence[str], processes: int) -> list[Sequence[str]]:
    """``texts`` cut in order into one stretch a process, of about as many characters each (a
    long text takes longer than a short one); one stretch, all of them, for fewer than
    ``PARALLEL_MIN_TEXTS`` texts or one process."""
    if processes <= 1 or len(texts) < PARALLEL_MIN_TEXTS:
        return [texts]
    total = sum(map(len, texts)) or 1
    cuts, running, target = [0], 0, 1
    for i, text in enumerate(texts):
        running += len(text)
        if running * processes >= total * target and target < processes:
            cuts.append(i + 1)
            target += 1
    cuts.append(len(texts))
    return [texts[low:high] for low, high in pairwise(cuts) if high > low]
