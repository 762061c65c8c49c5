"""The processing stage: landing records → cleaned, scored, aspect-tagged, de-duplicated records.

A plain function over records, composed of the pipeline's pure stages. A landing record that does
not fit the document model is set aside in ``rejected/`` with the reason, never dropped silently
and never allowed to stop the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from tqdm import tqdm

from koubei import jsonl, paths
from koubei.model import from_record, to_record
from koubei.pipeline import ledger
from koubei.pipeline.dedup import DedupIndex
from koubei.pipeline.enrich import Enricher, default_workers, prewarm
from koubei.pipeline.sentiment import SentimentModel, load_model

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


def process_records(
    records: list[Record],
    *,
    model: SentimentModel,
    dedup_state_dir: Path | None = None,
    progress: bool = False,
    enricher: Enricher | None = None,
) -> list[Record]:
    """clean → sentiment → aspects, then near-duplicate clusters, in input order.

    ``enricher`` spreads the per-record work over several processes (see
    ``koubei.pipeline.enrich``);
    without one it all runs here. The clusters are assigned here, in order: their LSH state spans
    batches.
    """
    enricher = enricher or Enricher(model)
    if enricher.model.version != model.version:
        raise ValueError(
            f"enricher scores with model {enricher.model.version}, not {model.version}"
        )
    index = DedupIndex.load(dedup_state_dir)
    processed: list[Record] = []
    bar = tqdm(total=len(records), desc="process", unit="doc", disable=not progress, leave=False)
    with bar:
        for part, signatures in enricher.iter_enriched(records, bar.update):
            index.assign_records(part, signatures)
            processed.extend(part)
    if dedup_state_dir is not None:
        index.save(dedup_state_dir)
    return processed


def process_file(
    landing: Path,
    output: Path,
    *,
    model: SentimentModel,
    progress: bool = False,
    enricher: Enricher | None = None,
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
        enricher=enricher,
    )
    report.processed = jsonl.write_atomic(output, processed)
    for record in processed:
        label = (record.get("sentiment") or {}).get("label", "unscored")
        report.labels[label] = report.labels.get(label, 0) + 1
    return report


def process_pending_files(
    landing_files: list[Path],
    *,
    workers: int | None = None,
    progress: bool = False,
    enricher: Any = None,
) -> Iterator[ProcessReport]:
    """Process each landing file into its ``ledger.processed_path``, reporting as each is done.

    One enricher serves all the files, so helper processes start at most once; ``workers`` is the
    number of processes sharing big files (default: one per core). ``enricher`` replaces the
    local one with any object offering ``model`` and ``iter_enriched`` (records enriched
    elsewhere, e.g. in batches on a Dask cluster: ``koubei.flows.dask_process``); the
    near-duplicate clusters are still assigned here, in order, so the documents are the same.
    """
    if not landing_files:
        return
    if enricher is not None:
        for path in landing_files:
            yield process_file(
                path, ledger.processed_path(path), model=enricher.model, progress=progress,
                enricher=enricher,
            )  # fmt: skip
        return
    workers = workers or default_workers()
    if workers > 1:
        prewarm(sum(path.stat().st_size for path in landing_files))  # overlaps reading the files
    model = load_model()
    with Enricher(model, workers=workers) as enricher:
        for path in landing_files:
            yield process_file(
                path, ledger.processed_path(path), model=model, progress=progress, enricher=enricher
            )
