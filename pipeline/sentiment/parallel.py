"""Scoring and reading on several cores: texts cut into stretches, scored in forked worker
processes (``koubei.forking``) that inherit the model; results come back in input order."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

from koubei.forking import fork_pool, quiet_worker
from koubei.pipeline.sentiment.model import SentimentModel, load_model

CHUNK = 500
#: Fewer texts than this are scored or read in one process whatever the count of processes
#: asked for: starting the others and sending their results back costs about what they save
#: (2,000 texts: 0.77-0.92 s with two processes, 0.89-0.91 s with one; 4,000: 1.10-1.15 s
#: against 1.44-1.45 s; BENCHMARKS.md).
PARALLEL_MIN_TEXTS = 4_000
#: Texts a process reads at the least: more processes than that leaves work for is no faster.
STRETCH_MIN_TEXTS = PARALLEL_MIN_TEXTS // 2

_worker_model: SentimentModel | None = None


def _init_worker(path: str | None) -> None:
    global _worker_model
    quiet_worker()
    _worker_model = load_model(Path(path) if path else None)


def _score_chunk(texts: list[str]) -> list[tuple[float, str]]:
    assert _worker_model is not None, "worker not initialised"
    return _worker_model.score_many(texts)


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
