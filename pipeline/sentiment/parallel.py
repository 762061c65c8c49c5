"""Scoring on several cores: worker processes each load the model once and score chunks.

Scoring is pure Python, so threads do not help; processes do. Results come back in input order.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from pathlib import Path

from koubei.pipeline.sentiment.model import SentimentModel, load_model

CHUNK = 500

_worker_model: SentimentModel | None = None


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
