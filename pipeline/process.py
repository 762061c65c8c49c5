"""The processing stage: landing records → cleaned, de-duplicated, scored, aspect-tagged records.

A plain function over records, composed of the pipeline's pure stages. A landing record that does
not fit the document model is set aside in ``rejected/`` with the reason, never dropped silently
and never allowed to stop the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
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
from pipeline.sentiment import SentimentModel


@dataclass
class ProcessReport:
    source_file: str
    output_file: str
    processed: int = 0
    rejected: int = 0
    rejected_file: str | None = None
    labels: dict[str, int] = field(default_factory=dict)


def validate(
    records: Iterable[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
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
    records: list[dict[str, Any]],
    *,
    model: SentimentModel,
    dedup_state_dir: Path | None = None,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """clean → near-duplicate clusters → sentiment → aspects, in input order."""
    cleaned = [clean_record(record) for record in records]
    clustered = assign_duplicate_clusters(cleaned, state_dir=dedup_state_dir)
    out = []
    for record in tqdm(clustered, desc="score", unit="doc", disable=not progress, leave=False):
        out.append(tag_aspects(model.score_record(record), model))
    return out


def process_file(
    landing: Path, output: Path, *, model: SentimentModel, progress: bool = False
) -> ProcessReport:
    """Process one landing file into ``output`` (atomically); rejects go to ``rejected/``."""
    valid, rejected = validate(jsonl.read(landing))
    report = ProcessReport(source_file=str(landing), output_file=str(output))
    if rejected:
        reject_file = paths.state_dir("rejected") / landing.parent.name / landing.name
        jsonl.write_atomic(reject_file, rejected)
        report.rejected, report.rejected_file = len(rejected), str(reject_file)
    processed = process_records(
        valid, model=model, dedup_state_dir=paths.state_dir("dedup"), progress=progress
    )
    report.processed = jsonl.write_atomic(output, processed)
    for record in processed:
        label = (record.get("sentiment") or {}).get("label", "unscored")
        report.labels[label] = report.labels.get(label, 0) + 1
    return report
