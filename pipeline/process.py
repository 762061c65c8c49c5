"""The processing stage: landing records → cleaned, scored, aspect-tagged, de-duplicated records.

A plain function over records, composed of the pipeline's pure stages. A landing record that does
not fit the document model is set aside in ``rejected/`` with the reason, never dropped silently
and never allowed to stop the batch.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from koubei import jsonl, paths
from koubei.model import from_record, to_record
from pipeline.aspects import tag_aspects
from pipeline.clean import clean_record
from pipeline.dedup import assign_duplicate_clusters
from pipeline.sentiment import SentimentModel, load_model

Record = dict[str, Any]


@dataclass
class ProcessReport:
    source_file: str
    output_file: str
    processed: int = 0
    rejected: int = 0
    rejected_file: str | None = None
    labels: dict[str, int] = field(default_factory=dict)


def validate(records: Iterable[Record]) -> tuple[list[Record], list[Record]]:
    """Split records into valid ones (normalised by the model) and rejects with their reason."""
    valid, rejected = [], []
    for number, record in enumerate(records, start=1):
        try:
            valid.append(to_record(from_record(record)))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            rejected.append({"line": number, "reason": problems, "record": record})
    return valid, rejected


# Below this many records the worker start-up (~1-2 s each: imports and model load) costs more
# than a second core saves.
PARALLEL_MIN_RECORDS = 4000
CHUNK = 500

_worker_model: SentimentModel | None = None


def enrich(record: Record, model: SentimentModel) -> Record:
    """clean → sentiment → aspects for one record (pure; no cross-record state)."""
    return tag_aspects(model.score_record(clean_record(record)), model)


def _init_worker(model_path: str | None) -> None:
    global _worker_model
    _worker_model = load_model(Path(model_path) if model_path else None)


def _enrich_chunk(chunk: list[Record]) -> list[Record]:
    assert _worker_model is not None, "worker not initialised"
    return [enrich(record, _worker_model) for record in chunk]


def process_records(
    records: list[Record],
    *,
    model: SentimentModel,
    dedup_state_dir: Path | None = None,
    progress: bool = False,
    workers: int = 1,
    model_path: Path | None = None,
    parallel_min: int = PARALLEL_MIN_RECORDS,
) -> list[Record]:
    """clean → sentiment → aspects (on ``workers`` processes for big batches), then
    near-duplicate clusters (sequential: its LSH state spans batches), in input order.

    ``model_path`` is the file ``model`` came from, for the worker processes to load.
    """
    bar = tqdm(total=len(records), desc="process", unit="doc", disable=not progress, leave=False)
    enriched: list[Record] = []
    if workers > 1 and len(records) >= parallel_min:
        chunks = [records[i : i + CHUNK] for i in range(0, len(records), CHUNK)]
        # spawn, not fork: the flow runs tasks in threads, and forking a threaded process can
        # copy a held lock into the child.
        with ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(str(model_path) if model_path else None,),
        ) as pool:
            for part in pool.map(_enrich_chunk, chunks):
                enriched.extend(part)
                bar.update(len(part))
    else:
        for record in records:
            enriched.append(enrich(record, model))
            bar.update(1)
    bar.close()
    return assign_duplicate_clusters(enriched, state_dir=dedup_state_dir)


def process_file(
    landing: Path,
    output: Path,
    *,
    model: SentimentModel,
    progress: bool = False,
    workers: int = 1,
) -> ProcessReport:
    """Process one landing file into ``output`` (atomically); rejects go to ``rejected/``."""
    valid, rejected = validate(jsonl.read(landing))
    report = ProcessReport(source_file=str(landing), output_file=str(output))
    if rejected:
        reject_file = paths.state_dir("rejected") / landing.parent.name / landing.name
        jsonl.write_atomic(reject_file, rejected)
        report.rejected, report.rejected_file = len(rejected), str(reject_file)
    processed = process_records(
        valid,
        model=model,
        dedup_state_dir=paths.state_dir("dedup"),
        progress=progress,
        workers=workers,
    )
    report.processed = jsonl.write_atomic(output, processed)
    for record in processed:
        label = (record.get("sentiment") or {}).get("label", "unscored")
        report.labels[label] = report.labels.get(label, 0) + 1
    return report
